#include "softmax.h"

#include "mcuq_fixedpoint.h"
#include "mcuq_gemmlowp.h"

enum { kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12 };

/* exp(beta * input_scale * diff) in Q0.31 for diff = x - max <= 0 (Q5.26 argument). */
static int32_t exp_of_diff(const mcuq_softmax_params_t *p, int32_t diff) {
  const int32_t scaled =
      mcuq_mbqm_greater_than_one(diff, p->input_multiplier, p->input_left_shift);
  return mcuq_gl_exp_on_negative_values(scaled, kScaledDiffIntegerBits);
}

void mcuq_softmax_s8(const mcuq_softmax_params_t *p, const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth;
  for (int32_t r = 0; r < p->outer; ++r) {
    const int8_t *in = input + r * depth;
    int8_t *out = output + r * depth;
    int32_t max = -128;
    for (int32_t c = 0; c < depth; ++c) max = in[c] > max ? in[c] : max;

    int32_t sum_of_exps = 0; /* Q12.19 */
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = (int32_t)in[c] - max;
      if (diff >= p->diff_min) {
        sum_of_exps = mcuq_gl_add(sum_of_exps,
                                  mcuq_rdbp(exp_of_diff(p, diff), kAccumulationIntegerBits));
      }
    }
    int32_t num_bits_over_unit;
    const int32_t shifted_scale =
        mcuq_gl_reciprocal(sum_of_exps, kAccumulationIntegerBits, &num_bits_over_unit);
    int32_t exponent = num_bits_over_unit + 31 - 8;
    /* TFLite Micro aborts outside [0, 31] (more than ~2^9 near-maximal classes); the
     * reference refuses such inputs, the kernel only stays defined. */
    exponent = mcuq_clamp(exponent, 0, 31);

    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = (int32_t)in[c] - max;
      int32_t v = -128;
      if (diff >= p->diff_min) {
        const int32_t unsat = mcuq_rdbp(mcuq_srdhm(shifted_scale, exp_of_diff(p, diff)), exponent);
        v = mcuq_clamp(unsat - 128, -128, 127);
      }
      out[c] = (int8_t)v;
    }
  }
}
