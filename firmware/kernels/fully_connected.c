#include "fully_connected.h"

#include "mcuq_fixedpoint.h"

static inline int8_t mcuq_fc_out(const mcuq_fully_connected_params_t *p, int32_t acc, int32_t o) {
  const int32_t r = mcuq_mbqm(acc, p->multiplier[o], p->shift[o]);
  const int32_t v = mcuq_add_wrap(r, p->output_offset); /* wraps in TFLM too */
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

/* Two weight rows against one input row: the input's packed pairs are unpacked once. */
static inline void mcuq_fc_dot2(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                int32_t depth, int32_t *a0, int32_t *a1) {
  int32_t s0 = *a0, s1 = *a1;
  int32_t d = 0;
  for (; d + 4 <= depth; d += 4) {
    const uint32_t xv = mcuq_load4(x + d);
    const uint32_t xe = mcuq_sxtb16(xv), xo = mcuq_sxtb16_ror8(xv);
    const uint32_t v0 = mcuq_load4(w0 + d), v1 = mcuq_load4(w1 + d);
    s0 = mcuq_smlad(xe, mcuq_sxtb16(v0), s0);
    s0 = mcuq_smlad(xo, mcuq_sxtb16_ror8(v0), s0);
    s1 = mcuq_smlad(xe, mcuq_sxtb16(v1), s1);
    s1 = mcuq_smlad(xo, mcuq_sxtb16_ror8(v1), s1);
  }
  for (; d < depth; ++d) { /* int32 accumulators wrap in TFLM: modulo 2^32 here */
    s0 = mcuq_add_wrap(s0, (int32_t)x[d] * (int32_t)w0[d]);
    s1 = mcuq_add_wrap(s1, (int32_t)x[d] * (int32_t)w1[d]);
  }
  *a0 = s0;
  *a1 = s1;
}

void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output) {
  const int32_t depth = p->accum_depth, out_depth = p->out_depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * depth;
    int8_t *out = output + b * out_depth;
    int32_t o = 0;
    for (; o + 2 <= out_depth; o += 2) {
      const int8_t *w = weights + o * depth;
      int32_t a0 = bias[o], a1 = bias[o + 1];
      mcuq_fc_dot2(row, w, w + depth, depth, &a0, &a1);
      out[o] = mcuq_fc_out(p, a0, o);
      out[o + 1] = mcuq_fc_out(p, a1, o + 1);
    }
    if (o < out_depth) {
      const int8_t *w = weights + o * depth;
      int32_t a0 = bias[o], a1 = 0;
      mcuq_fc_dot2(row, w, w, depth, &a0, &a1);
      out[o] = mcuq_fc_out(p, a0, o);
    }
  }
}
