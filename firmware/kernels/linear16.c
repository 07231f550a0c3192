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

/* TFLM's clamp(mbqm64(acc + bias, multiplier, shift)) from the channel's table entry (one
 * SMLAL: the 64-bit addition wraps, on uint64_t). */
static inline int32_t mcuq_rq16(int32_t acc, const int32_t *rq, int32_t lo, int32_t hi,
                                const int wrap) {
  const uint64_t k = ((uint64_t)(uint32_t)rq[1] << 32) | (uint32_t)rq[0];
  const uint64_t t = k + (uint64_t)((int64_t)acc * (int64_t)rq[2]);
  const int32_t v = wrap ? (int32_t)((uint32_t)(t >> 32) + (uint32_t)acc * (uint32_t)rq[3])
                         : (int32_t)(uint32_t)(t >> 32) >> rq[3];
  return v < lo ? lo : (v > hi ? hi : v);
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

static inline void mcuq_copy16(int16_t *dst, const int16_t *src, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

static inline void mcuq_zero16(int16_t *dst, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = 0;
}

/* The patch of output pixel (oy, ox) of image img: k_h * k_w * in_c values (ky, kx, c order;
 * taps outside the image are 0, the zero point), zero-padded to k_pad. */
static void mcuq_im2col16(const mcuq_conv16_params_t *p, const int16_t *img, int32_t oy,
                          int32_t ox, int16_t *col) {
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int32_t c = p->in_c, row = p->k_w * c;
  int16_t *dst = col;
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
  mcuq_zero16(col + p->k_h * row, p->k_pad - p->k_h * row);
}

#if defined(__GNUC__)
#define MCUQ_INLINE static inline __attribute__((always_inline))
#else
#define MCUQ_INLINE static inline
#endif

/* Output channels of one pixel pair (y1 == NULL: one pixel); wrap: the table's form (a
 * constant after inlining: one copy per form). */
MCUQ_INLINE void mcuq_conv16_channels(const mcuq_conv16_params_t *p, const int8_t *x0,
                                      const int8_t *x1, const uint32_t *w, int16_t *y0,
                                      int16_t *y1, const int wrap) {
  const int32_t nq = p->k_pad >> 2, lo = p->act_min, hi = p->act_max;
  const int32_t *rq = p->rq;
  int32_t oc = 0;
  int32_t a[4];
  for (; oc + 2 <= p->out_c; oc += 2, w += 2 * nq, rq += 2 * MCUQ_RQ16_WORDS) {
    if (y1 != NULL) {
      mcuq_dot16_2x2(x0, x1, w, nq, a);
      y1[oc] = (int16_t)mcuq_rq16(a[2], rq, lo, hi, wrap);
      y1[oc + 1] = (int16_t)mcuq_rq16(a[3], rq + MCUQ_RQ16_WORDS, lo, hi, wrap);
    } else {
      mcuq_dot16_2x1(x0, w, nq, a);
    }
    y0[oc] = (int16_t)mcuq_rq16(a[0], rq, lo, hi, wrap);
    y0[oc + 1] = (int16_t)mcuq_rq16(a[1], rq + MCUQ_RQ16_WORDS, lo, hi, wrap);
  }
  if (oc < p->out_c) {
    y0[oc] = (int16_t)mcuq_rq16(mcuq_dot16_1x1(x0, w, nq), rq, lo, hi, wrap);
    if (y1 != NULL) y1[oc] = (int16_t)mcuq_rq16(mcuq_dot16_1x1(x1, w, nq), rq, lo, hi, wrap);
  }
}

void mcuq_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                        const int8_t *weights, int16_t *output) {
  union {
    uint32_t align;
    int16_t v[2 * MCUQ_CONV16_COL_BUF];
  } col;
  const uint32_t *w = (const uint32_t *)(const void *)weights;
  const int32_t pixels = p->out_h * p->out_w;
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
      if (p->rq_wrap) {
        mcuq_conv16_channels(p, b0, b1, w, y0, two ? y0 + p->out_c : NULL, 1);
      } else {
        mcuq_conv16_channels(p, b0, b1, w, y0, two ? y0 + p->out_c : NULL, 0);
      }
    }
  }
}

MCUQ_INLINE void mcuq_dw16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                                const int8_t *weights, int16_t *output, const int wrap) {
  const int32_t c = p->in_c, taps = p->k_h * p->k_w, lo = p->act_min, hi = p->act_max;
  const int32_t full = c & ~3;
  const uint32_t *w_all = (const uint32_t *)(const void *)weights;
  for (int32_t n = 0; n < p->batches; ++n) {
    const int16_t *img = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      int32_t ky0 = 0, ky1 = p->k_h;
      while (ky0 < ky1 && y0 + ky0 * p->dil_h < 0) ++ky0;
      while (ky1 > ky0 && y0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        int32_t kx0 = 0, kx1 = p->k_w;
        while (kx0 < kx1 && x0 + kx0 * p->dil_w < 0) ++kx0;
        while (kx1 > kx0 && x0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
        int16_t *out = output + (((size_t)n * p->out_h + oy) * p->out_w + ox) * c;
        const int16_t *base = ky0 < ky1 && kx0 < kx1
                                  ? img + ((size_t)(y0 + ky0 * p->dil_h) * p->in_w +
                                           (size_t)(x0 + kx0 * p->dil_w)) * c
                                  : img; /* no tap inside: the sums stay 0 */
        const size_t row_step = (size_t)p->dil_h * p->in_w * c, tap_step = (size_t)p->dil_w * c;
        const int32_t *rq = p->rq;
        const uint32_t *wb = w_all;
        int32_t ch = 0;
        for (; ch < full; ch += 4, wb += taps, rq += 4 * MCUQ_RQ16_WORDS) {
          int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          const int16_t *xr = base + ch;
          for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step) {
            const uint32_t *wt = wb + ky * p->k_w + kx0;
            const int16_t *xt = xr;
            for (int32_t kx = kx0; kx < kx1; ++kx, xt += tap_step, ++wt) {
              const uint32_t x01 = mcuq_load4((const int8_t *)(const void *)xt);
              const uint32_t x23 = mcuq_load4((const int8_t *)(const void *)(xt + 2));
              const uint32_t e = mcuq_sxtb16(*wt), o = mcuq_sxtb16_ror8(*wt);
              a0 = mcuq_smlabb(x01, e, a0);
              a1 = mcuq_smlatt(x01, e, a1);
              a2 = mcuq_smlabb(x23, o, a2);
              a3 = mcuq_smlatt(x23, o, a3);
            }
          }
          out[ch] = (int16_t)mcuq_rq16(a0, rq, lo, hi, wrap);
          out[ch + 1] = (int16_t)mcuq_rq16(a1, rq + MCUQ_RQ16_WORDS, lo, hi, wrap);
          out[ch + 2] = (int16_t)mcuq_rq16(a2, rq + 2 * MCUQ_RQ16_WORDS, lo, hi, wrap);
          out[ch + 3] = (int16_t)mcuq_rq16(a3, rq + 3 * MCUQ_RQ16_WORDS, lo, hi, wrap);
        }
        for (int32_t j = 0; ch < c; ++ch, ++j, rq += MCUQ_RQ16_WORDS) {
          static const int32_t byte_of[4] = {0, 2, 1, 3};
          const int8_t *wbytes = (const int8_t *)(const void *)wb + byte_of[j];
          int32_t a = 0;
          const int16_t *xr = base + ch;
          for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step) {
            const int16_t *xt = xr;
            for (int32_t kx = kx0; kx < kx1; ++kx, xt += tap_step)
              a += (int32_t)*xt * (int32_t)wbytes[4 * (ky * p->k_w + kx)];
          }
          out[ch] = (int16_t)mcuq_rq16(a, rq, lo, hi, wrap);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s16_fast(const mcuq_conv16_params_t *p, const int16_t *input,
                                  const int8_t *weights, int16_t *output) {
  if (p->rq_wrap) {
    mcuq_dw16_fast(p, input, weights, output, 1);
  } else {
    mcuq_dw16_fast(p, input, weights, output, 0);
  }
}
