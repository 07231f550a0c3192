#include "fully_connected.h"

#include "mcuq_fixedpoint.h"

/* Exotic rows (rq[2] < 0: shift >= -1, or a scale too small for the folded offset): TFLM's
 * arithmetic, the offset addition wraps as in TFLM. */
static inline int8_t mcuq_fc_one(const mcuq_fully_connected_params_t *p, int32_t acc,
                                 const int32_t *rq, int32_t o) {
  if (rq[2] < 0) {
    const int32_t v = mcuq_add_wrap(mcuq_mbqm(acc, p->multiplier[o], p->shift[o]),
                                    p->output_offset);
    return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
  }
  return mcuq_out_byte(mcuq_rq(acc, rq), p->act_max - p->act_min, p->act_min);
}

/* Four rows (w: 4 words per chunk of 4 columns) against the input's chunks; the last chunk of
 * a depth that is not a multiple of 4 comes from `tail` (zero-padded, its weights are zero). */
static inline void mcuq_fc_rows4(const int8_t *x, int32_t full, int has_tail, uint32_t tail,
                                 const uint32_t *w, int32_t *a) {
  int32_t s0 = a[0], s1 = a[1], s2 = a[2], s3 = a[3];
  for (int32_t j = 0; j <= full; ++j, w += 4) {
    uint32_t v;
    if (j < full) {
      v = mcuq_load4(x + 4 * j);
    } else if (has_tail) {
      v = tail;
    } else {
      break;
    }
    const uint32_t xe = mcuq_sxtb16(v), xo = mcuq_sxtb16_ror8(v);
    const uint32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    s0 = mcuq_smlad(xe, mcuq_sxtb16(w0), s0);
    s0 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w0), s0);
    s1 = mcuq_smlad(xe, mcuq_sxtb16(w1), s1);
    s1 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w1), s1);
    s2 = mcuq_smlad(xe, mcuq_sxtb16(w2), s2);
    s2 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w2), s2);
    s3 = mcuq_smlad(xe, mcuq_sxtb16(w3), s3);
    s3 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w3), s3);
  }
  a[0] = s0;
  a[1] = s1;
  a[2] = s2;
  a[3] = s3;
}

static inline int32_t mcuq_fc_row1(const int8_t *x, int32_t full, int has_tail, uint32_t tail,
                                   const uint32_t *w, int32_t s) {
  for (int32_t j = 0; j < full; ++j) {
    const uint32_t v = mcuq_load4(x + 4 * j);
    s = mcuq_smlad(mcuq_sxtb16(v), mcuq_sxtb16(w[j]), s);
    s = mcuq_smlad(mcuq_sxtb16_ror8(v), mcuq_sxtb16_ror8(w[j]), s);
  }
  if (has_tail) {
    s = mcuq_smlad(mcuq_sxtb16(tail), mcuq_sxtb16(w[full]), s);
    s = mcuq_smlad(mcuq_sxtb16_ror8(tail), mcuq_sxtb16_ror8(w[full]), s);
  }
  return s;
}

void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output) {
  const int32_t depth = p->accum_depth, out_depth = p->out_depth;
  const int32_t full = depth >> 2, rest = depth & 3, chunks = full + (rest != 0);
  const int32_t cap = p->act_max - p->act_min;
  const uint32_t cap4 = mcuq_rep4(cap), lo4 = mcuq_rep4(p->act_min);
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * depth;
    int8_t *out = output + b * out_depth;
    uint32_t tail = 0;
    for (int32_t j = 0; j < rest; ++j) tail |= (uint32_t)(uint8_t)row[4 * full + j] << (8 * j);
    const uint32_t *w = w_all;
    const int32_t *rq = p->rq;
    int32_t o = 0;
    for (; o + 4 <= out_depth; o += 4, w += 4 * chunks, rq += 4 * MCUQ_RQ_WORDS) {
      int32_t a[4] = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
      mcuq_fc_rows4(row, full, rest != 0, tail, w, a);
      if ((rq[2] | rq[MCUQ_RQ_WORDS + 2] | rq[2 * MCUQ_RQ_WORDS + 2] |
           rq[3 * MCUQ_RQ_WORDS + 2]) < 0) {
        for (int32_t j = 0; j < 4; ++j) out[o + j] = mcuq_fc_one(p, a[j], rq + j * MCUQ_RQ_WORDS, o + j);
        continue;
      }
      mcuq_store4(out + o, mcuq_rq4(a[0], a[1], a[2], a[3], rq, cap4, lo4));
    }
    for (; o < out_depth; ++o, w += chunks, rq += MCUQ_RQ_WORDS)
      out[o] = mcuq_fc_one(p, mcuq_fc_row1(row, full, rest != 0, tail, w, bias[o]), rq, o);
  }
}
