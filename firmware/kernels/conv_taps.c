#include "conv_taps.h"

#include <stddef.h>

#include "mcuq_buffers.h"
#include "mcuq_fixedpoint.h"

#if MCUQ_TAPS_RING_BUF > 4 /* a project with no taps conv (mcuq_buffers.h) leaves it out */

#if defined(__GNUC__)
#define MCUQ_NOINLINE_TAPS __attribute__((noinline))
#else
#define MCUQ_NOINLINE_TAPS
#endif

#if MCUQ_ASM && !(MCUQ_SINGLE_ROUNDING && MCUQ_SR_TIE_ADJUST)
#define MCUQ_TAPS_ASM 1
#else
#define MCUQ_TAPS_ASM 0
#endif

/* One output row of mcuq_conv_taps3_s8 (filter rows of 3 taps, k_h == 3): the three ring rows
 * at the row's first pixel (advanced by step bytes a pixel), the table (the assembly: bit 0
 * set for an odd channel count), its end, the row's output bytes. */
typedef struct {
  const int16_t *a, *b, *c;
  int32_t step;
  const int32_t *t, *tend;
  int8_t *out, *out_end;
} mcuq_taps_row_t;

#if MCUQ_TAPS_ASM
/* Every output channel of one pixel, in assembly (mcuq_taps_channels below is the same
 * arithmetic in C: the host tests prove it, QEMU proves these). Arguments: x (the patch's 5
 * words), t (the table; bit 0 set: an odd channel count, the loop entered at its second
 * half), end (the table's end), out. The patch stays in r4-r8; per channel one LDM of the
 * doubled bias and weight words, 5 SMLAD, one LDM of (m, ra, e) (and cap, lo), mcuq_rqc2
 * (ADD of the sign, SMMLAR, ASR; single rounding SMMLA, ASR), SSAT (full range) or USAT,
 * USUB8 + SEL (the cap) and ADD (lo), one STRB. Two channels per iteration. */
#if MCUQ_SINGLE_ROUNDING
#define MCUQ_TAPS_RQ "smmla r10, r0, r9, r10\n\t" "asr r10, r10, r11\n\t"
#elif defined(MCUQ_TEST_ROUNDING_FAULT)
#define MCUQ_TAPS_RQ "smmlar r10, r0, r9, r10\n\t" "asr r10, r10, r11\n\t" /* no sign term */
#else
#define MCUQ_TAPS_RQ                                                                          \
  "add r10, r10, r0, asr #31\n\t"                                                             \
  "smmlar r10, r0, r9, r10\n\t"                                                               \
  "asr r10, r10, r11\n\t"
#endif
#define MCUQ_TAPS_MAC                                                                         \
  "ldm r1!, {r0, r9, r10, r11, r12, lr}\n\t"                                                  \
  "smlad r0, r4, r9, r0\n\t"                                                                  \
  "smlad r0, r5, r10, r0\n\t"                                                                 \
  "smlad r0, r6, r11, r0\n\t"                                                                 \
  "smlad r0, r7, r12, r0\n\t"                                                                 \
  "smlad r0, r8, lr, r0\n\t"
#define MCUQ_TAPS_ONE_S                                                                       \
  MCUQ_TAPS_MAC "ldm r1!, {r9, r10, r11}\n\t" MCUQ_TAPS_RQ "ssat r0, #8, r10\n\t"             \
                "strb r0, [r3], #1\n\t"
#define MCUQ_TAPS_ONE_U                                                                       \
  MCUQ_TAPS_MAC "ldm r1!, {r9, r10, r11, r12, lr}\n\t" MCUQ_TAPS_RQ "usat r0, #8, r10\n\t"    \
                "usub8 r9, r0, r12\n\t"                                                       \
                "sel r0, r12, r0\n\t"                                                         \
                "add r0, r0, lr\n\t"                                                          \
                "strb r0, [r3], #1\n\t"
#define MCUQ_TAPS_FN(NAME, C)                                                                 \
  void NAME(const uint32_t *x, const int32_t *t, const int32_t *end, int8_t *out);           \
  __asm__(MCUQ_ASM_FUNC_BEGIN(NAME)                                                           \
          "push {r4-r11, lr}\n\t"                                                             \
          "ldm r0, {r4, r5, r6, r7, r8}\n\t"                                                  \
          "tst r1, #1\n\t"                                                                    \
          "bic r1, r1, #1\n\t"                                                                \
          "bne 2f\n"                                                                          \
          "1:\n\t" MCUQ_TAPS_ONE_##C "2:\n\t" MCUQ_TAPS_ONE_##C                               \
          "cmp r1, r2\n\t"                                                                    \
          "bne 1b\n\t"                                                                        \
          "pop {r4-r11, pc}\n\t"                                                              \
          MCUQ_ASM_FUNC_END(NAME));
/* One output row of a layer whose filter rows are 3 taps (3x3 on one channel, 3x1 on three)
 * and k_h == 3: per pixel its patch from the three ring rows (three LDR of tap pairs, the last
 * taps: LDR, LDR, PKHBT and LDR), then every channel as above. The state lives in the frame
 * (mcuq_taps_row_t, copied there): row pointers a, b, c (advanced by step bytes a pixel), the
 * table (bit 0: odd channel count), its end, out, out_end. */
typedef char mcuq_taps_row_check[sizeof(mcuq_taps_row_t) == 32 ? 1 : -1];
#define MCUQ_TAPS_ROW_FN(NAME, C)                                                             \
  void NAME(const mcuq_taps_row_t *r);                                                        \
  __asm__(MCUQ_ASM_FUNC_BEGIN(NAME)                                                           \
          "push {r4-r11, lr}\n\t"                                                             \
          "ldm r0, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"                                      \
          "push {r1, r2, r3, r4, r5, r6, r7, r8}\n"                                            \
          "1:\n\t"                                                                             \
          "ldm sp, {r0, r1, r2, r3}\n\t"                                                       \
          "ldr r4, [r0]\n\t"                                                                   \
          "ldr r5, [r1]\n\t"                                                                   \
          "ldr r6, [r2]\n\t"                                                                   \
          "ldr r7, [r0, #4]\n\t"                                                               \
          "ldr lr, [r1, #2]\n\t"                                                               \
          "pkhbt r7, r7, lr\n\t"                                                               \
          "ldr r8, [r2, #4]\n\t"                                                               \
          "add r0, r0, r3\n\t"                                                                 \
          "add r1, r1, r3\n\t"                                                                 \
          "add r2, r2, r3\n\t"                                                                 \
          "stm sp, {r0, r1, r2}\n\t"                                                           \
          "ldrd r1, r2, [sp, #16]\n\t"                                                         \
          "ldr r3, [sp, #24]\n\t"                                                              \
          "tst r1, #1\n\t"                                                                     \
          "bic r1, r1, #1\n\t"                                                                 \
          "bne 3f\n"                                                                            \
          "2:\n\t" MCUQ_TAPS_ONE_##C "3:\n\t" MCUQ_TAPS_ONE_##C                                 \
          "cmp r1, r2\n\t"                                                                     \
          "bne 2b\n\t"                                                                         \
          "ldr r0, [sp, #28]\n\t"                                                              \
          "str r3, [sp, #24]\n\t"                                                              \
          "cmp r3, r0\n\t"                                                                     \
          "bne 1b\n\t"                                                                         \
          "add sp, sp, #32\n\t"                                                                \
          "pop {r4-r11, pc}\n\t"                                                               \
          MCUQ_ASM_FUNC_END(NAME));
/* Their stack (mcuq/footprint.py reads these lines; 9 registers saved, the 8-word frame):
 * mcuq-asm-frame: mcuq_taps_full_m4 36
 * mcuq-asm-frame: mcuq_taps_clamp_m4 36
 * mcuq-asm-frame: mcuq_taps_row3_full_m4 68
 * mcuq-asm-frame: mcuq_taps_row3_clamp_m4 68 */
MCUQ_TAPS_FN(mcuq_taps_full_m4, S)
MCUQ_TAPS_FN(mcuq_taps_clamp_m4, U)
MCUQ_TAPS_ROW_FN(mcuq_taps_row3_full_m4, S)
MCUQ_TAPS_ROW_FN(mcuq_taps_row3_clamp_m4, U)
#else
/* Every output channel of one pixel from its patch x (what the mcuq_taps_*_m4 do); an exotic
 * channel (e < 0) gets a placeholder, mcuq_taps_exotic writes it afterwards. */
static void mcuq_taps_channels(const uint32_t *x, const int32_t *t, const int32_t *end,
                               int8_t *out, int full) {
  const int32_t tw = full ? MCUQ_TAPS_FULL_WORDS : MCUQ_TAPS_CLAMP_WORDS;
  for (; t < end; t += tw, ++out) {
    int32_t a = t[0];
    for (int32_t j = 0; j < MCUQ_TAPS_WORDS; ++j) a = mcuq_smlad(x[j], (uint32_t)t[1 + j], a);
    if (t[8] < 0) {
      *out = 0;
      continue;
    }
    const int32_t v = mcuq_rqc2(a, t + 6);
    if (full) {
      *out = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    } else {
      uint32_t u = mcuq_usat8(v);
      if (u > (uint32_t)t[9]) u = (uint32_t)t[9];
      *out = (int8_t)(uint8_t)(u + (uint32_t)t[10]);
    }
  }
}
#endif

/* The exotic channels (e < 0) of one pixel, again with TFLM's arithmetic: the folded bias and
 * the (halved) weights of the table, p->multiplier and p->shift. */
MCUQ_NOINLINE_TAPS static void mcuq_taps_exotic(const mcuq_conv_params_t *p, const uint32_t *x,
                                                const int32_t *t, int32_t tw,
                                                const int32_t *bias, int8_t *out) {
  for (int32_t c = 0; c < p->out_c; ++c, t += tw) {
    if (t[8] >= 0) continue;
    uint32_t a = (uint32_t)bias[c];
    for (int32_t j = 0; j < MCUQ_TAPS_WORDS; ++j) {
      const uint32_t w = (uint32_t)t[1 + j];
      a += (uint32_t)((int32_t)(int16_t)(x[j] & 0xffffu) * ((int32_t)(int16_t)(w & 0xffffu) / 2));
      a += (uint32_t)((int32_t)(int16_t)(x[j] >> 16) * ((int32_t)(int16_t)(w >> 16) / 2));
    }
    const int32_t v = mcuq_add_wrap(mcuq_mbqm((int32_t)a, p->multiplier[c], p->shift[c]),
                                    p->output_offset);
    out[c] = (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
  }
}

/* cols int8 values from s, sign-extended into d (int16). */
static inline void mcuq_taps_unpack(int16_t *d, const int8_t *s, int32_t n) {
  const int8_t *const end4 = s + (n & ~3);
  for (; s != end4; d += 4, s += 4) {
    const uint32_t v = mcuq_load4(s);
    const uint32_t e = mcuq_sxtb16(v), o = mcuq_sxtb16_ror8(v); /* (b0, b2), (b1, b3) */
#if MCUQ_ASM
    uint32_t w0, w1;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(w0) : "r"(e), "r"(o));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(w1) : "r"(o), "r"(e));
#else
    const uint32_t w0 = (e & 0xffffu) | (o << 16), w1 = (e >> 16) | (o & 0xffff0000u);
#endif
    mcuq_store4((int8_t *)d, w0);
    mcuq_store4((int8_t *)(d + 2), w1);
  }
  for (n &= 3; n > 0; --n) *d++ = *s++;
}

/* The patch at element offset off of the filter rows (the order of conv_taps.h). */
static inline void mcuq_taps_patch(const int16_t *const *rows, int32_t k_h, int32_t pairs,
                                   int32_t rb, int32_t off, uint32_t *x) {
  if (k_h == 3 && pairs == 1 && rb == 3) { /* 3x3 on one channel (or 3x1 on three) */
    const int16_t *a = rows[0] + off, *b = rows[1] + off, *c = rows[2] + off;
    x[0] = mcuq_load4((const int8_t *)a);
    x[1] = mcuq_load4((const int8_t *)b);
    x[2] = mcuq_load4((const int8_t *)c);
    x[3] = (uint32_t)(uint16_t)a[2] | (uint32_t)(uint16_t)b[2] << 16;
    x[4] = (uint32_t)(uint16_t)c[2];
    return;
  }
  for (int32_t ky = 0; ky < k_h; ++ky) {
    const int16_t *s = rows[ky] + off;
    for (int32_t j = 0; j < pairs; ++j, s += 2) *x++ = mcuq_load4((const int8_t *)s);
  }
  if (!(rb & 1)) return;
  for (int32_t ky = 0; ky < k_h; ky += 2) {
    const uint32_t lo = (uint16_t)rows[ky][off + rb - 1];
    const uint32_t hi = ky + 1 < k_h ? (uint16_t)rows[ky + 1][off + rb - 1] : 0u;
    *x++ = lo | hi << 16;
  }
}

#if !MCUQ_TAPS_ASM
/* mcuq_taps_row3_*_m4 in C: per pixel the patch, then every channel. */
static void mcuq_taps_row3(const mcuq_taps_row_t *r, int full) {
  const int16_t *a = r->a, *b = r->b, *c = r->c;
  const int32_t step = r->step / 2;
  const int32_t tw = full ? MCUQ_TAPS_FULL_WORDS : MCUQ_TAPS_CLAMP_WORDS;
  const int32_t out_c = (int32_t)(r->tend - r->t) / tw;
  uint32_t x[MCUQ_TAPS_WORDS];
  for (int8_t *out = r->out; out != r->out_end; out += out_c, a += step, b += step, c += step) {
    x[0] = mcuq_load4((const int8_t *)a);
    x[1] = mcuq_load4((const int8_t *)b);
    x[2] = mcuq_load4((const int8_t *)c);
    x[3] = (uint32_t)(uint16_t)a[2] | (uint32_t)(uint16_t)b[2] << 16;
    x[4] = (uint32_t)(uint16_t)c[2];
    mcuq_taps_channels(x, r->t, r->tend, out, full);
  }
}
#endif

/* Filter rows of 3 taps, k_h == 3, no exotic channel: the rows in assembly (or
 * mcuq_taps_row3), this loop only copying the input rows into a ring of 3 rows (a lean loop:
 * its state fits the registers). */
MCUQ_NOINLINE_TAPS static void mcuq_taps_rows3(const mcuq_conv_params_t *p,
                                               const int8_t *input, const int32_t *table,
                                               int8_t *output, int reverse) {
  const int32_t in_c = p->in_c, in_w = p->in_w, out_c = p->out_c, out_w = p->out_w;
  const int32_t out_h = p->out_h, sh = p->stride_h, in_h = p->in_h, pad_h = p->pad_h;
  const int32_t W = (out_w - 1) * p->stride_w + p->k_w;
  const int32_t stride = (W * in_c + 3) & ~1;
  const int32_t x0 = p->pad_w < W ? p->pad_w : W;
  const int32_t n = ((p->pad_w + in_w < W ? p->pad_w + in_w : W) - x0) * in_c;
  const int32_t row_in = in_w * in_c, out_row = out_w * out_c;
  const int full = p->act_min == -128 && p->act_max == 127;
  int16_t ring[MCUQ_TAPS_RING_BUF / 2]; /* 3 rows: a row of the padding holds zero points */
  const uint32_t z2 = (uint32_t)(uint16_t)p->input_zero_point * 0x10001u;
  for (int32_t i = 0; i < 3 * stride; i += 2) mcuq_store4((int8_t *)(ring + i), z2);
  mcuq_taps_row_t row;
  row.step = 2 * p->stride_w * in_c;
#if MCUQ_TAPS_ASM
  row.t = (const int32_t *)((uintptr_t)table | (uintptr_t)(out_c & 1)); /* bit 0: odd */
#else
  row.t = table;
#endif
  row.tend = table + out_c * (full ? MCUQ_TAPS_FULL_WORDS : MCUQ_TAPS_CLAMP_WORDS);
  const int32_t dy = reverse ? -1 : 1;
  for (int32_t bb = 0; bb < p->batches; ++bb) {
    const int32_t b = reverse ? p->batches - 1 - bb : bb;
    const int8_t *const in_b = input + b * in_h * row_in;
    int32_t oy = reverse ? out_h - 1 : 0;
    int8_t *out = output + (b * out_h + oy) * out_row;
    int32_t lo = reverse ? INT32_MAX : 0, hi = lo; /* padded rows [lo, hi) are in the ring */
    for (int32_t k = 0; k < out_h; ++k, oy += dy, out += dy * out_row) {
      const int32_t top = oy * sh, end = top + 3;
      int32_t r0 = reverse ? top : (hi > top ? hi : top);
      int32_t r1 = reverse ? (lo < end ? lo : end) : end;
      lo = top;
      hi = end;
      for (int32_t r = r0; r < r1; ++r) { /* an image row, or zero points */
        int16_t *const d = ring + (r % 3) * stride;
        if ((uint32_t)(r - pad_h) < (uint32_t)in_h) {
          mcuq_taps_unpack(d + x0 * in_c, in_b + (r - pad_h) * row_in, n);
        } else {
          for (int32_t i = 0; i < stride; i += 2) mcuq_store4((int8_t *)(d + i), z2);
        }
      }
      const int32_t slot = top % 3;
      row.a = ring + slot * stride;
      row.b = slot == 2 ? ring : row.a + stride;
      row.c = slot == 0 ? ring + 2 * stride : (slot == 1 ? ring : row.a - stride);
      row.out = out;
      row.out_end = out + out_row;
#if MCUQ_TAPS_ASM
      if (full) {
        mcuq_taps_row3_full_m4(&row);
      } else {
        mcuq_taps_row3_clamp_m4(&row);
      }
#else
      mcuq_taps_row3(&row, full);
#endif
    }
  }
}

/* Any other layer: pixel by pixel (the channels in assembly), exotic channels afterwards. */
MCUQ_NOINLINE_TAPS static void mcuq_taps_any(const mcuq_conv_params_t *p, const int8_t *input,
                                             const int32_t *table, const int32_t *bias,
                                             int8_t *output, int reverse) {
  const int32_t in_c = p->in_c, in_w = p->in_w, out_c = p->out_c, out_w = p->out_w;
  const int32_t k_h = p->k_h, sh = p->stride_h, out_h = p->out_h;
  const int32_t R = k_h;
  const int32_t W = (out_w - 1) * p->stride_w + p->k_w;
  const int32_t stride = (W * in_c + 3) & ~1; /* int16 elements: a pair read past a row's end */
  const int32_t x0 = p->pad_w < W ? p->pad_w : W;
  const int32_t cols = (p->pad_w + in_w < W ? p->pad_w + in_w : W) - x0;
  const int32_t rb = p->k_w * in_c, pairs = rb >> 1, step = p->stride_w * in_c;
  const int full = p->act_min == -128 && p->act_max == 127;
  const int32_t tw = full ? MCUQ_TAPS_FULL_WORDS : MCUQ_TAPS_CLAMP_WORDS;
  const int32_t *const tend = table + out_c * tw;
#if MCUQ_TAPS_ASM /* bit 0: an odd channel count */
  const int32_t *const tstart = (const int32_t *)((uintptr_t)table | (uintptr_t)(out_c & 1));
#endif
  int16_t ring[MCUQ_TAPS_RING_BUF / 2];
  const int16_t *rows[MCUQ_TAPS_ROWS];
  uint32_t x[MCUQ_TAPS_WORDS] = {0, 0, 0, 0, 0};
  int16_t *const zrow = ring + R * stride;
  const uint32_t z2 = (uint32_t)(uint16_t)p->input_zero_point * 0x10001u;
  for (int32_t i = 0; i < (R + 1) * stride; i += 2) mcuq_store4((int8_t *)(ring + i), z2);
  const int32_t in_h = p->in_h, pad_h = p->pad_h, n = cols * in_c, row_in = in_w * in_c;
  int16_t *const ring_x0 = ring + x0 * in_c;
  for (int32_t bb = 0; bb < p->batches; ++bb) {
    const int32_t b = reverse ? p->batches - 1 - bb : bb;
    const int8_t *in_b = input + b * in_h * row_in;
    int8_t *out_b = output + b * out_h * out_w * out_c;
    int32_t lo = reverse ? INT32_MAX : 0, hi = lo; /* padded rows [lo, hi) are in the ring */
    for (int32_t k = 0; k < out_h; ++k) {
      const int32_t oy = reverse ? out_h - 1 - k : k;
      const int32_t top = oy * sh, end = top + R;
      /* the rows not in the ring yet (below it going forward, above it going back) that
       * lie in the image: padded rows [pad_h, pad_h + in_h) */
      int32_t r0 = reverse ? top : (hi > top ? hi : top);
      int32_t r1 = reverse ? (lo < end ? lo : end) : end;
      if (r0 < pad_h) r0 = pad_h;
      if (r1 > pad_h + in_h) r1 = pad_h + in_h;
      if (n > 0 && r0 < r1) {
        int32_t slot = r0 % R;
        const int8_t *src = in_b + (r0 - pad_h) * row_in;
        for (int32_t r = r0; r < r1; ++r, src += row_in) {
          mcuq_taps_unpack(ring_x0 + slot * stride, src, n);
          if (++slot == R) slot = 0;
        }
      }
      lo = top;
      hi = end;
      for (int32_t ky = 0, slot = top % R, iy = top - pad_h; ky < k_h; ++ky, ++iy) {
        rows[ky] = (uint32_t)iy < (uint32_t)in_h ? ring + slot * stride : zrow;
        if (++slot == R) slot = 0;
      }
      int8_t *out = out_b + oy * out_w * out_c;
#if MCUQ_TAPS_ASM
      if (k_h == 3 && rb == 3) { /* the row in assembly, then the exotic channels */
        mcuq_taps_row_t row = {rows[0], rows[1], rows[2], 2 * step, tstart, tend, out,
                               out + out_w * out_c};
        if (full) {
          mcuq_taps_row3_full_m4(&row);
        } else {
          mcuq_taps_row3_clamp_m4(&row);
        }
        for (int32_t ox = 0, off = 0; p->n_exotic && ox < out_w; ++ox, off += step) {
          mcuq_taps_patch(rows, k_h, pairs, rb, off, x);
          mcuq_taps_exotic(p, x, table, tw, bias, out + ox * out_c);
        }
        continue;
      }
#endif
      for (int32_t ox = 0, off = 0; ox < out_w; ++ox, off += step, out += out_c) {
        mcuq_taps_patch(rows, k_h, pairs, rb, off, x);
#if MCUQ_TAPS_ASM
        if (full) {
          mcuq_taps_full_m4(x, tstart, tend, out);
        } else {
          mcuq_taps_clamp_m4(x, tstart, tend, out);
        }
#else
        mcuq_taps_channels(x, table, tend, out, full);
#endif
        if (p->n_exotic) mcuq_taps_exotic(p, x, table, tw, bias, out);
      }
    }
  }
}
void mcuq_conv_taps_s8(const mcuq_conv_params_t *p, const int8_t *input, const int32_t *table,
                       const int32_t *bias, int8_t *output, int reverse) {
  mcuq_taps_any(p, input, table, bias, output, reverse);
}

void mcuq_conv_taps3_s8(const mcuq_conv_params_t *p, const int8_t *input, const int32_t *table,
                        int8_t *output, int reverse) {
  mcuq_taps_rows3(p, input, table, output, reverse);
}
#endif
