/* SOFTMAX int16 -> int16 (mirrors mcuq/reference/ops/softmax16.py): TFLite Micro's LUT path.
 * The two 513-entry LUTs (exp on [-10, 0], 1/(1+x) on [0, 1]) come from the generator. */
#ifndef MCUQ_SOFTMAX16_H
#define MCUQ_SOFTMAX16_H

#include <stdint.h>

typedef struct {
  int32_t input_multiplier, input_shift;
  int32_t rows, depth;
  const int16_t *exp_lut;   /* 513 entries */
  const int16_t *recip_lut; /* 513 entries */
} mcuq_softmax16_params_t;

/* output doubles as the row's scratch for the exp values (as in TFLite Micro). */
void mcuq_softmax_s16(const mcuq_softmax16_params_t *p, const int16_t *input, int16_t *output);

#endif
