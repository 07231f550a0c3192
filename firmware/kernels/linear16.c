#include "linear16.h"

#include <stddef.h>
#include <string.h>

#include "mcuq_buffers.h"
#include "mcuq_fixedpoint.h"

static inline int16_t clamp16(int32_t v, int32_t lo, int32_t hi) {
  return (int16_t)mcuq_clamp(v, lo, hi);
}

void mcuq_fully_connected_s16(const mcuq_fully_connected16_params_t *p, const int16_t *input,
                              const int8_t *weights, const int64_t *bias, int16_t *output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *x = input + (size_t)b * (size_t)p->accum_depth;
    for (int32_t o = 0; o < p->out_depth; ++o) {
      const int8_t *w = weights + (size_t)o * (size_t)p->accum_depth;
      int64_t acc = 0;
      for (int32_t d = 0; d < p->accum_depth; ++d) acc += (int32_t)x[d] * (int32_t)w[d];
      if (bias != NULL) acc += bias[o];
      output[(size_t)b * (size_t)p->out_depth + (size_t)o] =
          clamp16(mcuq_mbqm64(acc, p->multiplier[o], p->shift[o]), p->act_min, p->act_max);
    }
  }
}

void mcuq_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias64, const int32_t *bias32, int16_t *output) {
  const int32_t groups = p->in_c / p->filter_in_c;
  const int32_t per_group = p->out_c / groups;
  for (int32_t n = 0; n < p->batches; ++n) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
          const int32_t c0 = (oc / per_group) * p->filter_in_c;
          int64_t acc64 = 0;
          uint32_t acc32 = 0; /* int32 sums wrap as compiled in TFLM */
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int16_t *x = input + (((size_t)n * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
              const int8_t *w = weights + (((size_t)oc * p->k_h + ky) * p->k_w + kx) * p->filter_in_c;
              for (int32_t c = 0; c < p->filter_in_c; ++c) {
                const int32_t prod = (int32_t)x[c] * (int32_t)w[c];
                acc64 += prod;
                acc32 += (uint32_t)prod;
              }
            }
          }
          int32_t v;
          if (bias64 != NULL) {
            v = mcuq_mbqm64(acc64 + bias64[oc], p->multiplier[oc], p->shift[oc]);
          } else {
            acc32 += (uint32_t)bias32[oc];
            v = mcuq_mbqm((int32_t)acc32, p->multiplier[oc], p->shift[oc]);
          }
          out[oc] = clamp16(v, p->act_min, p->act_max);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s16(const mcuq_conv16_params_t *p, const int16_t *input,
                             const int8_t *weights, const int64_t *bias, int16_t *output) {
  const int32_t m = p->depth_multiplier;
  for (int32_t n = 0; n < p->batches; ++n) {
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
          const int32_t ic = oc / m;
          int64_t acc = 0;
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              acc += (int32_t)input[(((size_t)n * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] *
                     (int32_t)weights[((size_t)ky * p->k_w + kx) * p->out_c + oc];
            }
          }
          out[oc] = clamp16(mcuq_mbqm64(acc + bias[oc], p->multiplier[oc], p->shift[oc]),
                            p->act_min, p->act_max);
        }
      }
    }
  }
}

/* -- fast kernels (linear16.h): int32 sums, the folded requantization table ---------------- */

#if defined(__GNUC__)
#define MCUQ_INLINE static inline __attribute__((always_inline))
#else
#define MCUQ_INLINE static inline
#endif

/* TFLM's clamp(mbqm64(acc + bias, multiplier, shift)) from the channel's table entry (one
 * SMLAL: the 64-bit addition wraps, on uint64_t). mode: 0 every post is 0, 1 posts, 2 the
 * wrapped form (linear16.h). */
static inline int32_t mcuq_rq16(int32_t acc, const int32_t *rq, int32_t lo, int32_t hi,
                                int mode) {
  const uint64_t k = ((uint64_t)(uint32_t)rq[1] << 32) | (uint32_t)rq[0];
  const uint64_t t = k + (uint64_t)((int64_t)acc * (int64_t)rq[2]);
  const uint32_t h = (uint32_t)(t >> 32);
  const int32_t v = mode == 2   ? (int32_t)(h + (uint32_t)acc * (uint32_t)rq[3])
                    : mode == 1 ? (int32_t)h >> rq[3]
                                : (int32_t)h;
  return v < lo ? lo : (v > hi ? hi : v);
}

#if defined(__GNUC__)
#define MCUQ_NOINLINE __attribute__((noinline))
#else
#define MCUQ_NOINLINE
#endif

#if !MCUQ_ASM
/* mcuq_rq16_pair in C (builds without the assembly): one copy. */
static MCUQ_NOINLINE void mcuq_rq16_pair_c(int32_t a0, int32_t a1, const int32_t *rq,
                                           int32_t lo, int32_t hi, int16_t *y, int mode) {
  y[0] = (int16_t)mcuq_rq16(a0, rq, lo, hi, mode);
  y[1] = (int16_t)mcuq_rq16(a1, rq + MCUQ_RQ16_WORDS, lo, hi, mode);
}
#endif

/* Two consecutive channels' outputs (table entries rq[0 .. 2 * MCUQ_RQ16_WORDS)) stored at y
 * (any alignment). lo2/hi2: act_min/act_max in both halfwords. The Cortex-M build: SMLAL (mode
 * 1: then ASR by the post shift; mode 2: MLA of the q word) + SSAT #16 per channel, both packed
 * (PKHBT) and clamped at once (SSUB16 + SEL). */
MCUQ_INLINE void mcuq_rq16_pair(int32_t a0, int32_t a1, const int32_t *rq, int32_t lo,
                                int32_t hi, uint32_t lo2, uint32_t hi2, int16_t *y,
                                int mode) {
#if MCUQ_ASM
  uint32_t v, t, h, m;
#define MCUQ_RQ16_PAIR_ASM(POST0, POST1)                                                       \
  __asm__("ldrd %[t], %[h], [%[rq]]\n\t"                                                       \
          "ldr %[m], [%[rq], #8]\n\t"                                                          \
          "smlal %[t], %[h], %[a0], %[m]\n\t" POST0                                            \
          "ssat %[v], #16, %[h]\n\t"                                                           \
          "ldrd %[t], %[h], [%[rq], #16]\n\t"                                                  \
          "ldr %[m], [%[rq], #24]\n\t"                                                         \
          "smlal %[t], %[h], %[a1], %[m]\n\t" POST1                                            \
          "ssat %[h], #16, %[h]\n\t"                                                           \
          "pkhbt %[v], %[v], %[h], lsl #16\n\t"                                                \
          "ssub16 %[t], %[v], %[lo2]\n\t"                                                      \
          "sel %[v], %[v], %[lo2]\n\t"                                                         \
          "ssub16 %[t], %[v], %[hi2]\n\t"                                                      \
          "sel %[v], %[hi2], %[v]\n\t"                                                         \
          : [v] "=&r"(v), [t] "=&r"(t), [h] "=&r"(h), [m] "=&r"(m)                              \
          : [a0] "r"(a0), [a1] "r"(a1), [rq] "r"(rq), [lo2] "r"(lo2), [hi2] "r"(hi2),           \
            "m"(*(const int32_t(*)[2 * MCUQ_RQ16_WORDS])rq)                                     \
          : "cc")
  /* mode 1: h >> post (word 3); mode 2: h + acc * q (word 3), mod 2^32 */
  if (mode == 0) {
    MCUQ_RQ16_PAIR_ASM("", "");
  } else if (mode == 1) {
    MCUQ_RQ16_PAIR_ASM("ldr %[m], [%[rq], #12]\n\tasr %[h], %[h], %[m]\n\t",
                       "ldr %[m], [%[rq], #28]\n\tasr %[h], %[h], %[m]\n\t");
  } else {
    MCUQ_RQ16_PAIR_ASM("ldr %[m], [%[rq], #12]\n\tmla %[h], %[a0], %[m], %[h]\n\t",
                       "ldr %[m], [%[rq], #28]\n\tmla %[h], %[a1], %[m], %[h]\n\t");
  }
#undef MCUQ_RQ16_PAIR_ASM
  mcuq_store4((int8_t *)(void *)y, v);
  (void)lo, (void)hi;
#else
  (void)lo2, (void)hi2;
  mcuq_rq16_pair_c(a0, a1, rq, lo, hi, y, mode);
#endif
}

/* Dot products of nq blocks of 4 patch values: weights w (one word per channel and block,
 * channels interleaved), patches x0/x1 (int16, read as words: any alignment). */
static inline void mcuq_dot16_2x2(const int8_t *x0, const int8_t *x1, const uint32_t *w,
                                  int32_t nq, int32_t *a) {
  int32_t a00 = 0, a10 = 0, a01 = 0, a11 = 0; /* a<channel><pixel> */
#if MCUQ_ASM
  uint32_t w0, w1, xa, xb, e;
  __asm__("1:\n\t"
          "ldrd %[w0], %[w1], [%[w]], #8\n\t"
          "ldr %[xa], [%[x0]], #4\n\t"
          "ldr %[xb], [%[x1]], #4\n\t"
          "sxtb16 %[e], %[w0]\n\t"
          "smlad %[a00], %[xa], %[e], %[a00]\n\t"
          "smlad %[a01], %[xb], %[e], %[a01]\n\t"
          "sxtb16 %[e], %[w1]\n\t"
          "smlad %[a10], %[xa], %[e], %[a10]\n\t"
          "smlad %[a11], %[xb], %[e], %[a11]\n\t"
          "ldr %[xa], [%[x0]], #4\n\t"
          "ldr %[xb], [%[x1]], #4\n\t"
          "sxtb16 %[w0], %[w0], ror #8\n\t"
          "smlad %[a00], %[xa], %[w0], %[a00]\n\t"
          "smlad %[a01], %[xb], %[w0], %[a01]\n\t"
          "sxtb16 %[w1], %[w1], ror #8\n\t"
          "smlad %[a10], %[xa], %[w1], %[a10]\n\t"
          "smlad %[a11], %[xb], %[w1], %[a11]\n\t"
          "subs %[n], %[n], #1\n\t"
          "bne 1b\n\t"
          : [w] "+r"(w), [x0] "+r"(x0), [x1] "+r"(x1), [n] "+r"(nq), [a00] "+r"(a00),
            [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w0] "=&r"(w0), [w1] "=&r"(w1),
            [xa] "=&r"(xa), [xb] "=&r"(xb), [e] "=&r"(e)
          : "m"(*(const uint32_t(*)[MCUQ_CONV16_COL_BUF / 2])x0),
            "m"(*(const uint32_t(*)[MCUQ_CONV16_COL_BUF / 2])x1),
            "m"(*(const uint32_t(*)[MCUQ_CONV16_COL_BUF / 2])w)
          : "cc");
#else
  for (int32_t i = 0; i < nq; ++i, w += 2, x0 += 8, x1 += 8) {
    const uint32_t xa = mcuq_load4(x0), xb = mcuq_load4(x1);
    const uint32_t xc = mcuq_load4(x0 + 4), xd = mcuq_load4(x1 + 4);
    const uint32_t e0 = mcuq_sxtb16(w[0]), e1 = mcuq_sxtb16(w[1]);
    const uint32_t o0 = mcuq_sxtb16_ror8(w[0]), o1 = mcuq_sxtb16_ror8(w[1]);
    a00 = mcuq_smlad(xa, e0, a00);
    a01 = mcuq_smlad(xb, e0, a01);
    a10 = mcuq_smlad(xa, e1, a10);
    a11 = mcuq_smlad(xb, e1, a11);
    a00 = mcuq_smlad(xc, o0, a00);
    a01 = mcuq_smlad(xd, o0, a01);
    a10 = mcuq_smlad(xc, o1, a10);
    a11 = mcuq_smlad(xd, o1, a11);
  }
#endif
  a[0] = a00;
  a[1] = a10;
  a[2] = a01;
  a[3] = a11;
}

/* Two channels (interleaved words), one patch. */
static inline void mcuq_dot16_2x1(const int8_t *x0, const uint32_t *w, int32_t nq, int32_t *a) {
  int32_t a0 = 0, a1 = 0;
  for (int32_t i = 0; i < nq; ++i, w += 2, x0 += 8) {
    const uint32_t xa = mcuq_load4(x0), xc = mcuq_load4(x0 + 4);
    a0 = mcuq_smlad(xa, mcuq_sxtb16(w[0]), a0);
    a1 = mcuq_smlad(xa, mcuq_sxtb16(w[1]), a1);
    a0 = mcuq_smlad(xc, mcuq_sxtb16_ror8(w[0]), a0);
    a1 = mcuq_smlad(xc, mcuq_sxtb16_ror8(w[1]), a1);
  }
  a[0] = a0;
  a[1] = a1;
}

/* One channel (consecutive words), one patch. */
static inline int32_t mcuq_dot16_1x1(const int8_t *x0, const uint32_t *w, int32_t nq) {
  int32_t a0 = 0;
  for (int32_t i = 0; i < nq; ++i, ++w, x0 += 8) {
    a0 = mcuq_smlad(mcuq_load4(x0), mcuq_sxtb16(w[0]), a0);
    a0 = mcuq_smlad(mcuq_load4(x0 + 4), mcuq_sxtb16_ror8(w[0]), a0);
  }
  return a0;
}

/* n int16 values, two per (unaligned) word access. */
static inline void mcuq_copy16(int16_t *dst, const int16_t *src, int32_t n) {
  int8_t *d = (int8_t *)(void *)dst;
  const int8_t *s = (const int8_t *)(const void *)src;
  for (; n >= 4; n -= 4, d += 8, s += 8) {
    const uint32_t a = mcuq_load4(s), b = mcuq_load4(s + 4);
    mcuq_store4(d, a);
    mcuq_store4(d + 4, b);
  }
  if (n >= 2) {
    mcuq_store4(d, mcuq_load4(s));
    n -= 2, d += 4, s += 4;
  }
  if (n) mcuq_store2(d, (uint32_t)(uint16_t)*(const int16_t *)(const void *)s);
}

static inline void mcuq_zero16(int16_t *dst, int32_t n) {
  int8_t *d = (int8_t *)(void *)dst;
  for (; n >= 2; n -= 2, d += 4) mcuq_store4(d, 0);
  if (n) mcuq_store2(d, 0);
}

/* The patch of output pixel (oy, ox) of image img: k_h * k_w * in_c values (ky, kx, c order;
 * taps outside the image are 0, the zero point); its zero padding up to k_pad is written once
 * by the caller. */
static void mcuq_im2col16(const mcuq_conv16_params_t *p, const int16_t *img, int32_t oy,
                          int32_t ox, int16_t *col) {
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int32_t c = p->in_c, row = p->k_w * c;
  int16_t *dst = col;
  if (p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= p->in_w && y0 >= 0 &&
      y0 + (p->k_h - 1) * p->dil_h < p->in_h) { /* the window inside: k_h row copies */
    const int16_t *src = img + ((size_t)y0 * (size_t)p->in_w + (size_t)x0) * (size_t)c;
    const size_t step = (size_t)p->dil_h * (size_t)p->in_w * (size_t)c;
    for (int32_t ky = 0;;) { /* no step after the last row: src would leave the image */
      mcuq_copy16(dst, src, row);
      if (++ky == p->k_h) return;
      dst += row, src += step;
    }
  }
  for (int32_t ky = 0; ky < p->k_h; ++ky, dst += row) {
    const int32_t iy = y0 + ky * p->dil_h;
    if (iy < 0 || iy >= p->in_h) {
      mcuq_zero16(dst, row);
      continue;
    }
    const int16_t *src = img + (size_t)iy * (size_t)p->in_w * (size_t)c;
    if (p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= p->in_w) {
      mcuq_copy16(dst, src + (size_t)x0 * (size_t)c, row);
      continue;
    }
    for (int32_t kx = 0; kx < p->k_w; ++kx) {
      const int32_t ix = x0 + kx * p->dil_w;
      if (ix < 0 || ix >= p->in_w) {
        mcuq_zero16(dst + kx * c, c);
      } else {
        mcuq_copy16(dst + kx * c, src + (size_t)ix * (size_t)c, c);
      }
    }
  }
}

/* Output channels of one pixel pair (y1 == NULL: one pixel); mode: the table's form. */
MCUQ_INLINE void mcuq_conv16_channels(const mcuq_conv16_params_t *p, const int8_t *x0,
                                      const int8_t *x1, const uint32_t *w, int16_t *y0,
                                      int16_t *y1, uint32_t lo2, uint32_t hi2, int mode) {
  const int32_t nq = p->k_pad >> 2, lo = p->act_min, hi = p->act_max;
  const int32_t *rq = p->rq;
  int32_t oc = 0;
  int32_t a[4];
  for (; oc + 2 <= p->out_c; oc += 2, w += 2 * nq, rq += 2 * MCUQ_RQ16_WORDS) {
    if (y1 != NULL) {
      mcuq_dot16_2x2(x0, x1, w, nq, a);
      mcuq_rq16_pair(a[2], a[3], rq, lo, hi, lo2, hi2, y1 + oc, mode);
    } else {
      mcuq_dot16_2x1(x0, w, nq, a);
    }
    mcuq_rq16_pair(a[0], a[1], rq, lo, hi, lo2, hi2, y0 + oc, mode);
  }
  if (oc < p->out_c) {
    y0[oc] = (int16_t)mcuq_rq16(mcuq_dot16_1x1(x0, w, nq), rq, lo, hi, mode);
    if (y1 != NULL) y1[oc] = (int16_t)mcuq_rq16(mcuq_dot16_1x1(x1, w, nq), rq, lo, hi, mode);
  }
}

static inline uint32_t mcuq_rep2(int32_t v) { return (uint32_t)(uint16_t)v * 0x10001u; }

void mcuq_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                        const int8_t *weights, int16_t *output) {
  union {
    uint32_t align;
    int16_t v[2 * MCUQ_CONV16_COL_BUF];
  } col;
  const uint32_t *w = (const uint32_t *)(const void *)weights;
  const int32_t pixels = p->out_h * p->out_w;
  const uint32_t lo2 = mcuq_rep2(p->act_min), hi2 = mcuq_rep2(p->act_max);
  if (!p->direct) { /* the patches' zero padding (im2col never writes there) */
    const int32_t patch = p->k_h * p->k_w * p->in_c;
    mcuq_zero16(col.v + patch, p->k_pad - patch);
    mcuq_zero16(col.v + p->k_pad + patch, p->k_pad - patch);
  }
  for (int32_t n = 0; n < p->batches; ++n) {
    const int16_t *img = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    int16_t *out = output + (size_t)n * (size_t)pixels * (size_t)p->out_c;
    for (int32_t px = 0; px < pixels; px += 2) {
      const int two = px + 1 < pixels;
      const int32_t oy0 = px / p->out_w, ox0 = px % p->out_w;
      const int32_t oy1 = (px + 1) / p->out_w, ox1 = (px + 1) % p->out_w;
      const int16_t *x0, *x1;
      if (p->direct) {
        x0 = img + ((size_t)oy0 * p->stride_h * p->in_w + (size_t)ox0 * p->stride_w) * p->in_c;
        x1 = two ? img + ((size_t)oy1 * p->stride_h * p->in_w + (size_t)ox1 * p->stride_w) *
                             p->in_c
                 : x0;
      } else {
        mcuq_im2col16(p, img, oy0, ox0, col.v);
        if (two) mcuq_im2col16(p, img, oy1, ox1, col.v + p->k_pad);
        x0 = col.v;
        x1 = col.v + p->k_pad;
      }
      int16_t *y0 = out + (size_t)px * (size_t)p->out_c;
      const int8_t *b0 = (const int8_t *)(const void *)x0;
      const int8_t *b1 = two ? (const int8_t *)(const void *)x1 : NULL;
      int16_t *y1 = two ? y0 + p->out_c : NULL;
      mcuq_conv16_channels(p, b0, b1, w, y0, y1, lo2, hi2, p->rq_mode);
    }
  }
}

/* The taps of an output pixel's window that fall inside the image: the input offset (int16
 * values) from the window's first such tap and the tap's weight word offset in bytes (k * 4,
 * k = ky * k_w + kx). Taps in the padding are left out (their products are 0); pixels whose
 * windows meet the image's edges alike share one list. */
typedef struct {
  int32_t xo;
  int32_t wo;
} mcuq_tap16_t;

#if MCUQ_ASM
/* One tap of 4 channels (depth_multiplier 1): x at xb + 2 xo bytes, two words (the second
 * through xb4 = xb + 4 bytes). */
#define MCUQ_DW16_TAP_ASM                                                                      \
  "ldrd %[x], %[wo], [%[t]], #8\n\t"                                                            \
  "ldr %[x01], [%[xb], %[x], lsl #1]\n\t"                                                      \
  "ldr %[x], [%[xb4], %[x], lsl #1]\n\t"                                                       \
  "ldr %[w], [%[wb], %[wo]]\n\t"                                                               \
  "sxtb16 %[wo], %[w]\n\t"                                                                     \
  "sxtb16 %[w], %[w], ror #8\n\t"                                                              \
  "smlabb %[a0], %[x01], %[wo], %[a0]\n\t"                                                     \
  "smlatt %[a1], %[x01], %[wo], %[a1]\n\t"                                                     \
  "smlabb %[a2], %[x], %[w], %[a2]\n\t"                                                        \
  "smlatt %[a3], %[x], %[w], %[a3]\n\t"
/* One tap of 4 channels reading one input channel (depth_multiplier % 4 == 0). */
#define MCUQ_DW16_TAP1_ASM                                                                     \
  "ldrd %[x], %[wo], [%[t]], #8\n\t"                                                            \
  "ldrh %[x01], [%[xb], %[x], lsl #1]\n\t"                                                      \
  "ldr %[w], [%[wb], %[wo]]\n\t"                                                               \
  "sxtb16 %[wo], %[w]\n\t"                                                                     \
  "sxtb16 %[w], %[w], ror #8\n\t"                                                              \
  "smlabb %[a0], %[x01], %[wo], %[a0]\n\t"                                                     \
  "smlabt %[a1], %[x01], %[wo], %[a1]\n\t"                                                     \
  "smlabb %[a2], %[x01], %[w], %[a2]\n\t"                                                      \
  "smlabt %[a3], %[x01], %[w], %[a3]\n\t"
#define MCUQ_DW16_OPERANDS                                                                     \
  : [t] "+r"(tap), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),    \
    [x] "=&r"(x), [wo] "=&r"(wo), [x01] "=&r"(x01), [w] "=&r"(w)                               \
  : [wb] "r"(wb), [xb] "r"(xb), [xb4] "r"(xb4)                                                 \
  : "cc", "memory"
#endif

/* Sums of 4 channels over the n taps (n3 = n / 3 of them in threes): x at xb + tap->xo (4
 * channels), weights at wb + tap->wo (one word, bytes (c0, c2, c1, c3)). one:
 * depth_multiplier % 4 == 0, the 4 channels read one input channel (at xb + tap->xo). */
MCUQ_INLINE void mcuq_dw16_sums(const mcuq_tap16_t *tap, int32_t n3, int32_t n,
                                const int8_t *wb, const int16_t *xb, int one, int32_t *a) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#if MCUQ_ASM
  int32_t x, wo;
  uint32_t x01, w;
  n -= 3 * n3;
  if (one) {
    if (n3 > 0) {
      int32_t n_ = n3;
      __asm__("1:\n\t" MCUQ_DW16_TAP1_ASM MCUQ_DW16_TAP1_ASM MCUQ_DW16_TAP1_ASM
              "subs %[n], %[n], #1\n\t"
              "bne 1b\n\t"
              : [t] "+r"(tap), [n] "+r"(n_), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                [a3] "+r"(a3), [x] "=&r"(x), [wo] "=&r"(wo), [x01] "=&r"(x01), [w] "=&r"(w)
              : [wb] "r"(wb), [xb] "r"(xb)
              : "cc", "memory");
    }
    if (n > 0)
      __asm__("1:\n\t" MCUQ_DW16_TAP1_ASM "subs %[n], %[n], #1\n\t"
              "bne 1b\n\t"
              : [t] "+r"(tap), [n] "+r"(n), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                [a3] "+r"(a3), [x] "=&r"(x), [wo] "=&r"(wo), [x01] "=&r"(x01), [w] "=&r"(w)
              : [wb] "r"(wb), [xb] "r"(xb)
              : "cc", "memory");
  } else {
    const int16_t *xb4 = xb + 2; /* channels 2, 3 of the block */
    if (n3 > 0) {
      int32_t n_ = n3;
      __asm__("1:\n\t" MCUQ_DW16_TAP_ASM MCUQ_DW16_TAP_ASM MCUQ_DW16_TAP_ASM
              "subs %[n], %[n], #1\n\t"
              "bne 1b\n\t"
              : [t] "+r"(tap), [n] "+r"(n_), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                [a3] "+r"(a3), [x] "=&r"(x), [wo] "=&r"(wo), [x01] "=&r"(x01), [w] "=&r"(w)
              : [wb] "r"(wb), [xb] "r"(xb), [xb4] "r"(xb4)
              : "cc", "memory");
    }
    if (n > 0)
      __asm__("1:\n\t" MCUQ_DW16_TAP_ASM "subs %[n], %[n], #1\n\t"
              "bne 1b\n\t" MCUQ_DW16_OPERANDS);
  }
#else
  (void)n3;
  for (int32_t k = 0; k < n; ++k) {
    const int8_t *xk = (const int8_t *)(const void *)(xb + tap[k].xo);
    const uint32_t wv = mcuq_load4(wb + tap[k].wo);
    const uint32_t e = mcuq_sxtb16(wv), o = mcuq_sxtb16_ror8(wv);
    if (one) {
      const uint32_t x0 = (uint32_t)(uint16_t)xb[tap[k].xo];
      a0 = mcuq_smlabb(x0, e, a0);
      a1 = mcuq_smlabt(x0, e, a1);
      a2 = mcuq_smlabb(x0, o, a2);
      a3 = mcuq_smlabt(x0, o, a3);
    } else {
      const uint32_t x01 = mcuq_load4(xk), x23 = mcuq_load4(xk + 4);
      a0 = mcuq_smlabb(x01, e, a0);
      a1 = mcuq_smlatt(x01, e, a1);
      a2 = mcuq_smlabb(x23, o, a2);
      a3 = mcuq_smlatt(x23, o, a3);
    }
  }
#endif
  a[0] = a0;
  a[1] = a1;
  a[2] = a2;
  a[3] = a3;
}

/* mcuq_dw16_sums for other multipliers: channels ch .. ch + 3 read inputs ch / m .. (ch + 3) /
 * m (C, one channel at a time). */
static void mcuq_dw16_sums_m(const mcuq_tap16_t *tap, int32_t n, const int8_t *wb,
                             const int16_t *base, int32_t ch, int32_t m, int32_t *a) {
  static const int32_t byte_of[4] = {0, 2, 1, 3};
  for (int32_t j = 0; j < 4; ++j) {
    int32_t acc = 0;
    for (int32_t t = 0; t < n; ++t)
      acc += (int32_t)base[tap[t].xo + (ch + j) / m] * (int32_t)wb[tap[t].wo + byte_of[j]];
    a[j] = acc;
  }
}

/* The window's rows ky0 .. ky1 - 1 and columns kx0 .. kx1 - 1 inside the image (empty ranges
 * when none is). */
static inline void mcuq_dw16_range(int32_t o0, int32_t k, int32_t dil, int32_t size,
                                   int32_t *k0, int32_t *k1) {
  int32_t a = 0, b = k;
  while (a < b && o0 + a * dil < 0) ++a;
  while (b > a && o0 + (b - 1) * dil >= size) --b;
  *k0 = a;
  *k1 = b;
}

MCUQ_INLINE void mcuq_dw16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                                const int8_t *weights, int16_t *output, int mode) {
  mcuq_tap16_t tap[MCUQ_DW16_TAPS_BUF];
  const int32_t cin = p->in_c, cout = p->out_c, m = p->depth_multiplier;
  const int32_t taps = p->k_h * p->k_w, lo = p->act_min, hi = p->act_max;
  const int32_t full = cout & ~3;
  const int one = m % 4 == 0; /* every block of 4 channels reads one input channel */
  const uint32_t lo2 = mcuq_rep2(lo), hi2 = mcuq_rep2(hi);
  int32_t key = -1, nt = 0, n3 = 0; /* the list's window: (ky0, ky1, kx0, kx1) packed */
  int16_t *out = output;
  for (int32_t n = 0; n < p->batches; ++n) {
    const int16_t *img = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)cin;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      int32_t ky0, ky1;
      mcuq_dw16_range(y0, p->k_h, p->dil_h, p->in_h, &ky0, &ky1);
      for (int32_t ox = 0; ox < p->out_w; ++ox, out += cout) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int32_t kx0, kx1;
        mcuq_dw16_range(x0, p->k_w, p->dil_w, p->in_w, &kx0, &kx1);
        const int32_t k = (ky0 * (p->k_h + 1) + ky1) * (p->k_w + 1) * (p->k_w + 1) +
                          kx0 * (p->k_w + 1) + kx1; /* < 2^23: k_h * k_w <= 1024 */
        if (k != key) {
          key = k, nt = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky)
            for (int32_t kx = kx0; kx < kx1; ++kx, ++nt) {
              tap[nt].xo = ((ky - ky0) * p->dil_h * p->in_w + (kx - kx0) * p->dil_w) * cin;
              tap[nt].wo = 4 * (ky * p->k_w + kx);
            }
          n3 = nt / 3;
        }
        if (nt == 0) { /* no tap inside: every sum 0 */
          for (int32_t ch = 0; ch < cout; ++ch)
            out[ch] = (int16_t)mcuq_rq16(0, p->rq + ch * MCUQ_RQ16_WORDS, lo, hi, mode);
          continue;
        }
        const size_t iy = (size_t)(y0 + ky0 * p->dil_h), ix = (size_t)(x0 + kx0 * p->dil_w);
        const int16_t *base = img + (iy * (size_t)p->in_w + ix) * (size_t)cin;
        const int32_t *rq = p->rq;
        const int8_t *wb = weights;
        int32_t ch = 0;
        for (; ch < full; ch += 4, rq += 4 * MCUQ_RQ16_WORDS) {
          int32_t a[4];
          if (m == 1 || one) {
            mcuq_dw16_sums(tap, n3, nt, wb, base + (m == 1 ? ch : ch / m), one, a);
          } else {
            mcuq_dw16_sums_m(tap, nt, wb, base, ch, m, a);
          }
          mcuq_rq16_pair(a[0], a[1], rq, lo, hi, lo2, hi2, out + ch, mode);
          mcuq_rq16_pair(a[2], a[3], rq + 2 * MCUQ_RQ16_WORDS, lo, hi, lo2, hi2, out + ch + 2,
                         mode);
          if (ch + 4 < cout) wb += 4 * taps; /* never past the last block */
        }
        for (int32_t j = 0; ch < cout; ++ch, ++j) { /* the last block's channels, one by one */
          static const int32_t byte_of[4] = {0, 2, 1, 3};
          int32_t acc = 0;
          for (int32_t t = 0; t < nt; ++t)
            acc += (int32_t)base[tap[t].xo + ch / m] * (int32_t)wb[tap[t].wo + byte_of[j]];
          out[ch] = (int16_t)mcuq_rq16(acc, rq + j * MCUQ_RQ16_WORDS, lo, hi, mode);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                                  const int8_t *weights, int16_t *output) {
  mcuq_dw16_fast(p, input, weights, output, p->rq_mode);
}

/* -- 64-bit sums (layers whose weights allow |sum| >= 2^31): SMLALD, TFLM's requantization -- */

/* acc + lo(a) * lo(b) + hi(a) * hi(b) in 64 bits (SMLALD). */
static inline int64_t mcuq_smlald(uint32_t a, uint32_t b, int64_t acc) {
#if MCUQ_DSP
  return __smlald((int32_t)a, (int32_t)b, acc);
#else
  const int32_t lo = (int32_t)(int16_t)(a & 0xffffu) * (int32_t)(int16_t)(b & 0xffffu);
  const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
  return acc + (int64_t)lo + (int64_t)hi;
#endif
}

static inline int16_t mcuq_out16_wide(const mcuq_conv16_params_t *p, int64_t acc,
                                      const int64_t *bias, int32_t oc) {
  return clamp16(mcuq_mbqm64(acc + bias[oc], p->multiplier[oc], p->shift[oc]), p->act_min,
                 p->act_max);
}

void mcuq_conv_s16_wide(const mcuq_conv16_params_t *p, const int16_t *input,
                        const int8_t *weights, const int64_t *bias, int16_t *output) {
  union {
    uint32_t align;
    int16_t v[MCUQ_CONV16_COL_BUF]; /* one patch */
  } col;
  const int32_t pixels = p->out_h * p->out_w, nq = p->k_pad >> 2;
  if (!p->direct) {
    const int32_t patch = p->k_h * p->k_w * p->in_c;
    mcuq_zero16(col.v + patch, p->k_pad - patch);
  }
  for (int32_t n = 0; n < p->batches; ++n) {
    const int16_t *img = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    int16_t *out = output + (size_t)n * (size_t)pixels * (size_t)p->out_c;
    for (int32_t px = 0; px < pixels; ++px, out += p->out_c) {
      const int32_t oy = px / p->out_w, ox = px % p->out_w;
      const int16_t *x;
      if (p->direct) {
        x = img + ((size_t)oy * p->stride_h * p->in_w + (size_t)ox * p->stride_w) * p->in_c;
      } else {
        mcuq_im2col16(p, img, oy, ox, col.v);
        x = col.v;
      }
      const uint32_t *w = (const uint32_t *)(const void *)weights;
      int32_t oc = 0;
      for (; oc + 2 <= p->out_c; oc += 2) {
        int64_t a0 = 0, a1 = 0;
        const int8_t *xb = (const int8_t *)(const void *)x;
        for (int32_t i = 0; i < nq; ++i, w += 2, xb += 8) {
          const uint32_t xa = mcuq_load4(xb), xc = mcuq_load4(xb + 4);
          a0 = mcuq_smlald(xa, mcuq_sxtb16(w[0]), a0);
          a1 = mcuq_smlald(xa, mcuq_sxtb16(w[1]), a1);
          a0 = mcuq_smlald(xc, mcuq_sxtb16_ror8(w[0]), a0);
          a1 = mcuq_smlald(xc, mcuq_sxtb16_ror8(w[1]), a1);
        }
        out[oc] = mcuq_out16_wide(p, a0, bias, oc);
        out[oc + 1] = mcuq_out16_wide(p, a1, bias, oc + 1);
      }
      if (oc < p->out_c) {
        int64_t a0 = 0;
        const int8_t *xb = (const int8_t *)(const void *)x;
        for (int32_t i = 0; i < nq; ++i, ++w, xb += 8) {
          a0 = mcuq_smlald(mcuq_load4(xb), mcuq_sxtb16(w[0]), a0);
          a0 = mcuq_smlald(mcuq_load4(xb + 4), mcuq_sxtb16_ror8(w[0]), a0);
        }
        out[oc] = mcuq_out16_wide(p, a0, bias, oc);
      }
    }
  }
}
