#include "activations.h"

#include "mcuq_fixedpoint.h"

void mcuq_relu_s8(const mcuq_relu_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = mcuq_add_wrap(
        p->output_offset, mcuq_mbqm((int32_t)input[i] - p->input_offset, p->multiplier, p->shift));
    output[i] = (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
  }
}

void mcuq_relu6_s8(const mcuq_relu6_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = input[i];
    output[i] = (int8_t)(v > p->upper ? p->upper : (v < p->lower ? p->lower : v));
  }
}

void mcuq_leaky_relu_s8(const mcuq_leaky_relu_params_t *p, const int8_t *input,
                        int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] - p->input_offset;
    int32_t v;
    if (x >= 0) {
      v = mcuq_mbqm(x, p->multiplier_identity, p->shift_identity);
    } else {
      v = mcuq_mbqm(x, p->multiplier_alpha, p->shift_alpha);
      if (p->alpha_negative) v = mcuq_neg_wrap(v);
    }
    output[i] = (int8_t)mcuq_clamp(mcuq_add_wrap(p->output_offset, v), -128, 127);
  }
}

/* ---- int16 helpers: int arithmetic, then narrowing to int16 as a C assignment does ---- */

static inline int32_t wrap16(int32_t x) {
  const uint32_t u = (uint32_t)x & 0xFFFFu;
  return u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u;
}

/* gemmlowp SaturatingRoundingDoublingHighMul<int16_t>. */
static inline int32_t srdhm16(int32_t a, int32_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = a * b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return wrap16((ab + nudge) / (1 << 15));
}

/* SaturatingDoublingHighMul (hard_swish.h): truncating instead of rounding. */
static inline int32_t sdhm16(int32_t a, int32_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  return wrap16((a * b) / (1 << 15));
}

/* gemmlowp RoundingDivideByPOT<int16_t>: the mask is narrowed to int16 (exponent >= 16
 * gives mask -1, as in TFLM). */
static inline int32_t rdbp16(int32_t x, int32_t exponent) {
  const int32_t mask = wrap16((int32_t)(uint32_t)(((uint64_t)1 << exponent) - 1u));
  const int32_t remainder = wrap16(x & mask);
  const int32_t threshold = wrap16((mask >> 1) + (x < 0 ? 1 : 0));
  return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static inline int32_t saturating_left_shift16(int32_t x, int32_t amount) {
  const int64_t r = (int64_t)x * ((int64_t)1 << amount);
  return r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : (int32_t)r);
}

void mcuq_hard_swish_s8(const mcuq_hard_swish_params_t *p, const int8_t *input,
                        int8_t *output) {
  const int32_t re = p->reluish_exponent;
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t value = wrap16((int32_t)input[i] - p->input_zero_point);
    const int32_t hires = wrap16(value * 128);
    const int32_t preshift_out = srdhm16(hires, p->output_multiplier);
    int32_t reluish = hires;
    if (re > 0) reluish = saturating_left_shift16(reluish, re - 1);
    reluish = srdhm16(reluish, p->reluish_multiplier);
    if (re > 0) reluish = saturating_left_shift16(reluish, 1);
    if (re < 0) reluish = rdbp16(reluish, -re);
    reluish = wrap16((reluish + (1 << 15)) >> 1);
    const int32_t pre = sdhm16(reluish, preshift_out);
    const int32_t out = wrap16(rdbp16(pre, -p->output_exponent) + p->output_zero_point);
    output[i] = (int8_t)mcuq_clamp(out, -128, 127);
  }
}
