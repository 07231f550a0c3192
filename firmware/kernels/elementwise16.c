#include "elementwise16.h"

#include "mcuq_fixedpoint.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_MAX, OP_MIN };

static inline int16_t one(const mcuq_elementwise16_params_t *p, int32_t a, int32_t b, int op) {
  int32_t out;
  if (op == OP_MAX) return (int16_t)(a > b ? a : b);
  if (op == OP_MIN) return (int16_t)(a < b ? a : b);
  if (op == OP_MUL) {
    out = mcuq_mbqm(a * b, p->output_multiplier, p->output_shift);
  } else {
    const int32_t v1 = mcuq_mbqm_smaller_than_one(a * (1 << p->left_shift),
                                                  p->input1_multiplier, p->input1_shift);
    const int32_t v2 = mcuq_mbqm_smaller_than_one(b * (1 << p->left_shift),
                                                  p->input2_multiplier, p->input2_shift);
    const int32_t raw = op == OP_ADD ? mcuq_add_wrap(v1, v2) : mcuq_add_wrap(v1, mcuq_neg_wrap(v2));
    out = mcuq_mbqm_smaller_than_one(raw, p->output_multiplier, p->output_shift);
  }
  return (int16_t)mcuq_clamp(out, p->act_min, p->act_max);
}

static void walk(const mcuq_elementwise16_params_t *p, const int16_t *a, const int16_t *b,
                 int16_t *out, int op) {
  int32_t idx[MCUQ_ELEMENTWISE16_MAX_RANK] = {0};
  int32_t total = 1;
  for (int32_t d = 0; d < p->rank; ++d) total *= p->shape[d];
  int32_t o1 = 0, o2 = 0;
  for (int32_t i = 0; i < total; ++i) {
    out[i] = one(p, a[o1], b[o2], op);
    for (int32_t d = p->rank - 1; d >= 0; --d) { /* odometer over the output dims */
      o1 += p->stride1[d];
      o2 += p->stride2[d];
      if (++idx[d] < p->shape[d]) break;
      o1 -= p->stride1[d] * p->shape[d];
      o2 -= p->stride2[d] * p->shape[d];
      idx[d] = 0;
    }
  }
}

void mcuq_add_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_ADD);
}

void mcuq_sub_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_SUB);
}

void mcuq_mul_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MUL);
}

void mcuq_maximum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MAX);
}

void mcuq_minimum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MIN);
}
