#include "fully_connected.h"

#include "mcuq_fixedpoint.h"

void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output) {
  const int32_t depth = p->accum_depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * depth;
    for (int32_t o = 0; o < p->out_depth; ++o) {
      const int8_t *w = weights + o * depth;
      int32_t acc = bias[o];
      for (int32_t d = 0; d < depth; ++d) acc += (int32_t)row[d] * (int32_t)w[d];
      const int32_t v = mcuq_mbqm(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
      output[b * p->out_depth + o] = (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
    }
  }
}
