#include "reduce.h"

#include "mcuq_fixedpoint.h"

void mcuq_mean_s8(const mcuq_mean_params_t *p, const int8_t *restrict input,
                  int8_t *restrict output) {
  const int32_t n0 = p->red_size[0], s0 = p->red_stride[0];
  const int32_t n1 = p->red_size[1], s1 = p->red_stride[1];
  /* int32 wrap of sum - zero_point * count, as TFLM's int32 temp_sum and cast do */
  const uint32_t zp_total = (uint32_t)p->input_zero_point * (uint32_t)p->count;
  for (int32_t o = 0; o < p->out_count; ++o) {
    int32_t base = 0;
    int32_t rest = o;
    for (int32_t d = p->kept - 1; d >= 0; --d) {
      base += (rest % p->kept_size[d]) * p->kept_stride[d];
      rest /= p->kept_size[d];
    }
    uint32_t sum = 0;
    for (int32_t i = 0; i < n0; ++i) {
      const int8_t *row = input + base + i * s0;
      for (int32_t j = 0; j < n1; ++j) sum += (uint32_t)(int32_t)row[j * s1];
    }
    const int32_t shifted = (int32_t)(sum - zp_total);
    const int32_t v =
        mcuq_add_wrap(mcuq_mbqm(shifted, p->multiplier, p->shift), p->output_zero_point);
    output[o] = (int8_t)mcuq_clamp(v, -128, 127);
  }
}
