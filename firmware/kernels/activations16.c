#include "activations16.h"

#include "mcuq_fixedpoint.h"

void mcuq_relu_s16(const mcuq_activation16_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = (int16_t)mcuq_clamp(mcuq_mbqm(input[i], p->multiplier, p->shift), p->lower,
                                    p->upper);
  }
}

void mcuq_relu6_s16(const mcuq_activation16_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = (int16_t)mcuq_clamp(input[i], p->lower, p->upper);
  }
}

void mcuq_leaky_relu_s16(const mcuq_activation16_params_t *p, const int16_t *input,
                         int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = input[i];
    int32_t v;
    if (x >= 0) {
      v = mcuq_mbqm(x, p->multiplier, p->shift);
    } else {
      v = mcuq_mbqm(x, p->alpha_multiplier, p->alpha_shift);
      if (p->alpha_negative) v = mcuq_neg_wrap(v);
    }
    output[i] = (int16_t)mcuq_clamp(v, -32768, 32767);
  }
}
