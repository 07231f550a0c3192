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

/* -- small layers (mcuq_fc_small_*: the stream of fully_connected.h) ---------------------- */

/* mcuq_rqc2(a2, r): SMMLAR (SMMLA: single rounding) and the shift on the Cortex-M. */
static inline int32_t mcuq_fc_rqc2(int32_t a2, const uint32_t *r) {
#if MCUQ_DSP && defined(__GNUC__) && !(MCUQ_SINGLE_ROUNDING && MCUQ_SR_TIE_ADJUST)
  int32_t t;
#if MCUQ_SINGLE_ROUNDING
  __asm__("smmla %0, %1, %2, %3" : "=r"(t) : "r"(a2), "r"(r[0]), "r"(r[1]));
#else
  const int32_t y = (int32_t)((uint32_t)r[1] - (uint32_t)MCUQ_RDBP_TIE_ADJUST(a2));
  __asm__("smmlar %0, %1, %2, %3" : "=r"(t) : "r"(a2), "r"(r[0]), "r"(y));
#endif
  return t >> r[2];
#else
  return mcuq_rqc2(a2, (const int32_t *)(const void *)r);
#endif
}

/* One output byte of mcuq_rqc2's value v (see mcuq_conv_byte). */
static inline uint32_t mcuq_fc_byte(int32_t v, int full, uint32_t cap4, uint32_t lo4) {
  if (full) {
#if MCUQ_DSP
    return (uint32_t)__ssat(v, 8) & 0xffu;
#else
    return (uint32_t)(v < -128 ? -128 : (v > 127 ? 127 : v)) & 0xffu;
#endif
  }
  return mcuq_out_bytes(mcuq_usat8(v), cap4, lo4) & 0xffu;
}

/* The last 4 - depth % 4 columns of a row zero-padded into one word. */
static inline uint32_t mcuq_fc_tail(const int8_t *x, int32_t rest) {
  uint32_t t = 0;
  for (int32_t j = 0; j < rest; ++j) t |= (uint32_t)(uint8_t)x[j] << (8 * j);
  return t;
}

/* (GCC and compatibles: one copy per clamp, the other's code dropped) */
#if defined(__GNUC__)
#define MCUQ_FC_INLINE static inline __attribute__((always_inline))
#else
#define MCUQ_FC_INLINE static inline
#endif

/* One row's sum with the input read directly (unpacked chunk by chunk): w, its weight words
 * (2 per chunk), `stride` words apart from chunk to chunk (4: a row of a pair, 2: a lone row). */
static inline int32_t mcuq_fc_direct(const int8_t *x, int32_t whole, int32_t rest,
                                     const uint32_t *w, int32_t stride, int32_t a) {
  for (int32_t j = 0; j < whole; ++j, w += stride) {
    const uint32_t v = mcuq_load4(x + 4 * j);
    a = mcuq_smlad(mcuq_sxtb16(v), w[0], a);
    a = mcuq_smlad(mcuq_sxtb16_ror8(v), w[1], a);
  }
  if (rest) {
    const uint32_t v = mcuq_fc_tail(x + 4 * whole, rest);
    a = mcuq_smlad(mcuq_sxtb16(v), w[0], a);
    a = mcuq_smlad(mcuq_sxtb16_ror8(v), w[1], a);
  }
  return a;
}

MCUQ_FC_INLINE void mcuq_fc_small(const mcuq_fc_small_params_t *p, const int8_t *restrict input,
                                  int8_t *restrict output, const int full) {
  const int32_t depth = p->accum_depth, out_depth = p->out_depth;
  const int32_t whole = depth >> 2, rest = depth & 3, chunks = whole + (rest != 0);
  const uint32_t cap4 = p->cap4, lo4 = p->lo4;
  /* the row unpacked once when more than one row reads it (the emitter sizes the buffer so;
   * a project whose layers are all one row gets a 4-byte buffer, and the constant test lets
   * the compiler drop that path) */
  const int scratch = MCUQ_FC_SCRATCH_BUF >= 8 && out_depth > 1 &&
                      chunks * 8 <= MCUQ_FC_SCRATCH_BUF;
  uint32_t xs[MCUQ_FC_SCRATCH_BUF / 4];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = input + b * depth;
    int8_t *out = output + b * out_depth;
    const uint32_t *s = p->stream;
    if (scratch) { /* (x0, x2), (x1, x3) per chunk */
      for (int32_t j = 0; j < whole; ++j) {
        const uint32_t v = mcuq_load4(x + 4 * j);
        xs[2 * j] = mcuq_sxtb16(v);
        xs[2 * j + 1] = mcuq_sxtb16_ror8(v);
      }
      if (rest) {
        const uint32_t v = mcuq_fc_tail(x + 4 * whole, rest);
        xs[2 * whole] = mcuq_sxtb16(v);
        xs[2 * whole + 1] = mcuq_sxtb16_ror8(v);
      }
    }
    for (int32_t k = 0; k < out_depth >> 1; ++k, out += 2) { /* pairs of rows */
      int32_t a = (int32_t)s[0], c = (int32_t)s[1];
      s += 2;
      if (scratch) {
        for (int32_t j = 0; j < 2 * chunks; j += 2) {
          a = mcuq_smlad(xs[j], s[2 * j], a);
          a = mcuq_smlad(xs[j + 1], s[2 * j + 1], a);
          c = mcuq_smlad(xs[j], s[2 * j + 2], c);
          c = mcuq_smlad(xs[j + 1], s[2 * j + 3], c);
        }
      } else {
        a = mcuq_fc_direct(x, whole, rest, s, 4, a);
        c = mcuq_fc_direct(x, whole, rest, s + 2, 4, c);
      }
      s += 4 * chunks;
      const int32_t va = mcuq_fc_rqc2(a, s), vb = mcuq_fc_rqc2(c, s + MCUQ_RQ_WORDS);
      s += 2 * MCUQ_RQ_WORDS;
      if (full) {
        out[0] = (int8_t)mcuq_fc_byte(va, 1, 0, 0);
        out[1] = (int8_t)mcuq_fc_byte(vb, 1, 0, 0);
      } else {
        mcuq_store2(out, mcuq_out_bytes(mcuq_usat8(va) | mcuq_usat8(vb) << 8, cap4, lo4));
      }
    }
    if (out_depth & 1) { /* an odd last row, or the only one */
      int32_t a = (int32_t)s[0];
      s += 1;
      if (scratch) {
        for (int32_t j = 0; j < 2 * chunks; ++j) a = mcuq_smlad(xs[j], s[j], a);
      } else {
        a = mcuq_fc_direct(x, whole, rest, s, 2, a);
      }
      s += 2 * chunks;
      out[0] = (int8_t)mcuq_fc_byte(mcuq_fc_rqc2(a, s), full, cap4, lo4);
    }
  }
}

#if MCUQ_ASM && !(MCUQ_SINGLE_ROUNDING && MCUQ_SR_TIE_ADJUST)
#define MCUQ_FC_SMALL_ASM 1
#else
#define MCUQ_FC_SMALL_ASM 0
#endif

#if MCUQ_FC_SMALL_ASM
/* The same in Cortex-M4 assembly (the C above is what the host builds run): r0 = p, r1 = the
 * input row, r2 = the output row, r3 = xs (the caller's buffer for the unpacked row). Registers
 * in the pair loop: r0 the unpacked row, r1 the stream, r2 the output, r3 the row's end, r4-r7
 * four weight words (one LDM), r8-r9 two input words, r10-r11 the two accumulators, r12 the end
 * of the pairs' outputs, lr the unpacked row's start. Frame: p, batches left, the next input
 * row, (clamp) cap4 and lo4. Per pair of rows: 8 instructions per chunk of 4 columns, 15
 * (full range) or 19 (clamp) per pair. */
#if MCUQ_SINGLE_ROUNDING
#define MCUQ_FC_RQ(A, M, RA, E) "smmla " A ", " A ", " M ", " RA "\n\t" "asr " A ", " A ", " E "\n\t"
#elif defined(MCUQ_TEST_ROUNDING_FAULT)
#define MCUQ_FC_RQ(A, M, RA, E) /* test-only: no sign term (as mcuq_rqc2's C) */              \
  "smmlar " A ", " A ", " M ", " RA "\n\t" "asr " A ", " A ", " E "\n\t"
#else
#define MCUQ_FC_RQ(A, M, RA, E)                                                              \
  "add " RA ", " RA ", " A ", asr #31\n\t" "smmlar " A ", " A ", " M ", " RA "\n\t"          \
  "asr " A ", " A ", " E "\n\t"
#endif
/* the clamp's constants on the frame (full range: none) */
#define MCUQ_FC_SETUP_S
#define MCUQ_FC_SETUP_U "ldrd r4, r5, [r0, #12]\n\t" "strd r4, r5, [sp, #16]\n\t"
#define MCUQ_FC_STORE2_S                                                                     \
  "ssat r10, #8, r10\n\t" "ssat r11, #8, r11\n\t"                                            \
  "strb r10, [r2], #1\n\t" "strb r11, [r2], #1\n\t"
#define MCUQ_FC_STORE2_U                                                                     \
  "usat r10, #8, r10\n\t" "usat r11, #8, r11\n\t" "orr r10, r10, r11, lsl #8\n\t"           \
  "ldrd r4, r5, [sp, #16]\n\t" "usub8 r11, r10, r4\n\t" "sel r10, r4, r10\n\t"             \
  "uadd8 r10, r10, r5\n\t" "strh r10, [r2], #2\n\t"
#define MCUQ_FC_STORE1_S "ssat r10, #8, r10\n\t" "strb r10, [r2], #1\n\t"
#define MCUQ_FC_STORE1_U                                                                     \
  "usat r10, #8, r10\n\t" "ldrd r4, r5, [sp, #16]\n\t" "usub8 r11, r10, r4\n\t"            \
  "sel r10, r4, r10\n\t" "uadd8 r10, r10, r5\n\t" "strb r10, [r2], #1\n\t"
/* r5 = the last r3 (1..3) bytes at r1 zero-padded, r1 advanced past them */
#define MCUQ_FC_TAIL                                                                         \
  "ldrb r5, [r1], #1\n\t" "cmp r3, #2\n\t"                                                   \
  "itt hs\n\t" "ldrbhs r6, [r1], #1\n\t" "orrhs r5, r5, r6, lsl #8\n\t"                      \
  "itt hi\n\t" "ldrbhi r6, [r1], #1\n\t" "orrhi r5, r5, r6, lsl #16\n\t"
#define MCUQ_FC_SMALL_FN(NAME, C)                                                            \
  void NAME(const mcuq_fc_small_params_t *p, const int8_t *input, int8_t *output,           \
            uint32_t *xs);                                                                   \
  __asm__(MCUQ_ASM_FUNC_BEGIN(NAME)                                                          \
          "push {r4-r11, lr}\n\t"                                                            \
          "sub sp, sp, #24\n\t"                                                              \
          "mov lr, r3\n\t"                                                                   \
          "ldr r4, [r0, #0]\n\t" /* batches */                                               \
          "strd r0, r4, [sp]\n\t"                                                            \
          MCUQ_FC_SETUP_##C                                                                  \
          "1:\n\t" /* a batch: r0 = p, r1 = its input row, r2 = its output row */            \
          "ldr r3, [r0, #4]\n\t" /* depth */                                                 \
          "ldr r12, [r0, #8]\n\t" /* out_depth */                                            \
          "cmp r12, #1\n\t"                                                                  \
          "beq 20f\n\t"                                                                      \
          "mov r0, lr\n\t" /* the row unpacked: (x0, x2), (x1, x3) per chunk */              \
          "lsrs r4, r3, #2\n\t"                                                              \
          "beq 6f\n"                                                                         \
          "5:\n\t"                                                                           \
          "ldr r5, [r1], #4\n\t"                                                             \
          "sxtb16 r6, r5\n\t"                                                                \
          "sxtb16 r7, r5, ror #8\n\t"                                                        \
          "strd r6, r7, [r0], #8\n\t"                                                        \
          "subs r4, r4, #1\n\t"                                                              \
          "bne 5b\n"                                                                         \
          "6:\n\t"                                                                           \
          "ands r3, r3, #3\n\t"                                                              \
          "beq 7f\n\t" MCUQ_FC_TAIL                                                          \
          "sxtb16 r6, r5\n\t"                                                                \
          "sxtb16 r7, r5, ror #8\n\t"                                                        \
          "strd r6, r7, [r0], #8\n"                                                          \
          "7:\n\t"                                                                           \
          "mov r3, r0\n\t"                                                                   \
          "str r1, [sp, #8]\n\t" /* the next input row */                                    \
          "ldr r0, [sp]\n\t"                                                                 \
          "ldr r1, [r0, #20]\n\t" /* stream */                                               \
          "bic r12, r12, #1\n\t"                                                             \
          "add r12, r12, r2\n"                                                               \
          "2:\n\t" /* a pair of rows */                                                      \
          "ldrd r10, r11, [r1], #8\n\t"                                                      \
          "mov r0, lr\n"                                                                     \
          "3:\n\t"                                                                           \
          "ldrd r8, r9, [r0], #8\n\t"                                                        \
          "ldmia r1!, {r4-r7}\n\t"                                                           \
          "smlad r10, r8, r4, r10\n\t"                                                       \
          "smlad r10, r9, r5, r10\n\t"                                                       \
          "smlad r11, r8, r6, r11\n\t"                                                       \
          "smlad r11, r9, r7, r11\n\t"                                                       \
          "cmp r0, r3\n\t"                                                                   \
          "bne 3b\n\t"                                                                       \
          "ldmia r1!, {r4-r9}\n\t"                                                           \
          MCUQ_FC_RQ("r10", "r4", "r5", "r6") MCUQ_FC_RQ("r11", "r7", "r8", "r9")            \
          MCUQ_FC_STORE2_##C                                                                 \
          "cmp r2, r12\n\t"                                                                  \
          "bne 2b\n\t"                                                                       \
          "ldr r0, [sp]\n\t"                                                                 \
          "ldr r4, [r0, #8]\n\t"                                                             \
          "tst r4, #1\n\t"                                                                   \
          "beq 9f\n\t"                                                                       \
          "ldr r10, [r1], #4\n\t" /* an odd last row */                                      \
          "mov r0, lr\n"                                                                     \
          "4:\n\t"                                                                           \
          "ldrd r8, r9, [r0], #8\n\t"                                                        \
          "ldrd r4, r5, [r1], #8\n\t"                                                        \
          "smlad r10, r8, r4, r10\n\t"                                                       \
          "smlad r10, r9, r5, r10\n\t"                                                       \
          "cmp r0, r3\n\t"                                                                   \
          "bne 4b\n\t"                                                                       \
          "ldmia r1!, {r4-r6}\n\t"                                                           \
          MCUQ_FC_RQ("r10", "r4", "r5", "r6") MCUQ_FC_STORE1_##C                             \
          "9:\n\t" /* the next batch */                                                      \
          "ldr r1, [sp, #8]\n\t"                                                             \
          "ldrd r0, r4, [sp]\n\t"                                                            \
          "subs r4, r4, #1\n\t"                                                              \
          "str r4, [sp, #4]\n\t"                                                             \
          "bne 1b\n\t"                                                                       \
          "add sp, sp, #24\n\t"                                                              \
          "pop {r4-r11, pc}\n"                                                               \
          "20:\n\t" /* one row: the input unpacked as it is read */                          \
          "ldr r0, [sp]\n\t"                                                                 \
          "ldr r0, [r0, #20]\n\t"                                                            \
          "ldr r10, [r0], #4\n\t"                                                            \
          "lsrs r4, r3, #2\n\t"                                                              \
          "beq 22f\n"                                                                        \
          "21:\n\t"                                                                          \
          "ldr r5, [r1], #4\n\t"                                                             \
          "ldrd r6, r7, [r0], #8\n\t"                                                        \
          "sxtb16 r8, r5\n\t"                                                                \
          "smlad r10, r8, r6, r10\n\t"                                                       \
          "sxtb16 r5, r5, ror #8\n\t"                                                        \
          "smlad r10, r5, r7, r10\n\t"                                                       \
          "subs r4, r4, #1\n\t"                                                              \
          "bne 21b\n"                                                                        \
          "22:\n\t"                                                                          \
          "ands r3, r3, #3\n\t"                                                              \
          "beq 23f\n\t" MCUQ_FC_TAIL                                                         \
          "ldrd r6, r7, [r0], #8\n\t"                                                        \
          "sxtb16 r8, r5\n\t"                                                                \
          "smlad r10, r8, r6, r10\n\t"                                                       \
          "sxtb16 r5, r5, ror #8\n\t"                                                        \
          "smlad r10, r5, r7, r10\n"                                                         \
          "23:\n\t"                                                                          \
          "ldmia r0!, {r4-r6}\n\t"                                                           \
          MCUQ_FC_RQ("r10", "r4", "r5", "r6") MCUQ_FC_STORE1_##C                             \
          "str r1, [sp, #8]\n\t"                                                             \
          "b 9b\n\t"                                                                         \
          MCUQ_ASM_FUNC_END(NAME));
/* Their stack (mcuq/footprint.py reads these lines; 9 registers saved, the 6-word frame):
 * mcuq-asm-frame: mcuq_fc_small_m4 60
 * mcuq-asm-frame: mcuq_fc_small_full_m4 60 */
MCUQ_FC_SMALL_FN(mcuq_fc_small_m4, U)
MCUQ_FC_SMALL_FN(mcuq_fc_small_full_m4, S)
#endif

void mcuq_fc_small_full_s8(const mcuq_fc_small_params_t *p, const int8_t *restrict input,
                           int8_t *restrict output) {
#if MCUQ_FC_SMALL_ASM
  uint32_t xs[MCUQ_FC_SCRATCH_BUF / 4];
  mcuq_fc_small_full_m4(p, input, output, xs);
#else
  mcuq_fc_small(p, input, output, 1);
#endif
}

void mcuq_fc_small_s8(const mcuq_fc_small_params_t *p, const int8_t *restrict input,
                      int8_t *restrict output) {
#if MCUQ_FC_SMALL_ASM
  uint32_t xs[MCUQ_FC_SCRATCH_BUF / 4];
  mcuq_fc_small_m4(p, input, output, xs);
#else
  mcuq_fc_small(p, input, output, 0);
#endif
}
