#include "packed.h"

#include <stddef.h>

#include "mcuq_fixedpoint.h"

/* -- decoding -------------------------------------------------------------------------------- */

/* 8 indices of K <= 4 bits from K bytes (one 32-bit word). */
#define MCUQ_LUT_GROUP_W(K)                                                                  \
  for (; n >= 8; n -= 8, src += (K), dst += 8) {                                             \
    const uint32_t m_ = (1u << (K)) - 1u;                                                    \
    uint32_t v_ = src[0];                                                                    \
    if ((K) > 1) v_ |= (uint32_t)src[(K) > 1 ? 1 : 0] << 8;                                  \
    if ((K) > 2) v_ |= (uint32_t)src[(K) > 2 ? 2 : 0] << 16;                                 \
    if ((K) > 3) v_ |= (uint32_t)src[(K) > 3 ? 3 : 0] << 24;                                 \
    dst[0] = tab[v_ & m_];                                                                   \
    dst[1] = tab[(v_ >> (K)) & m_];                                                          \
    dst[2] = tab[(v_ >> (2 * (K))) & m_];                                                    \
    dst[3] = tab[(v_ >> (3 * (K))) & m_];                                                    \
    dst[4] = tab[(v_ >> (4 * (K))) & m_];                                                    \
    dst[5] = tab[(v_ >> (5 * (K))) & m_];                                                    \
    dst[6] = tab[(v_ >> (6 * (K))) & m_];                                                    \
    dst[7] = tab[(v_ >> (7 * (K))) & m_];                                                    \
  }

/* 8 indices of K = 5 or 6 bits from K bytes: two 24-bit reads of 4 indices each (the second
 * starts at bit 4K: byte 4K / 8, shifted by 4K % 8). */
#define MCUQ_LUT_GROUP_H(K)                                                                  \
  for (; n >= 8; n -= 8, src += (K), dst += 8) {                                             \
    const uint32_t m_ = (1u << (K)) - 1u;                                                    \
    const uint32_t lo_ = src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16;            \
    const uint8_t *h_ = src + (4 * (K)) / 8;                                                 \
    const uint32_t hi_ =                                                                     \
        (h_[0] | (uint32_t)h_[1] << 8 | (uint32_t)h_[2] << 16) >> ((4 * (K)) % 8);           \
    dst[0] = tab[lo_ & m_];                                                                  \
    dst[1] = tab[(lo_ >> (K)) & m_];                                                         \
    dst[2] = tab[(lo_ >> (2 * (K))) & m_];                                                   \
    dst[3] = tab[(lo_ >> (3 * (K))) & m_];                                                   \
    dst[4] = tab[hi_ & m_];                                                                  \
    dst[5] = tab[(hi_ >> (K)) & m_];                                                         \
    dst[6] = tab[(hi_ >> (2 * (K))) & m_];                                                   \
    dst[7] = tab[(hi_ >> (3 * (K))) & m_];                                                   \
  }

/* The last n < 8 indices: a bit buffer refilled byte by byte, so exactly ceil(n * k / 8)
 * bytes are read (the segment's last byte may be part-filled; nothing after it is touched). */
static void mcuq_lut_tail(const uint8_t *src, int32_t k, const int8_t *tab, int8_t *dst,
                          int32_t n) {
  const uint32_t mask = (1u << k) - 1u;
  uint32_t buf = 0;
  int32_t have = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (have < k) {
      buf |= (uint32_t)*src++ << have;
      have += 8;
    }
    dst[i] = tab[buf & mask];
    buf >>= k;
    have -= k;
  }
}

/* One decoder per width, its loop unrolled with constant shifts. */
#define MCUQ_LUT_DECODER(K, GROUP)                                                           \
  void mcuq_lut_decode_##K(const uint8_t *src, const int8_t *tab, int8_t *dst, int32_t n) { \
    GROUP(K)                                                                                 \
    mcuq_lut_tail(src, K, tab, dst, n);                                                      \
  }

MCUQ_LUT_DECODER(1, MCUQ_LUT_GROUP_W)
MCUQ_LUT_DECODER(2, MCUQ_LUT_GROUP_W)
MCUQ_LUT_DECODER(3, MCUQ_LUT_GROUP_W)
MCUQ_LUT_DECODER(4, MCUQ_LUT_GROUP_W)
MCUQ_LUT_DECODER(5, MCUQ_LUT_GROUP_H)
MCUQ_LUT_DECODER(6, MCUQ_LUT_GROUP_H)

void mcuq_lut_decode(const mcuq_lut_t *w, int32_t segment, int8_t *dst) {
  const uint8_t *src = w->indices + (size_t)segment * (size_t)w->segment_bytes;
  const int8_t *tab = w->tables + (w->channels > 1 ? (segment % w->channels) * w->stride : 0);
  w->decode(src, tab, dst, w->segment_len);
}

/* -- shared helpers -------------------------------------------------------------------------- */

static inline int8_t mcuq_lut_rq(int32_t acc, int32_t multiplier, int32_t shift, int32_t fast,
                                 int32_t offset, int32_t lo, int32_t hi) {
  if (fast) return (int8_t)mcuq_clamp(mcuq_requant_rshift(acc, multiplier, shift) + offset, lo, hi);
  return (int8_t)mcuq_clamp(mcuq_add_wrap(mcuq_mbqm(acc, multiplier, shift), offset), lo, hi);
}

/* sum x[i] * w[i] added to acc modulo 2^32 (TFLM's int32 accumulators wrap). */
static inline int32_t mcuq_lut_dot(const int8_t *x, const int8_t *w, int32_t n, int32_t acc) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t xv = mcuq_load4(x + i), wv = mcuq_load4(w + i);
    acc = mcuq_smlad(mcuq_sxtb16(xv), mcuq_sxtb16(wv), acc);
    acc = mcuq_smlad(mcuq_sxtb16_ror8(xv), mcuq_sxtb16_ror8(wv), acc);
  }
  for (; i < n; ++i) acc = mcuq_add_wrap(acc, (int32_t)x[i] * (int32_t)w[i]);
  return acc;
}

/* Two inputs against one weight run (the weights are loaded and unpacked once). */
static inline void mcuq_lut_dot2(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t n,
                                 int32_t *a, int32_t *b) {
  int32_t sa = *a, sb = *b, i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t wv = mcuq_load4(w + i);
    const uint32_t we = mcuq_sxtb16(wv), wo = mcuq_sxtb16_ror8(wv);
    const uint32_t va = mcuq_load4(xa + i), vb = mcuq_load4(xb + i);
    sa = mcuq_smlad(mcuq_sxtb16(va), we, sa);
    sa = mcuq_smlad(mcuq_sxtb16_ror8(va), wo, sa);
    sb = mcuq_smlad(mcuq_sxtb16(vb), we, sb);
    sb = mcuq_smlad(mcuq_sxtb16_ror8(vb), wo, sb);
  }
  for (; i < n; ++i) {
    sa = mcuq_add_wrap(sa, (int32_t)xa[i] * (int32_t)w[i]);
    sb = mcuq_add_wrap(sb, (int32_t)xb[i] * (int32_t)w[i]);
  }
  *a = sa;
  *b = sb;
}

/* Four inputs x0 + j * step (j = 0..3) against one weight run: the weights are loaded and
 * unpacked once per word, each input word once. */
static inline void mcuq_lut_dot4(const int8_t *x0, int32_t step, const int8_t *w, int32_t n,
                                 int32_t *acc) {
  const int8_t *x1 = x0 + step, *x2 = x1 + step, *x3 = x2 + step;
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3], i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t wv = mcuq_load4(w + i);
    const uint32_t we = mcuq_sxtb16(wv), wo = mcuq_sxtb16_ror8(wv);
    uint32_t v = mcuq_load4(x0 + i);
    s0 = mcuq_smlad(mcuq_sxtb16(v), we, s0);
    s0 = mcuq_smlad(mcuq_sxtb16_ror8(v), wo, s0);
    v = mcuq_load4(x1 + i);
    s1 = mcuq_smlad(mcuq_sxtb16(v), we, s1);
    s1 = mcuq_smlad(mcuq_sxtb16_ror8(v), wo, s1);
    v = mcuq_load4(x2 + i);
    s2 = mcuq_smlad(mcuq_sxtb16(v), we, s2);
    s2 = mcuq_smlad(mcuq_sxtb16_ror8(v), wo, s2);
    v = mcuq_load4(x3 + i);
    s3 = mcuq_smlad(mcuq_sxtb16(v), we, s3);
    s3 = mcuq_smlad(mcuq_sxtb16_ror8(v), wo, s3);
  }
  for (; i < n; ++i) {
    const int32_t wt = w[i];
    s0 = mcuq_add_wrap(s0, (int32_t)x0[i] * wt);
    s1 = mcuq_add_wrap(s1, (int32_t)x1[i] * wt);
    s2 = mcuq_add_wrap(s2, (int32_t)x2[i] * wt);
    s3 = mcuq_add_wrap(s3, (int32_t)x3[i] * wt);
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
}

/* First and one-past-last filter tap k with 0 <= origin + k * dil < size. */
static inline void mcuq_lut_valid_taps(int32_t origin, int32_t dil, int32_t size, int32_t taps,
                                       int32_t *lo, int32_t *hi) {
  int32_t a = origin < 0 ? (-origin + dil - 1) / dil : 0;
  int32_t b = size - origin <= 0 ? 0 : (size - origin + dil - 1) / dil;
  if (b > taps) b = taps;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* Weight sums of the decoded filter, per tap (taps of `per_tap` values), modulo 2^32. */
static void mcuq_lut_tap_sums(const int8_t *w, int32_t taps, int32_t per_tap, uint32_t *sums) {
  for (int32_t t = 0; t < taps; ++t, w += per_tap) {
    uint32_t s = 0;
    for (int32_t c = 0; c < per_tap; ++c) s += (uint32_t)(int32_t)w[c];
    sums[t] = s;
  }
}

/* Sum of the weights of the taps outside [ky0, ky1) x [kx0, kx1), modulo 2^32: a tap in the
 * padding reads the zero point (cancels the folded offset). From the per-tap sums when given,
 * else from the weights (taps of `per_tap` values). */
static uint32_t mcuq_lut_outside_sum(const int8_t *w, const uint32_t *sums, int32_t k_h,
                                     int32_t k_w, int32_t per_tap, int32_t ky0, int32_t ky1,
                                     int32_t kx0, int32_t kx1) {
  uint32_t s = 0;
  for (int32_t ky = 0; ky < k_h; ++ky) {
    const int row_out = ky < ky0 || ky >= ky1;
    for (int32_t kx = 0; kx < k_w; ++kx) {
      if (row_out || kx < kx0 || kx >= kx1) {
        if (sums) {
          s += sums[ky * k_w + kx];
        } else {
          const int8_t *t = w + (ky * k_w + kx) * per_tap;
          for (int32_t c = 0; c < per_tap; ++c) s += (uint32_t)(int32_t)t[c];
        }
      }
    }
  }
  return s;
}

/* -- CONV_2D --------------------------------------------------------------------------------- */

/* One output pixel of a channel with its filter decoded in w, any geometry: the taps inside
 * the image, then the zero point times the weights of the taps in the padding. */
static int32_t mcuq_lut_conv_pixel(const mcuq_lut_conv_params_t *p, const int8_t *in_b,
                                   const int8_t *w, const uint32_t *sums, int32_t group_off,
                                   int32_t iy0, int32_t ky0, int32_t ky1, int32_t ix0,
                                   int32_t acc) {
  const int32_t in_c = p->in_c, fic = p->filter_in_c, k_w = p->k_w;
  int32_t kx0, kx1;
  mcuq_lut_valid_taps(ix0, p->dil_w, p->in_w, k_w, &kx0, &kx1);
  const int contiguous = fic == in_c && p->dil_w == 1;
  for (int32_t ky = ky0; ky < ky1; ++ky) {
    const int8_t *x_row = in_b + (iy0 + ky * p->dil_h) * p->in_w * in_c + group_off;
    const int8_t *w_row = w + ky * k_w * fic;
    if (contiguous) {
      acc = mcuq_lut_dot(x_row + (ix0 + kx0) * in_c, w_row + kx0 * fic, (kx1 - kx0) * fic, acc);
    } else {
      for (int32_t kx = kx0; kx < kx1; ++kx)
        acc = mcuq_lut_dot(x_row + (ix0 + kx * p->dil_w) * in_c, w_row + kx * fic, fic, acc);
    }
  }
  if (ky0 > 0 || ky1 < p->k_h || kx0 > 0 || kx1 < k_w) {
    const uint32_t s = mcuq_lut_outside_sum(w, sums, p->k_h, k_w, fic, ky0, ky1, kx0, kx1);
    acc = mcuq_add_wrap(acc, (int32_t)((uint32_t)p->input_zero_point * s));
  }
  return acc;
}

/* Modes 0 and 1: one channel at a time over every output pixel (see packed.h). */
static void mcuq_conv_lut_channels(const mcuq_lut_conv_params_t *p, const int8_t *input,
                                   const mcuq_lut_t *weights, const int32_t *bias,
                                   int8_t *output, int8_t *scratch) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
  const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t fic = p->filter_in_c, per_group = out_c / (in_c / fic);
  const int32_t row_len = k_w * fic, step_x = p->stride_w * in_c;
  const int32_t row_step = p->dil_h * in_w * in_c, taps = k_h * k_w;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max, fast = p->fast_rq;
  uint32_t sums[MCUQ_LUT_TAPS_MAX];
  const uint32_t *tap_sums = taps <= MCUQ_LUT_TAPS_MAX ? sums : NULL;
  /* mode 1: output columns whose window lies inside the image horizontally: [ox_lo, ox_hi) */
  int32_t ox_lo = 0, ox_hi = 0;
  if (p->mode == 1) {
    while (ox_lo < out_w && ox_lo * p->stride_w - p->pad_w < 0) ++ox_lo;
    ox_hi = ox_lo;
    while (ox_hi < out_w && ox_hi * p->stride_w - p->pad_w + k_w - 1 < in_w) ++ox_hi;
  }
  for (int32_t o = 0; o < out_c; ++o) {
    mcuq_lut_decode(weights, o, scratch);
    if (tap_sums) mcuq_lut_tap_sums(scratch, taps, fic, sums);
    const int32_t group_off = (o / per_group) * fic;
    const int32_t m = p->multiplier[o], sh = p->shift[o], b0 = bias[o];
    for (int32_t b = 0; b < p->batches; ++b) {
      const int8_t *in_b = input + b * in_h * in_w * in_c;
      int8_t *out_b = output + b * out_h * out_w * out_c + o;
      for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int32_t ky0, ky1;
        mcuq_lut_valid_taps(iy0, p->dil_h, in_h, k_h, &ky0, &ky1);
        const int rows_full = p->mode == 1 && ky0 == 0 && ky1 == k_h;
        int8_t *out_row = out_b + oy * out_w * out_c;
        int32_t ox = 0;
        while (ox < out_w) {
          const int32_t ix0 = ox * p->stride_w - p->pad_w;
          if (rows_full && ox >= ox_lo && ox < ox_hi) {
            const int8_t *xa = in_b + iy0 * in_w * in_c + ix0 * in_c;
            if (ox + 4 <= ox_hi) { /* four interior pixels: each filter row read once */
              int32_t a[4] = {b0, b0, b0, b0};
              for (int32_t ky = 0; ky < k_h; ++ky)
                mcuq_lut_dot4(xa + ky * row_step, step_x, scratch + ky * row_len, row_len, a);
              for (int32_t j = 0; j < 4; ++j)
                out_row[(ox + j) * out_c] = mcuq_lut_rq(a[j], m, sh, fast, off, lo, hi);
              ox += 4;
              continue;
            }
            if (ox + 2 <= ox_hi) {
              int32_t a0 = b0, a1 = b0;
              for (int32_t ky = 0; ky < k_h; ++ky)
                mcuq_lut_dot2(xa + ky * row_step, xa + ky * row_step + step_x,
                              scratch + ky * row_len, row_len, &a0, &a1);
              out_row[ox * out_c] = mcuq_lut_rq(a0, m, sh, fast, off, lo, hi);
              out_row[(ox + 1) * out_c] = mcuq_lut_rq(a1, m, sh, fast, off, lo, hi);
              ox += 2;
              continue;
            }
          }
          const int32_t acc = mcuq_lut_conv_pixel(p, in_b, scratch, tap_sums, group_off, iy0,
                                                  ky0, ky1, ix0, b0);
          out_row[ox * out_c] = mcuq_lut_rq(acc, m, sh, fast, off, lo, hi);
          ++ox;
        }
      }
    }
  }
}

/* Small copies and fills for the patches (no library call: newlib-nano's are bytewise). */
static inline void mcuq_lut_copy(int8_t *restrict d, const int8_t *restrict s, int32_t n) {
  for (; n >= 4; n -= 4, d += 4, s += 4) mcuq_store4(d, mcuq_load4(s));
  for (; n > 0; --n) *d++ = *s++;
}

static inline void mcuq_lut_fill(int8_t *d, int8_t v, int32_t n) {
  const uint32_t v4 = (uint32_t)(uint8_t)v * 0x01010101u;
  for (; n >= 4; n -= 4, d += 4) mcuq_store4(d, v4);
  for (; n > 0; --n) *d++ = v;
}

/* The patch of output pixel (oy, ox) in OHWI tap order (one group); taps in the padding hold
 * the zero point, the k_padded - K tail zeros (the decoded filter's tail is zero too). */
static void mcuq_lut_im2col(const mcuq_lut_conv_params_t *p, const int8_t *in_b, int32_t oy,
                            int32_t ox, int8_t *col) {
  const int32_t in_c = p->in_c, k_w = p->k_w, row_bytes = k_w * in_c;
  const int8_t zp = (int8_t)p->input_zero_point;
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  int32_t kx0, kx1;
  mcuq_lut_valid_taps(ix0, p->dil_w, p->in_w, k_w, &kx0, &kx1);
  int8_t *d = col;
  for (int32_t ky = 0; ky < p->k_h; ++ky, d += row_bytes) {
    const int32_t iy = iy0 + ky * p->dil_h;
    if (iy < 0 || iy >= p->in_h || kx0 == kx1) {
      mcuq_lut_fill(d, zp, row_bytes);
      continue;
    }
    mcuq_lut_fill(d, zp, kx0 * in_c);
    const int8_t *row = in_b + iy * p->in_w * in_c;
    if (p->dil_w == 1) {
      mcuq_lut_copy(d + kx0 * in_c, row + (ix0 + kx0) * in_c, (kx1 - kx0) * in_c);
    } else {
      for (int32_t kx = kx0; kx < kx1; ++kx)
        mcuq_lut_copy(d + kx * in_c, row + (ix0 + kx * p->dil_w) * in_c, in_c);
    }
    mcuq_lut_fill(d + kx1 * in_c, zp, (k_w - kx1) * in_c);
  }
  mcuq_lut_fill(d, 0, p->k_padded - p->k_h * row_bytes);
}

/* Mode 2: blocks of output pixels whose patches are gathered once; every channel's filter is
 * decoded per block and applied to the block's patches four at a time. */
static void mcuq_conv_lut_blocked(const mcuq_lut_conv_params_t *p, const int8_t *input,
                                  const mcuq_lut_t *weights, const int32_t *bias,
                                  int8_t *output, int8_t *scratch) {
  const int32_t kp = p->k_padded, out_c = p->out_c, out_w = p->out_w;
  const int32_t pixels = p->out_h * out_w, block = MCUQ_LUT_COL_BYTES / kp;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max, fast = p->fast_rq;
  int8_t col[MCUQ_LUT_COL_BYTES];
  mcuq_lut_fill(scratch + weights->segment_len, 0, kp - weights->segment_len);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * p->in_c;
    int8_t *out_b = output + b * pixels * out_c;
    for (int32_t p0 = 0; p0 < pixels; p0 += block) {
      const int32_t n = pixels - p0 < block ? pixels - p0 : block;
      for (int32_t j = 0; j < n; ++j)
        mcuq_lut_im2col(p, in_b, (p0 + j) / out_w, (p0 + j) % out_w, col + j * kp);
      for (int32_t o = 0; o < out_c; ++o) {
        mcuq_lut_decode(weights, o, scratch);
        const int32_t m = p->multiplier[o], sh = p->shift[o], b0 = bias[o];
        int8_t *out = out_b + p0 * out_c + o;
        int32_t j = 0;
        for (; j + 4 <= n; j += 4) {
          int32_t a[4] = {b0, b0, b0, b0};
          mcuq_lut_dot4(col + j * kp, kp, scratch, kp, a);
          for (int32_t t = 0; t < 4; ++t)
            out[(j + t) * out_c] = mcuq_lut_rq(a[t], m, sh, fast, off, lo, hi);
        }
        for (; j < n; ++j)
          out[j * out_c] =
              mcuq_lut_rq(mcuq_lut_dot(col + j * kp, scratch, kp, b0), m, sh, fast, off, lo, hi);
      }
    }
  }
}

void mcuq_conv_lut_s8(const mcuq_lut_conv_params_t *p, const int8_t *input,
                      const mcuq_lut_t *weights, const int32_t *bias, int8_t *output,
                      int8_t *scratch) {
  if (p->mode == 2) {
    mcuq_conv_lut_blocked(p, input, weights, bias, output, scratch);
  } else {
    mcuq_conv_lut_channels(p, input, weights, bias, output, scratch);
  }
}

/* -- DEPTHWISE_CONV_2D ----------------------------------------------------------------------- */

/* depth_multiplier 1, at most MCUQ_LUT_TAPS_MAX taps: channels [0, c_end) (a multiple of 4)
 * four at a time, as the plain kernel: the four filters decoded one by one through scratch and
 * interleaved into two SXTB16-ordered words per tap, then every output pixel with 4
 * accumulators; taps in the padding read a word of zero points (the folded bias cancels them). */
static void mcuq_dw_lut_quads(const mcuq_lut_conv_params_t *p, const int8_t *input,
                              const mcuq_lut_t *weights, const int32_t *bias, int8_t *output,
                              int8_t *scratch, int32_t c_end) {
  const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->out_c;
  const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max, fast = p->fast_rq;
  const uint32_t zp = mcuq_sxtb16((uint32_t)(uint8_t)(int8_t)p->input_zero_point * 0x01010101u);
  uint32_t we[MCUQ_LUT_TAPS_MAX], wo[MCUQ_LUT_TAPS_MAX]; /* channels (0, 2) and (1, 3) */
  int32_t tap_off[MCUQ_LUT_TAPS_MAX];
  for (int32_t ky = 0; ky < k_h; ++ky)
    for (int32_t kx = 0; kx < k_w; ++kx)
      tap_off[ky * k_w + kx] = (ky * p->dil_h * in_w + kx * p->dil_w) * ch;
  for (int32_t c0 = 0; c0 < c_end; c0 += 4) {
    for (int32_t j = 0; j < 4; ++j) {
      mcuq_lut_decode(weights, c0 + j, scratch);
      uint32_t *dst = (j & 1) ? wo : we;
      const int32_t sh16 = (j & 2) ? 16 : 0;
      for (int32_t t = 0; t < taps; ++t) {
        const uint32_t v = ((uint32_t)(int32_t)scratch[t] & 0xffffu) << sh16;
        dst[t] = sh16 ? (dst[t] | v) : v;
      }
    }
    const int32_t *m = p->multiplier + c0, *sh = p->shift + c0;
    for (int32_t b = 0; b < p->batches; ++b) {
      const int8_t *in_b = input + b * in_h * in_w * ch + c0;
      int8_t *out = output + b * p->out_h * p->out_w * ch + c0;
      for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int32_t ky0, ky1;
        mcuq_lut_valid_taps(iy0, p->dil_h, in_h, k_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < p->out_w; ++ox, out += ch) {
          const int32_t ix0 = ox * p->stride_w - p->pad_w;
          const int32_t pix = (iy0 * in_w + ix0) * ch;
          int32_t kx0, kx1;
          mcuq_lut_valid_taps(ix0, p->dil_w, in_w, k_w, &kx0, &kx1);
          int32_t a0 = bias[c0], a1 = bias[c0 + 1], a2 = bias[c0 + 2], a3 = bias[c0 + 3];
          if (ky0 == 0 && ky1 == k_h && kx0 == 0 && kx1 == k_w) {
            for (int32_t t = 0; t < taps; ++t) {
              const uint32_t v = mcuq_load4(in_b + (pix + tap_off[t]));
              const uint32_t xe = mcuq_sxtb16(v), xo = mcuq_sxtb16_ror8(v);
              a0 = mcuq_smlabb(xe, we[t], a0);
              a2 = mcuq_smlatt(xe, we[t], a2);
              a1 = mcuq_smlabb(xo, wo[t], a1);
              a3 = mcuq_smlatt(xo, wo[t], a3);
            }
          } else {
            for (int32_t ky = 0, t = 0; ky < k_h; ++ky) {
              const int row_in = ky >= ky0 && ky < ky1;
              for (int32_t kx = 0; kx < k_w; ++kx, ++t) {
                uint32_t xe = zp, xo = zp;
                if (row_in && kx >= kx0 && kx < kx1) {
                  const uint32_t v = mcuq_load4(in_b + (pix + tap_off[t]));
                  xe = mcuq_sxtb16(v);
                  xo = mcuq_sxtb16_ror8(v);
                }
                a0 = mcuq_smlabb(xe, we[t], a0);
                a2 = mcuq_smlatt(xe, we[t], a2);
                a1 = mcuq_smlabb(xo, wo[t], a1);
                a3 = mcuq_smlatt(xo, wo[t], a3);
              }
            }
          }
          out[0] = mcuq_lut_rq(a0, m[0], sh[0], fast, off, lo, hi);
          out[1] = mcuq_lut_rq(a1, m[1], sh[1], fast, off, lo, hi);
          out[2] = mcuq_lut_rq(a2, m[2], sh[2], fast, off, lo, hi);
          out[3] = mcuq_lut_rq(a3, m[3], sh[3], fast, off, lo, hi);
        }
      }
    }
  }
}

/* Any depth multiplier and filter size: one channel at a time (channels [c_begin, out_c)). */
static void mcuq_dw_lut_channels(const mcuq_lut_conv_params_t *p, const int8_t *input,
                                 const mcuq_lut_t *weights, const int32_t *bias,
                                 int8_t *output, int8_t *scratch, int32_t c_begin) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
  const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
  const int32_t dh = p->dil_h * in_w * in_c, dw = p->dil_w * in_c, step_x = p->stride_w * in_c;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max, fast = p->fast_rq;
  const int32_t taps = k_h * k_w;
  const uint32_t uzp = (uint32_t)p->input_zero_point;
  uint32_t sums[MCUQ_LUT_TAPS_MAX];
  const uint32_t *tap_sums = taps <= MCUQ_LUT_TAPS_MAX ? sums : NULL;
  for (int32_t c = c_begin; c < out_c; ++c) {
    mcuq_lut_decode(weights, c, scratch);
    if (tap_sums) mcuq_lut_tap_sums(scratch, taps, 1, sums);
    const int8_t *w = scratch;
    const int32_t m = p->multiplier[c], sh = p->shift[c], b0 = bias[c];
    const int32_t ic = c / p->depth_multiplier;
    for (int32_t b = 0; b < p->batches; ++b) {
      const int8_t *in_b = input + b * in_h * in_w * in_c + ic;
      int8_t *out_b = output + b * out_h * out_w * out_c + c;
      for (int32_t oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int32_t ky0, ky1;
        mcuq_lut_valid_taps(iy0, p->dil_h, in_h, k_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < out_w; ++ox) {
          const int32_t ix0 = ox * p->stride_w - p->pad_w;
          int32_t kx0, kx1;
          mcuq_lut_valid_taps(ix0, p->dil_w, in_w, k_w, &kx0, &kx1);
          const int8_t *x0 = in_b + iy0 * in_w * in_c + ix0 * in_c;
          uint32_t a = (uint32_t)b0, a2 = 0;
          const int pair = kx0 == 0 && kx1 == k_w && ox + 1 < out_w &&
                           ix0 + p->stride_w + (k_w - 1) * p->dil_w < in_w;
          if (pair) a2 = (uint32_t)b0; /* the next pixel has the same rows, all columns inside */
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int8_t *xr = x0 + ky * dh;
            const int8_t *wr = w + ky * k_w;
            if (pair) {
              for (int32_t kx = 0; kx < k_w; ++kx) {
                const int32_t wt = wr[kx];
                a += (uint32_t)((int32_t)xr[kx * dw] * wt);
                a2 += (uint32_t)((int32_t)xr[kx * dw + step_x] * wt);
              }
            } else {
              for (int32_t kx = kx0; kx < kx1; ++kx)
                a += (uint32_t)((int32_t)xr[kx * dw] * (int32_t)wr[kx]);
            }
          }
          if (ky0 > 0 || ky1 < k_h || kx0 > 0 || kx1 < k_w) {
            a += uzp * mcuq_lut_outside_sum(w, tap_sums, k_h, k_w, 1, ky0, ky1, kx0, kx1);
            if (pair) a2 += uzp * mcuq_lut_outside_sum(w, tap_sums, k_h, k_w, 1, ky0, ky1, 0, k_w);
          }
          out_b[(oy * out_w + ox) * out_c] = mcuq_lut_rq((int32_t)a, m, sh, fast, off, lo, hi);
          if (pair) {
            ++ox;
            out_b[(oy * out_w + ox) * out_c] =
                mcuq_lut_rq((int32_t)a2, m, sh, fast, off, lo, hi);
          }
        }
      }
    }
  }
}

void mcuq_depthwise_conv_lut_s8(const mcuq_lut_conv_params_t *p, const int8_t *input,
                                const mcuq_lut_t *weights, const int32_t *bias,
                                int8_t *output, int8_t *scratch) {
  int32_t c_quads = 0;
  if (p->depth_multiplier == 1 && p->k_h * p->k_w <= MCUQ_LUT_TAPS_MAX) {
    c_quads = p->out_c & ~3;
    mcuq_dw_lut_quads(p, input, weights, bias, output, scratch, c_quads);
  }
  if (c_quads < p->out_c) mcuq_dw_lut_channels(p, input, weights, bias, output, scratch, c_quads);
}

/* -- FULLY_CONNECTED ------------------------------------------------------------------------- */

void mcuq_fully_connected_lut_s8(const mcuq_lut_fc_params_t *p, const int8_t *input,
                                 const mcuq_lut_t *weights, const int32_t *bias,
                                 int8_t *output, int8_t *scratch) {
  const int32_t depth = p->accum_depth, out_depth = p->out_depth;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max, fast = p->fast_rq;
  for (int32_t o = 0; o < out_depth; ++o) {
    mcuq_lut_decode(weights, o, scratch);
    const int32_t m = p->multiplier[o], sh = p->shift[o];
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2) {
      int32_t a0 = bias[o], a1 = bias[o];
      mcuq_lut_dot2(input + b * depth, input + (b + 1) * depth, scratch, depth, &a0, &a1);
      output[b * out_depth + o] = mcuq_lut_rq(a0, m, sh, fast, off, lo, hi);
      output[(b + 1) * out_depth + o] = mcuq_lut_rq(a1, m, sh, fast, off, lo, hi);
    }
    if (b < p->batches) {
      const int32_t a0 = mcuq_lut_dot(input + b * depth, scratch, depth, bias[o]);
      output[b * out_depth + o] = mcuq_lut_rq(a0, m, sh, fast, off, lo, hi);
    }
  }
}

/* -- TRANSPOSE_CONV -------------------------------------------------------------------------- */

void mcuq_transpose_conv_lut_s8(const mcuq_lut_transpose_conv_params_t *p,
                                const int8_t *input, const mcuq_lut_t *weights,
                                const int32_t *bias, int8_t *output, int8_t *scratch) {
  const int32_t ci = p->in_c, oc_n = p->out_c;
  for (int32_t oc = 0; oc < oc_n; ++oc) {
    mcuq_lut_decode(weights, oc, scratch);
    for (int32_t n = 0; n < p->batches; ++n) {
      const int8_t *image = input + (size_t)n * (size_t)p->in_h * (size_t)p->in_w * (size_t)ci;
      int8_t *out = output + (size_t)n * (size_t)p->out_h * (size_t)p->out_w * (size_t)oc_n;
      for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
          uint32_t acc = 0; /* int32 sums wrapping like TFLM's scratch */
          for (int32_t fy = 0; fy < p->k_h; ++fy) {
            const int32_t ty = oy + p->pad_h - fy;
            if (ty < 0 || ty % p->stride_h != 0) continue;
            const int32_t iy = ty / p->stride_h;
            if (iy >= p->in_h) continue;
            for (int32_t fx = 0; fx < p->k_w; ++fx) {
              const int32_t tx = ox + p->pad_w - fx;
              if (tx < 0 || tx % p->stride_w != 0) continue;
              const int32_t ix = tx / p->stride_w;
              if (ix >= p->in_w) continue;
              const int8_t *px = image + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)ci;
              const int8_t *wt = scratch + ((size_t)fy * (size_t)p->k_w + (size_t)fx) * (size_t)ci;
              for (int32_t c = 0; c < ci; ++c)
                acc += (uint32_t)((px[c] + p->input_offset) * wt[c]); /* |.| <= 255 * 128 */
            }
          }
          if (bias) acc += (uint32_t)bias[oc];
          const int32_t v = mcuq_mbqm((int32_t)acc, p->multiplier[oc], p->shift[oc]) +
                            p->output_offset;
          out[((size_t)oy * (size_t)p->out_w + (size_t)ox) * (size_t)oc_n + (size_t)oc] =
              (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* -- BATCH_MATMUL (constant right-hand side) -------------------------------------------------- */

void mcuq_batch_matmul_lut_s8(const mcuq_lut_batch_matmul_params_t *p, const int8_t *lhs,
                              const mcuq_lut_t *rhs, int8_t *output, int8_t *scratch) {
  const int32_t rows = p->rows, cols = p->cols, depth = p->depth;
  int8_t *out = output;
  for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
    for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
      for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
        const int8_t *l = lhs + b0 * p->lhs_batch_stride[0] + b1 * p->lhs_batch_stride[1] +
                          b2 * p->lhs_batch_stride[2];
        const int32_t r = b0 * p->rhs_matrix_stride[0] + b1 * p->rhs_matrix_stride[1] +
                          b2 * p->rhs_matrix_stride[2];
        for (int32_t j = 0; j < cols; ++j) {
          mcuq_lut_decode(rhs, r * cols + j, scratch);
          for (int32_t i = 0; i < rows; ++i) {
            uint32_t acc = 0; /* int32 sum, wrapping like TFLM's */
            for (int32_t k = 0; k < depth; ++k) {
              const int32_t a = l[i * p->lhs_row_stride + k * p->lhs_depth_stride] + p->lhs_offset;
              acc += (uint32_t)(a * (scratch[k] + p->rhs_offset)); /* |.| <= 255 * 255 */
            }
            const int32_t v = mcuq_mbqm((int32_t)acc, p->multiplier, p->shift) + p->output_offset;
            out[i * cols + j] = (int8_t)mcuq_clamp(v, -128, 127);
          }
        }
        out += rows * cols;
      }
    }
  }
}
