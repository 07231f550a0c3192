#include "arith.h"

#include "mcuq_fixedpoint.h"
#include "mcuq_gemmlowp.h"

/* Calls fn(ctx, i, offset1, offset2) for output element i, walking the broadcast. */
typedef void (*walk_fn)(const void *ctx, int32_t i, int32_t o1, int32_t o2);

static void walk(const mcuq_walk_t *w, const void *ctx, walk_fn fn) {
  int32_t total = 1;
  for (int32_t d = 0; d < w->rank; ++d) total *= w->shape[d];
  int32_t idx[MCUQ_ARITH_MAX_RANK] = {0};
  int32_t o1 = 0, o2 = 0;
  for (int32_t i = 0; i < total; ++i) {
    fn(ctx, i, o1, o2);
    for (int32_t d = w->rank - 1; d >= 0; --d) {
      o1 += w->stride1[d];
      o2 += w->stride2[d];
      if (++idx[d] < w->shape[d]) break;
      o1 -= w->stride1[d] * w->shape[d];
      o2 -= w->stride2[d] * w->shape[d];
      idx[d] = 0;
    }
  }
}

/* ---- PRELU ---- */

typedef struct {
  const mcuq_prelu_params_t *p;
  const int8_t *input, *alpha;
  int8_t *output;
} prelu_ctx_t;

static void prelu_one(const void *c, int32_t i, int32_t o1, int32_t o2) {
  const prelu_ctx_t *k = (const prelu_ctx_t *)c;
  const mcuq_prelu_params_t *p = k->p;
  const int32_t x = p->input_offset + k->input[o1];
  int32_t v;
  if (x >= 0) {
    v = mcuq_mbqm(x, p->multiplier1, p->shift1);
  } else {
    const int32_t a = p->alpha_offset + k->alpha[o2];
    v = mcuq_mbqm(x * a, p->multiplier2, p->shift2); /* |x * a| <= 255 * 255 */
  }
  k->output[i] = (int8_t)mcuq_clamp(v + p->output_offset, -128, 127);
}

void mcuq_prelu_s8(const mcuq_prelu_params_t *p, const int8_t *input, const int8_t *alpha,
                   int8_t *output) {
  const prelu_ctx_t k = {p, input, alpha, output};
  walk(&p->walk, &k, prelu_one);
}

/* ---- SQUARED_DIFFERENCE ---- */

typedef struct {
  const mcuq_squared_difference_params_t *p;
  const int8_t *input1, *input2;
  int8_t *output;
} sqdiff_ctx_t;

static void sqdiff_one(const void *c, int32_t i, int32_t o1, int32_t o2) {
  const sqdiff_ctx_t *k = (const sqdiff_ctx_t *)c;
  const mcuq_squared_difference_params_t *p = k->p;
  const int32_t a = mcuq_mbqm_smaller_than_one(
      mcuq_shl(p->input1_offset + k->input1[o1], p->left_shift), p->input1_multiplier,
      p->input1_shift);
  const int32_t b = mcuq_mbqm_smaller_than_one(
      mcuq_shl(p->input2_offset + k->input2[o2], p->left_shift), p->input2_multiplier,
      p->input2_shift);
  const int32_t d = a - b; /* |a|, |b| < 2^15: d * d < 2^31 */
  const int32_t v = mcuq_mbqm(d * d, p->output_multiplier, p->output_shift) + p->output_offset;
  k->output[i] = (int8_t)mcuq_clamp(v, -128, 127);
}

void mcuq_squared_difference_s8(const mcuq_squared_difference_params_t *p,
                                const int8_t *input1, const int8_t *input2, int8_t *output) {
  const sqdiff_ctx_t k = {p, input1, input2, output};
  walk(&p->walk, &k, sqdiff_one);
}

/* ---- inverse square root (GetInvSqrtQuantizedMultiplierExp) ---- */

void mcuq_inv_sqrt_multiplier_exp(int32_t input, int32_t *multiplier, int32_t *shift) {
  if (input <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int32_t s = 11;
  while (input >= ((int32_t)1 << 29)) {
    input /= 4;
    ++s;
  }
  const int32_t pairs = (mcuq_gl_clz32((uint32_t)input) - 1) / 2 - 1; /* input < 2^29: >= 0 */
  s -= pairs;
  input = mcuq_shl(input, 2 * pairs); /* now in [2^27, 2^29) */
  const int32_t half_input = mcuq_rdbp(input >> 1, 1);   /* Q3.28 input / 2 */
  const int32_t half_three = ((int32_t)1 << 28) + ((int32_t)1 << 27);
  int32_t x = (int32_t)1 << 28;                          /* Q3.28 one */
  for (int i = 0; i < 5; ++i) {
    const int32_t x3 = mcuq_gl_sat_shl(mcuq_srdhm(mcuq_srdhm(x, x), x), 6);
    x = mcuq_gl_sat_shl(mcuq_gl_sub(mcuq_srdhm(half_three, x), mcuq_srdhm(half_input, x3)), 3);
  }
  x = mcuq_srdhm(x, 1518500250); /* * sqrt(2) / 2 */
  if (s < 0) {
    x = mcuq_shl(x, -s);
    s = 0;
  }
  *multiplier = x;
  *shift = -s;
}

/* ---- RSQRT ---- */

int mcuq_rsqrt_s8(const mcuq_rsqrt_params_t *p, const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t value = (int32_t)input[i] - p->input_zero_point;
    if (value < 0) return 1;
    if (value == 0) {
      output[i] = 127;
      continue;
    }
    int32_t inv, inv_shift;
    mcuq_inv_sqrt_multiplier_exp(value, &inv, &inv_shift);
    const int32_t data = mcuq_mbqm(1, inv, inv_shift + 20);
    const int32_t v = mcuq_mbqm(data, p->multiplier, p->shift - 20) + p->output_zero_point;
    output[i] = (int8_t)mcuq_clamp(v, -128, 127);
  }
  return 0;
}

/* ---- L2_NORMALIZATION ---- */

void mcuq_l2_normalization_s8(const mcuq_l2norm_params_t *p, const int8_t *input,
                              int8_t *output) {
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t *row = input + o * p->depth;
    uint32_t acc = 0; /* int32 sum of squares, wrapping like TFLM's */
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = row[c] - p->input_zero_point;
      acc += (uint32_t)(v * v);
    }
    int32_t inv, shift;
    mcuq_inv_sqrt_multiplier_exp((int32_t)acc, &inv, &shift);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = mcuq_mbqm(row[c] - p->input_zero_point, inv, shift + 7);
      output[o * p->depth + c] = (int8_t)mcuq_clamp(v, -128, 127);
    }
  }
}
