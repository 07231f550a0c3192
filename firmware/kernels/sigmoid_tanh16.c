#include "sigmoid_tanh16.h"

static inline int32_t scaled_input(const mcuq_sigmoid_tanh16_params_t *p, int32_t x) {
  const int32_t round = p->left_shift > 0 ? (int32_t)1 << (p->left_shift - 1) : 0;
  return (x * p->multiplier + round) >> p->left_shift;
}

void mcuq_tanh_s16(const mcuq_sigmoid_tanh16_params_t *p, const int16_t *input,
                   int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = scaled_input(p, input[i]);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 8;
    int32_t r;
    if (uh >= 255) {
      r = 0xFFFF << 8;
    } else {
      const uint32_t ua = (uint32_t)(p->table[uh] + 32768);
      const uint32_t ub = (uint32_t)(p->table[uh + 1] + 32768);
      r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    output[i] = (int16_t)(r >> 8);
  }
}

void mcuq_logistic_s16(const mcuq_sigmoid_tanh16_params_t *p, const int16_t *input,
                       int16_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = scaled_input(p, input[i]);
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t uh = a >> 9;
    uint32_t r;
    if (uh >= 255) {
      r = 0x7FFFu << 10;
    } else {
      const uint32_t ua = (uint32_t)(p->table[uh] + 32768);
      const uint32_t ub = (uint32_t)(p->table[uh + 1] + 32768);
      r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    output[i] = (int16_t)(uint16_t)(r >> 10);
  }
}
