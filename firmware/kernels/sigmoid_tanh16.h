/* TANH and LOGISTIC on int16 (mirrors mcuq/reference/ops/sigmoid_tanh16.py): TFLite Micro's
 * interpolated 256-entry sigmoid table, passed in by the generator minus 32768 (int16). */
#ifndef MCUQ_SIGMOID_TANH16_H
#define MCUQ_SIGMOID_TANH16_H

#include <stdint.h>

typedef struct {
  int32_t multiplier, left_shift; /* v = (x * multiplier + round) >> left_shift */
  int32_t size;
  const int16_t *table; /* 256 entries: sigmoid(k / 24) in 0.16 minus 32768 */
} mcuq_sigmoid_tanh16_params_t;

void mcuq_tanh_s16(const mcuq_sigmoid_tanh16_params_t *p, const int16_t *input,
                   int16_t *output);
void mcuq_logistic_s16(const mcuq_sigmoid_tanh16_params_t *p, const int16_t *input,
                       int16_t *output);

#endif
