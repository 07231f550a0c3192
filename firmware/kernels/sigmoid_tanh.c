#include "sigmoid_tanh.h"

#include "mcuq_fixedpoint.h"
#include "mcuq_gemmlowp.h"

enum { kInputIntegerBits = 4 };

/* One element: inputs outside the radius saturate; the rest go through gemmlowp's Q4.27
 * logistic (output Q0.31 -> 1/256 scale, zero point -128) or tanh (-> 1/128, zero point 0). */
static inline int8_t sigmoid_tanh_one(const mcuq_sigmoid_tanh_params_t *p, int8_t in, int tanh) {
  const int32_t x = (int32_t)in - p->input_zero_point;
  if (x <= -p->input_range_radius) return -128;
  if (x >= p->input_range_radius) return 127;
  const int32_t in_q4 = mcuq_mbqm(x, p->input_multiplier, p->input_left_shift);
  const int32_t v = tanh ? mcuq_rdbp(mcuq_gl_tanh(in_q4, kInputIntegerBits), 31 - 7)
                         : mcuq_rdbp(mcuq_gl_logistic(in_q4, kInputIntegerBits), 31 - 8) - 128;
  return (int8_t)mcuq_clamp(v, -128, 127);
}

void mcuq_logistic_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = sigmoid_tanh_one(p, input[i], 0);
}

void mcuq_tanh_s8(const mcuq_sigmoid_tanh_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) output[i] = sigmoid_tanh_one(p, input[i], 1);
}
