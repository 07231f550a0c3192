#include "elementwise.h"

#include "mcuq_fixedpoint.h"

typedef mcuq_elementwise_params_t ew_params_t;

/* One innermost row: n outputs; the inputs advance by sa / sb elements (0: broadcast). */
typedef void (*ew_row_fn)(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                          int32_t sb, int8_t *out, int32_t n);

/* Walks the (merged) output dimensions with an odometer, one row call per innermost line. */
static void ew_run(const ew_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out,
                   ew_row_fn row) {
  const int32_t rank = p->rank;
  const int32_t inner = p->shape[rank - 1];
  int32_t outer = 1;
  for (int32_t d = 0; d < rank - 1; ++d) outer *= p->shape[d];
  int32_t index[MCUQ_ELEMENTWISE_MAX_RANK] = {0};
  int32_t off1 = 0, off2 = 0;
  for (int32_t k = 0; k < outer; ++k) {
    row(p, in1 + off1, p->stride1[rank - 1], in2 + off2, p->stride2[rank - 1], out + k * inner,
        inner);
    for (int32_t d = rank - 2; d >= 0; --d) {
      off1 += p->stride1[d];
      off2 += p->stride2[d];
      if (++index[d] < p->shape[d]) break;
      index[d] = 0;
      off1 -= p->stride1[d] * p->shape[d];
      off2 -= p->stride2[d] * p->shape[d];
    }
  }
}

/* ---- ADD / SUB: both inputs to a common scale (<< 20, then a multiplier < 1) ----
 * No int32 overflow: |q + offset| <= 255, so each scaled input is below 2^28 in magnitude
 * (left_shift 20, a multiplier < 1), their sum or difference below 2^29, and the rescaled
 * output (a multiplier < 1 again) below 2^29 before the offset is added. */

static inline int32_t ew_scale_input(int32_t q, int32_t offset, int32_t left_shift,
                                     int32_t multiplier, int32_t shift) {
  return mcuq_mbqm_smaller_than_one(mcuq_shl(q + offset, left_shift), multiplier, shift);
}

static inline int8_t ew_rescale_output(const ew_params_t *p, int32_t raw) {
  const int32_t v = mcuq_mbqm_smaller_than_one(raw, p->output_multiplier, p->output_shift) +
                    p->output_offset;
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

#define EW_S1(x) ew_scale_input((x), p->input1_offset, p->left_shift, p->input1_multiplier, \
                                p->input1_shift)
#define EW_S2(y) ew_scale_input((y), p->input2_offset, p->left_shift, p->input2_multiplier, \
                                p->input2_shift)

/* Tables instead of the inputs' rescaling (equal shapes): two loads per element; the output
 * rescaling with one SMLAL when its shift is in mcuq_requant_rshift's range. */
static void ew_add_sub_lut(const ew_params_t *p, const int8_t *a, const int8_t *b,
                           int8_t *out, int32_t n, int32_t sign) {
  const int32_t *t1 = p->lut1 + 128, *t2 = p->lut2 + 128;
  const int32_t m = p->output_multiplier, sh = p->output_shift, off = p->output_offset;
  const int32_t lo = p->act_min, hi = p->act_max;
  if (sh <= -2) {
    for (int32_t i = 0; i < n; ++i) {
      const int32_t raw = t1[a[i]] + sign * t2[b[i]];
      out[i] = (int8_t)mcuq_clamp(mcuq_requant_rshift(raw, m, sh) + off, lo, hi);
    }
  } else {
    for (int32_t i = 0; i < n; ++i) out[i] = ew_rescale_output(p, t1[a[i]] + sign * t2[b[i]]);
  }
}

/* sign = +1 (ADD) or -1 (SUB); a broadcast operand is scaled once per row. */
static inline void ew_add_sub_row(const ew_params_t *p, const int8_t *a, int32_t sa,
                                  const int8_t *b, int32_t sb, int8_t *out, int32_t n,
                                  int32_t sign) {
  if (sa == 1 && sb == 1 && p->lut1) {
    ew_add_sub_lut(p, a, b, out, n, sign);
  } else if (sa == 1 && sb == 1) { /* equal shapes (and contiguous lines): the fast path */
    for (int32_t i = 0; i < n; ++i)
      out[i] = ew_rescale_output(p, EW_S1(a[i]) + sign * EW_S2(b[i]));
  } else if (sa == 0) {
    const int32_t x = EW_S1(a[0]);
    for (int32_t i = 0; i < n; ++i) out[i] = ew_rescale_output(p, x + sign * EW_S2(b[i * sb]));
  } else if (sb == 0) {
    const int32_t y = sign * EW_S2(b[0]);
    for (int32_t i = 0; i < n; ++i) out[i] = ew_rescale_output(p, EW_S1(a[i * sa]) + y);
  } else {
    for (int32_t i = 0; i < n; ++i)
      out[i] = ew_rescale_output(p, EW_S1(a[i * sa]) + sign * EW_S2(b[i * sb]));
  }
}

static void ew_add_row(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  ew_add_sub_row(p, a, sa, b, sb, out, n, 1);
}

static void ew_sub_row(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  ew_add_sub_row(p, a, sa, b, sb, out, n, -1);
}

/* ---- MUL: product of the offset inputs, one MultiplyByQuantizedMultiplier ---- */

static inline int8_t ew_mul_one(const ew_params_t *p, int32_t x, int32_t y) {
  const int32_t prod = (x + p->input1_offset) * (y + p->input2_offset); /* |.| <= 65536 */
  const int32_t v =
      mcuq_add_wrap(mcuq_mbqm(prod, p->output_multiplier, p->output_shift), p->output_offset);
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

static void ew_mul_row(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  if (sa == 1 && sb == 1) {
    for (int32_t i = 0; i < n; ++i) out[i] = ew_mul_one(p, a[i], b[i]);
  } else {
    for (int32_t i = 0; i < n; ++i) out[i] = ew_mul_one(p, a[i * sa], b[i * sb]);
  }
}

/* ---- MAXIMUM / MINIMUM: raw int8 comparison (TFLM ignores quantization here) ---- */

static void ew_max_row(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  (void)p;
  for (int32_t i = 0; i < n; ++i) {
    const int8_t x = a[i * sa], y = b[i * sb];
    out[i] = x > y ? x : y;
  }
}

static void ew_min_row(const ew_params_t *p, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  (void)p;
  for (int32_t i = 0; i < n; ++i) {
    const int8_t x = a[i * sa], y = b[i * sb];
    out[i] = x < y ? x : y;
  }
}

void mcuq_add_s8(const ew_params_t *p, const int8_t *input1, const int8_t *input2,
                 int8_t *output) {
  ew_run(p, input1, input2, output, ew_add_row);
}

void mcuq_sub_s8(const ew_params_t *p, const int8_t *input1, const int8_t *input2,
                 int8_t *output) {
  ew_run(p, input1, input2, output, ew_sub_row);
}

void mcuq_mul_s8(const ew_params_t *p, const int8_t *input1, const int8_t *input2,
                 int8_t *output) {
  ew_run(p, input1, input2, output, ew_mul_row);
}

void mcuq_maximum_s8(const ew_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output) {
  ew_run(p, input1, input2, output, ew_max_row);
}

void mcuq_minimum_s8(const ew_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output) {
  ew_run(p, input1, input2, output, ew_min_row);
}
