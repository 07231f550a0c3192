#include "sigmoid_tanh.h"

#include "mcuq_fixedpoint.h"
#include "mcuq_gemmlowp.h"

enum { kInputIntegerBits = 4 };

void mcuq_logistic_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] - p->input_zero_point;
    int32_t v;
    if (x <= -p->input_range_radius) {
      v = -128;
    } else if (x >= p->input_range_radius) {
      v = 127;
    } else {
      const int32_t in_q4 = mcuq_mbqm(x, p->input_multiplier, p->input_left_shift);
      const int32_t out_q0 = mcuq_gl_logistic(in_q4, kInputIntegerBits);
      v = mcuq_clamp(mcuq_rdbp(out_q0, 31 - 8) - 128, -128, 127);
    }
    output[i] = (int8_t)v;
  }
}

void mcuq_tanh_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] - p->input_zero_point;
    int32_t v;
    if (x <= -p->input_range_radius) {
      v = -128;
    } else if (x >= p->input_range_radius) {
      v = 127;
    } else {
      const int32_t in_q4 = mcuq_mbqm(x, p->input_multiplier, p->input_left_shift);
      const int32_t out_q0 = mcuq_gl_tanh(in_q4, kInputIntegerBits);
      v = mcuq_clamp(mcuq_rdbp(out_q0, 31 - 7), -128, 127);
    }
    output[i] = (int8_t)v;
  }
}
