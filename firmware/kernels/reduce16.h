/* MEAN on int16 (mirrors mcuq/reference/ops/reduce16.py). The generator splits the input's
 * dims into kept dims (walked for each output element) and reduced dims (summed), each with
 * its element strides in the input. */
#ifndef MCUQ_REDUCE16_H
#define MCUQ_REDUCE16_H

#include <stdint.h>

#define MCUQ_REDUCE16_MAX_DIMS 5

typedef struct {
  int32_t multiplier, shift; /* s_in / s_out with 1 / count folded in */
  int32_t kept_rank, reduced_rank;
  int32_t kept[MCUQ_REDUCE16_MAX_DIMS], kept_stride[MCUQ_REDUCE16_MAX_DIMS];
  int32_t reduced[MCUQ_REDUCE16_MAX_DIMS], reduced_stride[MCUQ_REDUCE16_MAX_DIMS];
} mcuq_mean16_params_t;

void mcuq_mean_s16(const mcuq_mean16_params_t *p, const int16_t *input, int16_t *output);

#endif
