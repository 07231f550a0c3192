#include "conv.h"

#include "mcuq_buffers.h"
#include "mcuq_fixedpoint.h"

/* The generic paths stay out of line: inlined into the dispatcher they would give it (and every
 * fast path through it) their stack frame. */
#if defined(__GNUC__)
#define MCUQ_NOINLINE __attribute__((noinline))
#else
#define MCUQ_NOINLINE
#endif

/* Depthwise output channels accumulated together by the generic path (a fixed-size block on
 * the stack keeps the contiguous channel axis innermost without a scratch buffer). */
#define MCUQ_DW_BLOCK 32

/* Generic requantization: any shift, so the offset addition can wrap (as TFLM's does). */
static inline int8_t mcuq_conv_out(int32_t acc, int32_t multiplier, int32_t shift,
                                   const mcuq_conv_params_t *p) {
  const int32_t v = mcuq_add_wrap(mcuq_mbqm(acc, multiplier, shift), p->output_offset);
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

/* Output channel c of a fast path: the table (mcuq_rq) unless the emitter marked the channel
 * exotic (rq[2] < 0: shift >= -1 or outside the folded offset's range). */
static inline int8_t mcuq_conv_one(int32_t acc, const int32_t *rq, int32_t c,
                                   const mcuq_conv_params_t *p) {
  if (rq[2] < 0) return mcuq_conv_out(acc, p->multiplier[c], p->shift[c], p);
  return mcuq_out_byte(mcuq_rq(acc, rq), p->act_max - p->act_min, p->act_min);
}

/* First and one-past-last filter tap k with 0 <= origin + k * dil < size. */
static inline void mcuq_valid_taps(int32_t origin, int32_t dil, int32_t size, int32_t taps,
                                   int32_t *lo, int32_t *hi) {
  int32_t a = origin < 0 ? (-origin + dil - 1) / dil : 0;
  int32_t b = size - origin <= 0 ? 0 : (size - origin + dil - 1) / dil;
  if (b > taps) b = taps;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* sum x[i] * w[i] modulo 2^32 (each product fits int32; the sum may wrap, as in TFLM). */
static inline int32_t mcuq_dot_s8(const int8_t *restrict x, const int8_t *restrict w,
                                  int32_t n) {
  uint32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (uint32_t)((int32_t)x[i] * (int32_t)w[i]);
  return (int32_t)acc;
}

/* Small copies and fills, word by word (no library call: newlib-nano's are bytewise). */
static inline void mcuq_copy_bytes(int8_t *restrict d, const int8_t *restrict s, int32_t n) {
  for (; n >= 4; n -= 4, d += 4, s += 4) mcuq_store4(d, mcuq_load4(s));
  if (n & 2) {
    d[0] = s[0];
    d[1] = s[1];
    d += 2;
    s += 2;
  }
  if (n & 1) d[0] = s[0];
}

static inline void mcuq_fill_bytes(int8_t *d, uint32_t v4, int32_t n) {
  for (; n >= 4; n -= 4, d += 4) mcuq_store4(d, v4);
  if (n & 2) {
    d[0] = (int8_t)v4;
    d[1] = (int8_t)v4;
    d += 2;
  }
  if (n & 1) d[0] = (int8_t)v4;
}

/* 4 int8 -> 2 words of int16 pairs: (b0, b2) and (b1, b3), the order SXTB16 gives. */
static inline void mcuq_unpack4(uint32_t *d, uint32_t v) {
  d[0] = mcuq_sxtb16(v);
  d[1] = mcuq_sxtb16_ror8(v);
}

/* ===== CONV_2D ============================================================================= */

/* The patch of output pixel (oy, ox) in OHWI tap order; taps in the padding hold the zero
 * point, the k_padded - K tail holds zeros (its weights are zero). */
static void mcuq_im2col(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t oy,
                        int32_t ox, int8_t *col) {
  const int32_t in_c = p->in_c, k_w = p->k_w;
  const int32_t row_bytes = k_w * in_c;
  const uint32_t zp4 = mcuq_rep4(p->input_zero_point);
  const int32_t iy0 = oy * p->stride_h - p->pad_h;
  const int32_t ix0 = ox * p->stride_w - p->pad_w;
  const int32_t tail = p->k_padded - p->k_h * row_bytes;
  int8_t *d = col;
  if (p->dil_w == 1 && iy0 >= 0 && ix0 >= 0 && ix0 + k_w <= p->in_w &&
      iy0 + (p->k_h - 1) * p->dil_h < p->in_h) { /* interior: whole filter rows, no checks */
    const int32_t step = p->dil_h * p->in_w * in_c;
    const int8_t *s = in_b + (iy0 * p->in_w + ix0) * in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky, d += row_bytes, s += step)
      mcuq_copy_bytes(d, s, row_bytes);
    mcuq_fill_bytes(d, 0, tail);
    return;
  }
  int32_t kx0, kx1;
  mcuq_valid_taps(ix0, p->dil_w, p->in_w, k_w, &kx0, &kx1);
  for (int32_t ky = 0; ky < p->k_h; ++ky, d += row_bytes) {
    const int32_t iy = iy0 + ky * p->dil_h;
    if (iy < 0 || iy >= p->in_h || kx0 == kx1) {
      mcuq_fill_bytes(d, zp4, row_bytes);
      continue;
    }
    mcuq_fill_bytes(d, zp4, kx0 * in_c);
    const int8_t *row = in_b + iy * p->in_w * in_c;
    if (p->dil_w == 1) {
      mcuq_copy_bytes(d + kx0 * in_c, row + (ix0 + kx0) * in_c, (kx1 - kx0) * in_c);
    } else {
      for (int32_t kx = kx0; kx < kx1; ++kx)
        mcuq_copy_bytes(d + kx * in_c, row + (ix0 + kx * p->dil_w) * in_c, in_c);
    }
    mcuq_fill_bytes(d + kx1 * in_c, zp4, (k_w - kx1) * in_c);
  }
  mcuq_fill_bytes(d, 0, tail);
}

/* The patch of output pixel (oy, ox), unpacked to int16 pairs, into the interleaved buffer x:
 * chunk j (4 patch bytes) of pixel a is x[4j], x[4j + 1], of pixel b x[4j + 2], x[4j + 3]
 * (slot 0 or 2). Path 2 reads the input pixel itself, path 1 gathers the patch into col. */
static inline void mcuq_patch(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t oy,
                              int32_t ox, uint32_t *x, int8_t *col) {
  const int32_t kp = p->k_padded;
  const int8_t *s;
  if (p->mode == 2) {
    s = in_b + (oy * p->stride_h * p->in_w + ox * p->stride_w) * p->in_c;
  } else {
    mcuq_im2col(p, in_b, oy, ox, col);
    s = col;
  }
  for (int32_t k = 0; k < kp; k += 4, x += 4) mcuq_unpack4(x, mcuq_load4(s + k));
}

/* Two patches (x interleaved, 4 words per chunk) times the weight words of two channels (w: 2
 * words per chunk): 16 multiply-accumulates per chunk. The Cortex-M build runs the loop as
 * written below in assembly (post-incremented loads GCC does not form by itself: 18
 * instructions per chunk instead of 20); every other build runs the C. */
static inline void mcuq_mac_2x2(const uint32_t *x, const uint32_t *w, int32_t chunks,
                                int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
#if MCUQ_ASM
  uint32_t xa0, xa1, xb0, xb1, t, e;
  __asm__ volatile(
      "1:\n\t"
      "ldrd %[xa0], %[xa1], [%[x]], #8\n\t"
      "ldrd %[xb0], %[xb1], [%[x]], #8\n\t"
      "ldr %[t], [%[w]], #4\n\t"
      "sxtb16 %[e], %[t]\n\t"
      "smlad %[s00], %[xa0], %[e], %[s00]\n\t"
      "smlad %[s01], %[xb0], %[e], %[s01]\n\t"
      "sxtb16 %[e], %[t], ror #8\n\t"
      "smlad %[s00], %[xa1], %[e], %[s00]\n\t"
      "smlad %[s01], %[xb1], %[e], %[s01]\n\t"
      "ldr %[t], [%[w]], #4\n\t"
      "sxtb16 %[e], %[t]\n\t"
      "smlad %[s10], %[xa0], %[e], %[s10]\n\t"
      "smlad %[s11], %[xb0], %[e], %[s11]\n\t"
      "sxtb16 %[e], %[t], ror #8\n\t"
      "smlad %[s10], %[xa1], %[e], %[s10]\n\t"
      "smlad %[s11], %[xb1], %[e], %[s11]\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b\n\t"
      : [x] "+r"(x), [w] "+r"(w), [n] "+r"(chunks), [s00] "+r"(s00), [s01] "+r"(s01),
        [s10] "+r"(s10), [s11] "+r"(s11), [xa0] "=&r"(xa0), [xa1] "=&r"(xa1),
        [xb0] "=&r"(xb0), [xb1] "=&r"(xb1), [t] "=&r"(t), [e] "=&r"(e)
      : "m"(*(const uint32_t(*)[MCUQ_CONV_COL_BUF])x)
      : "cc");
#else
  for (int32_t j = 0; j < chunks; ++j, w += 2, x += 4) {
    uint32_t e = mcuq_sxtb16(w[0]);
    s00 = mcuq_smlad(x[0], e, s00);
    s01 = mcuq_smlad(x[2], e, s01);
    e = mcuq_sxtb16_ror8(w[0]);
    s00 = mcuq_smlad(x[1], e, s00);
    s01 = mcuq_smlad(x[3], e, s01);
    e = mcuq_sxtb16(w[1]);
    s10 = mcuq_smlad(x[0], e, s10);
    s11 = mcuq_smlad(x[2], e, s11);
    e = mcuq_sxtb16_ror8(w[1]);
    s10 = mcuq_smlad(x[1], e, s10);
    s11 = mcuq_smlad(x[3], e, s11);
  }
#endif
  *a00 = s00;
  *a01 = s01;
  *a10 = s10;
  *a11 = s11;
}

/* Two patches times the weight words of one channel (w: 1 word per chunk). */
static inline void mcuq_mac_2x1(const uint32_t *x, const uint32_t *w, int32_t chunks,
                                int32_t *a00, int32_t *a01) {
  int32_t s00 = *a00, s01 = *a01;
  for (int32_t j = 0; j < chunks; ++j, ++w, x += 4) {
    const uint32_t e = mcuq_sxtb16(w[0]), o = mcuq_sxtb16_ror8(w[0]);
    s00 = mcuq_smlad(x[0], e, s00);
    s00 = mcuq_smlad(x[1], o, s00);
    s01 = mcuq_smlad(x[2], e, s01);
    s01 = mcuq_smlad(x[3], o, s01);
  }
  *a00 = s00;
  *a01 = s01;
}

/* Channels c and c + 1 of one pixel as two bytes (one halfword store). */
static inline void mcuq_conv_store2(int8_t *out, int32_t a0, int32_t a1, const int32_t *rq,
                                    int32_t c, const mcuq_conv_params_t *p, uint32_t cap4,
                                    uint32_t lo4) {
  if ((rq[2] | rq[MCUQ_RQ_WORDS + 2]) < 0) { /* an exotic channel: per channel */
    out[0] = mcuq_conv_one(a0, rq, c, p);
    out[1] = mcuq_conv_one(a1, rq + MCUQ_RQ_WORDS, c + 1, p);
    return;
  }
  mcuq_store2(out, mcuq_rq2(a0, a1, rq, cap4, lo4));
}

/* Every output channel of two pixels (oa, ob; ob == NULL: the last pixel of an odd count) from
 * their interleaved patches x. Out of line: the channel loop then keeps its pointers in
 * registers. */
MCUQ_NOINLINE static void mcuq_conv_channels(const mcuq_conv_params_t *p, const uint32_t *x,
                                             const uint32_t *w, const int32_t *bias,
                                             int8_t *oa, int8_t *ob, int exotic) {
  const int32_t out_c = p->out_c, chunks = p->k_padded >> 2;
  const uint32_t cap4 = mcuq_rep4(p->act_max - p->act_min), lo4 = mcuq_rep4(p->act_min);
  const int32_t *rq = p->rq;
  int32_t c = 0;
  for (; c + 2 <= out_c; c += 2, w += 2 * chunks, rq += 2 * MCUQ_RQ_WORDS) {
    int32_t a00 = bias[c], a01 = bias[c], a10 = bias[c + 1], a11 = bias[c + 1];
    mcuq_mac_2x2(x, w, chunks, &a00, &a01, &a10, &a11);
    if (exotic) {
      mcuq_conv_store2(oa + c, a00, a10, rq, c, p, cap4, lo4);
      if (ob) mcuq_conv_store2(ob + c, a01, a11, rq, c, p, cap4, lo4);
    } else {
      mcuq_store2(oa + c, mcuq_rq2(a00, a10, rq, cap4, lo4));
      if (ob) mcuq_store2(ob + c, mcuq_rq2(a01, a11, rq, cap4, lo4));
    }
  }
  if (c < out_c) {
    int32_t a00 = bias[c], a01 = bias[c];
    mcuq_mac_2x1(x, w, chunks, &a00, &a01);
    oa[c] = mcuq_conv_one(a00, rq, c, p);
    if (ob) ob[c] = mcuq_conv_one(a01, rq, c, p);
  }
}

static void mcuq_conv_packed(const mcuq_conv_params_t *p, const int8_t *restrict input,
                             const int8_t *restrict weights, const int32_t *restrict bias,
                             int8_t *restrict output) {
  const int32_t out_c = p->out_c;
  const int32_t out_w = p->out_w, pixels = p->out_h * out_w;
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  uint32_t x[MCUQ_CONV_COL_BUF]; /* two patches, interleaved per chunk (kp words) */
  int8_t col[MCUQ_CONV_COL_BUF]; /* path 1: one gathered int8 patch */
  int exotic = 0; /* any channel the table cannot requantize */
  for (int32_t c = 0; c < out_c; ++c) exotic |= p->rq[c * MCUQ_RQ_WORDS + 2] < 0;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * p->in_c;
    int8_t *out_b = output + b * pixels * out_c;
    int32_t oy = 0, ox = 0;
    for (int32_t pix = 0; pix < pixels; pix += 2) {
      const int two = pix + 1 < pixels;
      mcuq_patch(p, in_b, oy, ox, x, col);
      if (two && ++ox == out_w) ox = 0, ++oy;
      mcuq_patch(p, in_b, oy, ox, x + 2, col); /* the last pixel of an odd count: again */
      if (++ox == out_w) ox = 0, ++oy;
      int8_t *oa = out_b + pix * out_c;
      mcuq_conv_channels(p, x, w_all, bias, oa, two ? oa + out_c : 0, exotic);
    }
  }
}

/* -- generic path (mode 0) ------------------------------------------------------------------ */

MCUQ_NOINLINE static void mcuq_conv_generic(const mcuq_conv_params_t *p,
                                            const int8_t *restrict input,
                                            const int8_t *restrict weights,
                                            const int32_t *restrict bias,
                                            int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
  const int32_t out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
  const int32_t fic = p->filter_in_c;
  const int32_t per_group = out_c / (in_c / fic);
  const int32_t w_per_out = k_h * k_w * fic;
  const int32_t zp = p->input_zero_point;
  /* one group and no horizontal dilation: the taps of a filter row read one contiguous run */
  const int rows_contiguous = fic == in_c && p->dil_w == 1;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int32_t ky0, ky1;
      mcuq_valid_taps(iy0, p->dil_h, in_h, k_h, &ky0, &ky1);
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx0, kx1;
        mcuq_valid_taps(ix0, p->dil_w, in_w, k_w, &kx0, &kx1);
        const int border = ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w;
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int32_t o = 0; o < out_c; ++o) {
          const int8_t *w = weights + o * w_per_out;
          const int32_t group_off = (o / per_group) * fic;
          int32_t acc = bias[o];
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *x_row = in_b + iy * in_w * in_c + group_off;
            const int8_t *w_row = w + ky * k_w * fic;
            if (rows_contiguous) {
              acc = mcuq_add_wrap(acc, mcuq_dot_s8(x_row + (ix0 + kx0) * in_c,
                                                   w_row + kx0 * fic, (kx1 - kx0) * fic));
            } else {
              for (int32_t kx = kx0; kx < kx1; ++kx)
                acc = mcuq_add_wrap(acc, mcuq_dot_s8(x_row + (ix0 + kx * p->dil_w) * in_c,
                                                     w_row + kx * fic, fic));
            }
          }
          if (border) { /* taps in the padding read the zero point (cancel the folded offset) */
            uint32_t s = 0;
            for (int32_t ky = 0; ky < k_h; ++ky) {
              const int row_out = ky < ky0 || ky >= ky1;
              for (int32_t kx = 0; kx < k_w; ++kx) {
                if (row_out || kx < kx0 || kx >= kx1) {
                  const int8_t *wt = w + (ky * k_w + kx) * fic;
                  for (int32_t c = 0; c < fic; ++c) s += (uint32_t)(int32_t)wt[c];
                }
              }
            }
            acc = mcuq_add_wrap(acc, (int32_t)((uint32_t)zp * s)); /* modulo 2^32 */
          }
          out[o] = mcuq_conv_out(acc, p->multiplier[o], p->shift[o], p);
        }
      }
    }
  }
}

/* One dispatcher per op, each path its own function: the fast paths' register allocation does
 * not depend on the generic code, and the dispatcher's tail calls keep no frame of their own. */
void mcuq_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                  const int8_t *restrict weights, const int32_t *restrict bias,
                  int8_t *restrict output) {
  if (p->mode != 0) {
    mcuq_conv_packed(p, input, weights, bias, output);
  } else {
    mcuq_conv_generic(p, input, weights, bias, output);
  }
}

/* ===== DEPTHWISE_CONV_2D =================================================================== */

/* Fast paths. Both take blocks of 4 output channels and weights unpacked to int16 pairs
 * (conv.py: block_weights, 2 words per tap). Mode 1 (depth multiplier 1) goes pixel by pixel
 * (mcuq_depthwise_px below); mode 2 (a multiplier that is a multiple of 4: the block's 4
 * outputs read one input channel, e.g. the 1 x 8 first layer of audio and grayscale models)
 * goes block by block over the whole image: the input rows the taps read are unpacked once
 * per block into a ring of R = (k_h - 1) * dil_h + 1 rows of the padded width
 * W = (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1 (one int16 per pixel, padding holding the
 * zero point), so that every tap is uniform and two neighbouring taps are one 32-bit load. */

/* Ring row `dst` (mode 2) from input row iy of channel ic (the zero point outside the image). */
static void mcuq_dw_ring_row(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t iy,
                             int32_t ic, int32_t width, uint32_t *dst) {
  const int32_t in_w = p->in_w, in_c = p->in_c, pad_w = p->pad_w;
  const int16_t z = (int16_t)p->input_zero_point;
  int32_t x0 = width, x1 = width;
  if (iy >= 0 && iy < p->in_h) {
    x0 = pad_w < width ? pad_w : width;
    x1 = pad_w + in_w < width ? pad_w + in_w : width;
  }
  const int8_t *s = in_b + (iy >= 0 && iy < p->in_h ? iy * in_w * in_c : 0) + ic;
  uint8_t *d = (uint8_t *)dst;
  int32_t x = 0;
  for (; x < x0; ++x) memcpy(d + 2 * x, &z, 2);
  for (; x < x1; ++x, s += in_c) {
    const int16_t v = *s;
    memcpy(d + 2 * x, &v, 2);
  }
  for (; x < width; ++x) memcpy(d + 2 * x, &z, 2);
}

/* What one output row of one block needs. */
typedef struct {
  const uint32_t *rows[MCUQ_DW_TAPS_BUF]; /* the k_h ring rows the taps read */
  const uint32_t *w;                       /* the block's unpacked weights */
  const int32_t *rq;                       /* the block's table entries */
  const mcuq_conv_params_t *p;
  int8_t *out;                             /* output pixel 0 of the row, channel c */
  int32_t bias[4];
  int32_t c, n, exotic;                    /* first channel, channels, any exotic one */
  uint32_t cap4, lo4;
} mcuq_dw_line_t;

/* Requantizes and stores the block's channels of one pixel. */
static inline void mcuq_dw_store(const mcuq_dw_line_t *L, int8_t *out, int32_t a0, int32_t a1,
                                 int32_t a2, int32_t a3) {
  const int32_t *rq = L->rq;
  if (L->exotic) {
    const int32_t a[4] = {a0, a1, a2, a3};
    for (int32_t j = 0; j < L->n; ++j)
      out[j] = mcuq_conv_one(a[j], rq + j * MCUQ_RQ_WORDS, L->c + j, L->p);
    return;
  }
  mcuq_store4(out, mcuq_rq4(a0, a1, a2, a3, rq, L->cap4, L->lo4));
}

/* -- mode 1: depth multiplier 1, pixel by pixel ------------------------------------------
 * Per output pixel a table of the taps' input pixels (a tap in the padding points at a row of
 * zero points), then block by block (4 channels) over the taps: one input word per tap,
 * unpacked to (c0, c2), (c1, c3), against the block's unpacked weight words. */

/* a[0..3] += taps of channels c .. c + 3; tab: the pixel's taps, w: 2 words per tap. The
 * Cortex-M build runs the loop in assembly (post-incremented loads; three taps per iteration
 * when the count allows): 9 instructions per tap and 2 per iteration instead of GCC's 12. */
static inline void mcuq_dw_taps_px(const int8_t *const *tab, int32_t taps, int32_t c,
                                   const uint32_t *w, int32_t *acc0, int32_t *acc1,
                                   int32_t *acc2, int32_t *acc3) {
  int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2, a3 = *acc3;
#if MCUQ_ASM
  const int8_t *ptr;
  uint32_t x, xe, w0, w1;
#define MCUQ_DW_ASM_TAP                                                                      \
  "ldr %[ptr], [%[tab]], #4\n\t"                                                             \
  "ldr %[x], [%[ptr], %[c]]\n\t"                                                             \
  "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                        \
  "sxtb16 %[xe], %[x]\n\t"                                                                   \
  "sxtb16 %[x], %[x], ror #8\n\t"                                                            \
  "smlabb %[a0], %[xe], %[w0], %[a0]\n\t"                                                    \
  "smlatt %[a2], %[xe], %[w0], %[a2]\n\t"                                                    \
  "smlabb %[a1], %[x], %[w1], %[a1]\n\t"                                                     \
  "smlatt %[a3], %[x], %[w1], %[a3]\n\t"
  int32_t n = taps;
  if (n % 3 == 0) {
    n /= 3;
    __asm__ volatile("1:\n\t" MCUQ_DW_ASM_TAP MCUQ_DW_ASM_TAP MCUQ_DW_ASM_TAP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [tab] "+r"(tab), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0),
                       [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ptr] "=&r"(ptr),
                       [x] "=&r"(x), [xe] "=&r"(xe), [w0] "=&r"(w0), [w1] "=&r"(w1)
                     : [c] "r"(c), "m"(*(const int8_t *const(*)[MCUQ_DW_TAPS_BUF])tab)
                     : "cc");
  } else {
    __asm__ volatile("1:\n\t" MCUQ_DW_ASM_TAP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [tab] "+r"(tab), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0),
                       [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ptr] "=&r"(ptr),
                       [x] "=&r"(x), [xe] "=&r"(xe), [w0] "=&r"(w0), [w1] "=&r"(w1)
                     : [c] "r"(c), "m"(*(const int8_t *const(*)[MCUQ_DW_TAPS_BUF])tab)
                     : "cc");
  }
#undef MCUQ_DW_ASM_TAP
#else
  for (int32_t t = 0; t < taps; ++t, w += 2) {
    const uint32_t x = mcuq_load4(tab[t] + c);
    const uint32_t xe = mcuq_sxtb16(x), xo = mcuq_sxtb16_ror8(x);
    a0 = mcuq_smlabb(xe, w[0], a0);
    a2 = mcuq_smlatt(xe, w[0], a2);
    a1 = mcuq_smlabb(xo, w[1], a1);
    a3 = mcuq_smlatt(xo, w[1], a3);
  }
#endif
  *acc0 = a0;
  *acc1 = a1;
  *acc2 = a2;
  *acc3 = a3;
}

static void mcuq_depthwise_px(const mcuq_conv_params_t *p, const int8_t *restrict input,
                              const int8_t *restrict weights, const int32_t *restrict bias,
                              int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->out_c;
  const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
  const int32_t full = ch & ~3, tail = ch - full;
  const uint32_t cap4 = mcuq_rep4(p->act_max - p->act_min), lo4 = mcuq_rep4(p->act_min);
  const uint32_t *const w_all = (const uint32_t *)(const void *)weights;
  const int32_t *const rq_all = p->rq;
  const int8_t *tab[MCUQ_DW_TAPS_BUF];
  uint32_t zp_row[MCUQ_DW_CH_BUF / 4 + 1];
  const uint32_t zp4 = mcuq_rep4(p->input_zero_point);
  for (int32_t k = 0; k <= ch >> 2; ++k) zp_row[k] = zp4;
  const int8_t *const zp = (const int8_t *)zp_row;
  int exotic = 0; /* any channel the table cannot requantize */
  for (int32_t c = 0; c < ch; ++c) exotic |= rq_all[c * MCUQ_RQ_WORDS + 2] < 0;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    int8_t *out = output + b * p->out_h * p->out_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox, out += ch) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int8_t **t = tab;
        if (iy0 >= 0 && iy0 + (k_h - 1) * p->dil_h < in_h && ix0 >= 0 &&
            ix0 + (k_w - 1) * p->dil_w < in_w) { /* interior: no checks */
          const int32_t col = p->dil_w * ch, down = p->dil_h * in_w * ch;
          const int8_t *row = in_b + (iy0 * in_w + ix0) * ch;
          for (int32_t ky = 0; ky < k_h; ++ky) {
            for (int32_t kx = 0; kx < k_w; ++kx) *t++ = row + kx * col;
            if (ky + 1 < k_h) row += down;
          }
        } else {
          for (int32_t ky = 0, iy = iy0; ky < k_h; ++ky, iy += p->dil_h) {
            if (iy < 0 || iy >= in_h) {
              for (int32_t kx = 0; kx < k_w; ++kx) *t++ = zp;
              continue;
            }
            const int8_t *row = in_b + iy * in_w * ch;
            for (int32_t kx = 0, ix = ix0; kx < k_w; ++kx, ix += p->dil_w)
              *t++ = ix >= 0 && ix < in_w ? row + ix * ch : zp;
          }
        }
        const uint32_t *w = w_all;
        const int32_t *rq = rq_all;
        for (int32_t c = 0; c < full; c += 4, w += 2 * taps, rq += 4 * MCUQ_RQ_WORDS) {
          int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
          mcuq_dw_taps_px(tab, taps, c, w, &a0, &a1, &a2, &a3);
          if (exotic && (rq[2] | rq[MCUQ_RQ_WORDS + 2] | rq[2 * MCUQ_RQ_WORDS + 2] |
                         rq[3 * MCUQ_RQ_WORDS + 2]) < 0) {
            const int32_t a[4] = {a0, a1, a2, a3};
            for (int32_t j = 0; j < 4; ++j)
              out[c + j] = mcuq_conv_one(a[j], rq + j * MCUQ_RQ_WORDS, c + j, p);
          } else {
            mcuq_store4(out + c, mcuq_rq4(a0, a1, a2, a3, rq, cap4, lo4));
          }
        }
        if (tail) { /* the last channels of a count that is not a multiple of 4: bytewise */
          for (int32_t j = 0; j < tail; ++j) {
            const int32_t c = full + j;
            const uint32_t *wt = w + (j & 1); /* (c0, c2) or (c1, c3) */
            uint32_t acc = (uint32_t)bias[c];
            for (int32_t k = 0; k < taps; ++k, wt += 2) {
              const int32_t wv = (int16_t)(j & 2 ? *wt >> 16 : *wt & 0xffffu);
              acc += (uint32_t)((int32_t)tab[k][c] * wv);
            }
            out[c] = mcuq_conv_one((int32_t)acc, rq + j * MCUQ_RQ_WORDS, c, p);
          }
        }
      }
    }
  }
}

/* Mode 2, one output row. Ring rows hold one int16 per pixel; without horizontal dilation two
 * neighbouring taps are one 32-bit load (x[kx], x[kx + 1]) against weight words holding the
 * two taps' weights of one channel ((w[kx], w[kx + 1]) per channel: SMLAD); an odd last tap of
 * a filter row uses the words (c0, c2), (c1, c3) and SMLABB/SMLABT. */
/* Pair of taps (x[kx], x[kx + 1]) against the 4 channels' weight pairs. */
#define MCUQ_DW_PAIR(xp, w)                                                                  \
  do {                                                                                       \
    uint32_t xx_;                                                                            \
    memcpy(&xx_, (xp), 4);                                                                   \
    a0 = mcuq_smlad(xx_, (w)[0], a0);                                                        \
    a1 = mcuq_smlad(xx_, (w)[1], a1);                                                        \
    a2 = mcuq_smlad(xx_, (w)[2], a2);                                                        \
    a3 = mcuq_smlad(xx_, (w)[3], a3);                                                        \
  } while (0)

/* Single tap x against words (c0, c2), (c1, c3). */
#define MCUQ_DW_SINGLE(xp, w)                                                                \
  do {                                                                                       \
    int16_t h_;                                                                              \
    memcpy(&h_, (xp), 2);                                                                    \
    const uint32_t xv_ = (uint32_t)(int32_t)h_;                                              \
    a0 = mcuq_smlabb(xv_, (w)[0], a0);                                                       \
    a2 = mcuq_smlabt(xv_, (w)[0], a2);                                                       \
    a1 = mcuq_smlabb(xv_, (w)[1], a1);                                                       \
    a3 = mcuq_smlabt(xv_, (w)[1], a3);                                                       \
  } while (0)

MCUQ_NOINLINE static void mcuq_dw_line_m4(const mcuq_dw_line_t *L) {
  const mcuq_conv_params_t *p = L->p;
  const int32_t k_h = p->k_h, k_w = p->k_w, dw = p->dil_w, sw = p->stride_w;
  const int32_t out_c = p->out_c, pairs = dw == 1 ? k_w >> 1 : 0, singles = k_w - 2 * pairs;
  const int k3 = k_w == 3 && dw == 1; /* the common 3-wide filter: unrolled */
  int8_t *out = L->out;
  for (int32_t ox = p->out_w, col = 0; ox > 0; --ox, col += 2 * sw, out += out_c) {
    int32_t a0 = L->bias[0], a1 = L->bias[1], a2 = L->bias[2], a3 = L->bias[3];
    const uint32_t *w = L->w;
    for (int32_t ky = 0; ky < k_h; ++ky) {
      const uint8_t *x = (const uint8_t *)L->rows[ky] + col;
      if (k3) {
        MCUQ_DW_PAIR(x, w);
        MCUQ_DW_SINGLE(x + 4, w + 4);
        w += 6;
        continue;
      }
      if (pairs) {
#if MCUQ_ASM
        /* the pairs of a filter row: 9 instructions per pair (GCC: about twice that) */
        uint32_t xx, w0, w1;
        int32_t n = pairs;
        __asm__("1:\n\t"
                "ldr %[xx], [%[x]], #4\n\t"
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                "smlad %[a0], %[xx], %[w0], %[a0]\n\t"
                "smlad %[a1], %[xx], %[w1], %[a1]\n\t"
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"
                "smlad %[a2], %[xx], %[w0], %[a2]\n\t"
                "smlad %[a3], %[xx], %[w1], %[a3]\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [x] "+r"(x), [w] "+r"(w), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1),
                  [a2] "+r"(a2), [a3] "+r"(a3), [xx] "=&r"(xx), [w0] "=&r"(w0), [w1] "=&r"(w1)
                : "m"(*(const uint8_t(*)[MCUQ_DW_ROWS_BUF])L->rows[ky])
                : "cc");
#else
        for (int32_t k = 0; k < pairs; ++k, x += 4, w += 4) MCUQ_DW_PAIR(x, w);
#endif
      }
      for (int32_t k = 0; k < singles; ++k, x += 2 * dw, w += 2) MCUQ_DW_SINGLE(x, w);
    }
    mcuq_dw_store(L, out, a0, a1, a2, a3);
  }
}

static void mcuq_depthwise_rows(const mcuq_conv_params_t *p, const int8_t *restrict input,
                                const int8_t *restrict weights, const int32_t *restrict bias,
                                int8_t *restrict output) {
  const int32_t in_c = p->in_c, out_c = p->out_c, m = p->depth_multiplier;
  const int32_t k_h = p->k_h, taps = k_h * p->k_w, out_h = p->out_h, out_w = p->out_w;
  const int32_t dh = p->dil_h, sh = p->stride_h;
  const int32_t rows = (k_h - 1) * dh + 1;
  const int32_t width = (out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
  const int32_t row_words = (width + 1) >> 1;
  uint32_t ring[MCUQ_DW_ROWS_BUF / 4];
  mcuq_dw_line_t L;
  L.p = p;
  L.cap4 = mcuq_rep4(p->act_max - p->act_min);
  L.lo4 = mcuq_rep4(p->act_min);
  L.n = 4; /* out_c is a multiple of 4 */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * in_c;
    int8_t *out_b = output + b * out_h * out_w * out_c;
    for (int32_t c = 0; c < out_c; c += 4) {
      L.c = c;
      L.rq = p->rq + c * MCUQ_RQ_WORDS;
      L.w = (const uint32_t *)(const void *)weights + (c >> 2) * 2 * taps;
      L.exotic = 0;
      for (int32_t j = 0; j < 4; ++j) {
        L.bias[j] = bias[c + j];
        L.exotic |= L.rq[j * MCUQ_RQ_WORDS + 2] < 0;
      }
      const int32_t ic = c / m;
      /* ring row r holds input row r - pad_h at slot r mod rows; rows below `built` exist */
      int32_t built = 0, slot = 0;
      for (int32_t oy = 0, top = 0; oy < out_h; ++oy, top += sh) {
        if (built < top) { /* rows skipped by a stride larger than the ring */
          slot = (slot + (top - built)) % rows;
          built = top;
        }
        for (; built < top + rows; ++built, slot = slot + 1 == rows ? 0 : slot + 1)
          mcuq_dw_ring_row(p, in_b, built - p->pad_h, ic, width, ring + slot * row_words);
        /* ring row top + ky * dh sits at slot (slot + ky * dh) mod rows (slot: row `top`) */
        for (int32_t ky = 0, s = slot; ky < k_h; ++ky, s += dh) {
          if (s >= rows) s -= rows;
          L.rows[ky] = ring + s * row_words;
        }
        L.out = out_b + oy * out_w * out_c + c;
        mcuq_dw_line_m4(&L);
      }
    }
  }
}

/* Any depth multiplier, filter size and shift (mode 0). */
MCUQ_NOINLINE static void mcuq_depthwise_generic(const mcuq_conv_params_t *p,
                                                 const int8_t *restrict input,
                                                 const int8_t *restrict weights,
                                                 const int32_t *restrict bias,
                                                 int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
  const int32_t out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
  const int32_t m = p->depth_multiplier;
  const int32_t zp = p->input_zero_point;
  const uint32_t uzp = (uint32_t)zp;
  uint32_t acc[MCUQ_DW_BLOCK]; /* modulo 2^32, as TFLM's int32 accumulators wrap */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int32_t o0 = 0; o0 < out_c; o0 += MCUQ_DW_BLOCK) {
          const int32_t n = out_c - o0 < MCUQ_DW_BLOCK ? out_c - o0 : MCUQ_DW_BLOCK;
          for (int32_t j = 0; j < n; ++j) acc[j] = (uint32_t)bias[o0 + j];
          for (int32_t ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int row_inside = iy >= 0 && iy < in_h;
            for (int32_t kx = 0; kx < k_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dil_w;
              const int8_t *wt = weights + (ky * k_w + kx) * out_c + o0;
              if (row_inside && ix >= 0 && ix < in_w) {
                const int8_t *x = in_b + (iy * in_w + ix) * in_c;
                if (m == 1) {
                  x += o0;
                  for (int32_t j = 0; j < n; ++j)
                    acc[j] += (uint32_t)((int32_t)x[j] * (int32_t)wt[j]);
                } else {
                  for (int32_t j = 0; j < n; ++j)
                    acc[j] += (uint32_t)((int32_t)x[(o0 + j) / m] * (int32_t)wt[j]);
                }
              } else { /* padding: reads the zero point (cancels the folded offset) */
                for (int32_t j = 0; j < n; ++j) acc[j] += uzp * (uint32_t)(int32_t)wt[j];
              }
            }
          }
          for (int32_t j = 0; j < n; ++j)
            out[o0 + j] =
                mcuq_conv_out((int32_t)acc[j], p->multiplier[o0 + j], p->shift[o0 + j], p);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                            const int8_t *restrict weights, const int32_t *restrict bias,
                            int8_t *restrict output) {
  if (p->mode == 1) {
    mcuq_depthwise_px(p, input, weights, bias, output);
  } else if (p->mode == 2) {
    mcuq_depthwise_rows(p, input, weights, bias, output);
  } else {
    mcuq_depthwise_generic(p, input, weights, bias, output);
  }
}
