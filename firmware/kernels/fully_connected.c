#include "fully_connected.h"

#include "mcuq_buffers.h"
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

/* Four rows (w: 4 words per chunk of 4 columns) against the input row unpacked to int16 pairs
 * (xs: 2 words per chunk, (x0, x2), (x1, x3)). The Cortex-M build runs the loop in assembly
 * (post-incremented LDRD, 21 instructions per 16 multiply-accumulates). */
static inline void mcuq_fc_rows4(const uint32_t *xs, const uint32_t *w, int32_t chunks,
                                 int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if MCUQ_ASM
  uint32_t x0, x1, w0, w1, e;
#define MCUQ_FC_ASM_ROW(a, wr)                                                               \
  "sxtb16 %[e], %[" wr "]\n\t"                                                               \
  "smlad %[" a "], %[x0], %[e], %[" a "]\n\t"                                                \
  "sxtb16 %[" wr "], %[" wr "], ror #8\n\t"                                                  \
  "smlad %[" a "], %[x1], %[" wr "], %[" a "]\n\t"
  __asm__("1:\n\t"
          "ldrd %[x0], %[x1], [%[xs]], #8\n\t"
          "ldrd %[w0], %[w1], [%[w]], #8\n\t"
          MCUQ_FC_ASM_ROW("a0", "w0") MCUQ_FC_ASM_ROW("a1", "w1")
          "ldrd %[w0], %[w1], [%[w]], #8\n\t"
          MCUQ_FC_ASM_ROW("a2", "w0") MCUQ_FC_ASM_ROW("a3", "w1")
          "subs %[n], %[n], #1\n\t"
          "bne 1b\n\t"
          : [xs] "+r"(xs), [w] "+r"(w), [n] "+r"(chunks), [a0] "+r"(a0), [a1] "+r"(a1),
            [a2] "+r"(a2), [a3] "+r"(a3), [x0] "=&r"(x0), [x1] "=&r"(x1), [w0] "=&r"(w0),
            [w1] "=&r"(w1), [e] "=&r"(e)
          : "m"(*(const uint32_t(*)[MCUQ_FC_SCRATCH_BUF / 4])xs)
          : "cc");
#undef MCUQ_FC_ASM_ROW
#else
  for (int32_t j = 0; j < chunks; ++j, xs += 2, w += 4) {
    a0 = mcuq_smlad(xs[0], mcuq_sxtb16(w[0]), a0);
    a0 = mcuq_smlad(xs[1], mcuq_sxtb16_ror8(w[0]), a0);
    a1 = mcuq_smlad(xs[0], mcuq_sxtb16(w[1]), a1);
    a1 = mcuq_smlad(xs[1], mcuq_sxtb16_ror8(w[1]), a1);
    a2 = mcuq_smlad(xs[0], mcuq_sxtb16(w[2]), a2);
    a2 = mcuq_smlad(xs[1], mcuq_sxtb16_ror8(w[2]), a2);
    a3 = mcuq_smlad(xs[0], mcuq_sxtb16(w[3]), a3);
    a3 = mcuq_smlad(xs[1], mcuq_sxtb16_ror8(w[3]), a3);
  }
#endif
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* The same with the input row read directly (depths over the scratch buffer): each chunk is
 * unpacked once per group of rows; the last chunk of a depth that is not a multiple of 4 comes
 * from `tail` (zero-padded; its weights are zero). */
static inline void mcuq_fc_rows4_direct(const int8_t *x, int32_t full, int has_tail,
                                        uint32_t tail, const uint32_t *w, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int32_t j = 0; j < full + has_tail; ++j, w += 4) {
    const uint32_t v = j < full ? mcuq_load4(x + 4 * j) : tail;
    const uint32_t xe = mcuq_sxtb16(v), xo = mcuq_sxtb16_ror8(v);
    a0 = mcuq_smlad(xe, mcuq_sxtb16(w[0]), a0);
    a0 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w[0]), a0);
    a1 = mcuq_smlad(xe, mcuq_sxtb16(w[1]), a1);
    a1 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w[1]), a1);
    a2 = mcuq_smlad(xe, mcuq_sxtb16(w[2]), a2);
    a2 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w[2]), a2);
    a3 = mcuq_smlad(xe, mcuq_sxtb16(w[3]), a3);
    a3 = mcuq_smlad(xo, mcuq_sxtb16_ror8(w[3]), a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* One row (w: 1 word per chunk). */
static inline int32_t mcuq_fc_row1(const int8_t *x, int32_t full, int has_tail, uint32_t tail,
                                   const uint32_t *w, int32_t s) {
  for (int32_t j = 0; j < full + has_tail; ++j) {
    const uint32_t v = j < full ? mcuq_load4(x + 4 * j) : tail;
    s = mcuq_smlad(mcuq_sxtb16(v), mcuq_sxtb16(w[j]), s);
    s = mcuq_smlad(mcuq_sxtb16_ror8(v), mcuq_sxtb16_ror8(w[j]), s);
  }
  return s;
}

/* filter_offset * sum(row), wrapped to int32 like TFLM's accumulator (no signed overflow). */
static int32_t mcuq_fc_filter_term(int32_t filter_offset, const int8_t *row, int32_t depth) {
  int32_t sum = 0; /* |sum| <= 128 * depth: no overflow for any depth a model can hold */
  for (int32_t d = 0; d < depth; ++d) sum += row[d];
  return (int32_t)((uint32_t)filter_offset * (uint32_t)sum);
}

void mcuq_fully_connected_s8(const mcuq_fully_connected_params_t *p,
                             const int8_t *restrict input, const int8_t *restrict weights,
                             const int32_t *restrict bias, int8_t *restrict output) {
  const int32_t depth = p->accum_depth, out_depth = p->out_depth;
  const int32_t full = depth >> 2, rest = depth & 3, chunks = full + (rest != 0);
  const int32_t cap = p->act_max - p->act_min;
  const uint32_t cap4 = mcuq_rep4(cap), lo4 = mcuq_rep4(p->act_min);
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  uint32_t xs[MCUQ_FC_SCRATCH_BUF / 4];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * depth;
    int8_t *out = output + b * out_depth;
    const uint32_t term =
        p->filter_offset ? (uint32_t)mcuq_fc_filter_term(p->filter_offset, row, depth) : 0u;
    uint32_t tail = 0;
    for (int32_t j = 0; j < rest; ++j)
      tail |= (uint32_t)(uint8_t)row[4 * full + j] << (8 * j);
    const uint32_t *w = w_all;
    const int32_t *rq = p->rq;
    /* a project whose rows are all too deep gets a 4-byte buffer: no row fits (chunks >= 1),
     * and the constant test lets the compiler drop the path (no array-bounds warning) */
    const int scratch = MCUQ_FC_SCRATCH_BUF >= 8 && chunks * 8 <= MCUQ_FC_SCRATCH_BUF;
    if (scratch) { /* the row unpacked once for every group of rows */
      for (int32_t j = 0; j < full; ++j) {
        const uint32_t v = mcuq_load4(row + 4 * j);
        xs[2 * j] = mcuq_sxtb16(v);
        xs[2 * j + 1] = mcuq_sxtb16_ror8(v);
      }
      if (rest) xs[2 * full] = mcuq_sxtb16(tail), xs[2 * full + 1] = mcuq_sxtb16_ror8(tail);
    }
    int32_t o = 0;
    for (; o + 4 <= out_depth; o += 4, w += 4 * chunks, rq += 4 * MCUQ_RQ_WORDS) {
      int32_t a[4] = {(int32_t)((uint32_t)bias[o] + term), (int32_t)((uint32_t)bias[o + 1] + term),
                     (int32_t)((uint32_t)bias[o + 2] + term), (int32_t)((uint32_t)bias[o + 3] + term)};
      if (scratch) {
        mcuq_fc_rows4(xs, w, chunks, a);
      } else {
        mcuq_fc_rows4_direct(row, full, rest != 0, tail, w, a);
      }
      if ((rq[2] | rq[MCUQ_RQ_WORDS + 2] | rq[2 * MCUQ_RQ_WORDS + 2] |
           rq[3 * MCUQ_RQ_WORDS + 2]) < 0) {
        for (int32_t j = 0; j < 4; ++j)
          out[o + j] = mcuq_fc_one(p, a[j], rq + j * MCUQ_RQ_WORDS, o + j);
        continue;
      }
      mcuq_store4(out + o, mcuq_rq4(a[0], a[1], a[2], a[3], rq, cap4, lo4));
    }
    for (; o < out_depth; ++o, w += chunks, rq += MCUQ_RQ_WORDS)
      out[o] = mcuq_fc_one(p, mcuq_fc_row1(row, full, rest != 0, tail, w,
                                          (int32_t)((uint32_t)bias[o] + term)), rq, o);
  }
}
