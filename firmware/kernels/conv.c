#include "conv.h"

#include "mcuq_fixedpoint.h"

/* The generic paths stay out of line: inlined into the dispatcher they would give it (and every
 * fast path through it) their stack frame. */
#if defined(__GNUC__)
#define MCUQ_NOINLINE __attribute__((noinline))
#else
#define MCUQ_NOINLINE
#endif

/* Depthwise output channels accumulated together (a fixed-size block on the stack keeps the
 * contiguous channel axis innermost without a scratch buffer). */
#define MCUQ_DW_BLOCK 32

/* Generic requantization: any shift, so the offset addition can wrap (as TFLM's does). */
static inline int8_t mcuq_conv_out(int32_t acc, int32_t multiplier, int32_t shift,
                                   const mcuq_conv_params_t *p) {
  const int32_t v = mcuq_add_wrap(mcuq_mbqm(acc, multiplier, shift), p->output_offset);
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
}

/* Shifts in [-31, -2]: |mcuq_requant_rshift(.)| < 2^30, the offset addition cannot wrap. */
static inline int8_t mcuq_conv_rq(int32_t acc, const mcuq_conv_params_t *p, int32_t c,
                                  int32_t offset, int32_t lo, int32_t hi) {
  const int32_t v = mcuq_requant_rshift(acc, p->multiplier[c], p->shift[c]);
  return (int8_t)mcuq_clamp(v + offset, lo, hi);
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

/* -- packed paths (mode 1 and 2) ------------------------------------------------------------ */

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

/* The patch of output pixel (oy, ox) in OHWI tap order; taps in the padding hold the zero
 * point, the k_padded - K tail holds zeros (its weights are zero). */
static void mcuq_im2col(const mcuq_conv_params_t *p, const int8_t *in_b, int32_t oy,
                        int32_t ox, int8_t *col) {
  const int32_t in_c = p->in_c, k_w = p->k_w;
  const int32_t row_bytes = k_w * in_c;
  const uint32_t zp4 = (uint32_t)(uint8_t)(int8_t)p->input_zero_point * 0x01010101u;
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

/* Two patches (xa, xb) times two weight rows (w0, w1), n a multiple of 4. */
static inline void mcuq_mac_2x2(const int8_t *xa, const int8_t *xb, const int8_t *w0,
                                const int8_t *w1, int32_t n, int32_t *a00, int32_t *a01,
                                int32_t *a10, int32_t *a11) {
  int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
  for (int32_t k = 0; k < n; k += 4) {
    const uint32_t va = mcuq_load4(xa + k), vb = mcuq_load4(xb + k);
    const uint32_t v0 = mcuq_load4(w0 + k), v1 = mcuq_load4(w1 + k);
    const uint32_t ae = mcuq_sxtb16(va), ao = mcuq_sxtb16_ror8(va);
    const uint32_t be = mcuq_sxtb16(vb), bo = mcuq_sxtb16_ror8(vb);
    const uint32_t e0 = mcuq_sxtb16(v0), o0 = mcuq_sxtb16_ror8(v0);
    s00 = mcuq_smlad(ae, e0, s00);
    s00 = mcuq_smlad(ao, o0, s00);
    s01 = mcuq_smlad(be, e0, s01);
    s01 = mcuq_smlad(bo, o0, s01);
    const uint32_t e1 = mcuq_sxtb16(v1), o1 = mcuq_sxtb16_ror8(v1);
    s10 = mcuq_smlad(ae, e1, s10);
    s10 = mcuq_smlad(ao, o1, s10);
    s11 = mcuq_smlad(be, e1, s11);
    s11 = mcuq_smlad(bo, o1, s11);
  }
  *a00 = s00;
  *a01 = s01;
  *a10 = s10;
  *a11 = s11;
}

/* Two patches times one weight row. */
static inline void mcuq_mac_2x1(const int8_t *xa, const int8_t *xb, const int8_t *w0,
                                int32_t n, int32_t *a00, int32_t *a01) {
  int32_t s00 = *a00, s01 = *a01;
  for (int32_t k = 0; k < n; k += 4) {
    const uint32_t va = mcuq_load4(xa + k), vb = mcuq_load4(xb + k);
    const uint32_t v0 = mcuq_load4(w0 + k);
    const uint32_t e0 = mcuq_sxtb16(v0), o0 = mcuq_sxtb16_ror8(v0);
    s00 = mcuq_smlad(mcuq_sxtb16(va), e0, s00);
    s00 = mcuq_smlad(mcuq_sxtb16_ror8(va), o0, s00);
    s01 = mcuq_smlad(mcuq_sxtb16(vb), e0, s01);
    s01 = mcuq_smlad(mcuq_sxtb16_ror8(vb), o0, s01);
  }
  *a00 = s00;
  *a01 = s01;
}

static void mcuq_conv_packed(const mcuq_conv_params_t *p, const int8_t *restrict input,
                             const int8_t *restrict weights, const int32_t *restrict bias,
                             int8_t *restrict output) {
  const int32_t in_c = p->in_c, out_c = p->out_c, kp = p->k_padded;
  const int32_t out_w = p->out_w, pixels = p->out_h * out_w;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
  int8_t col[2 * MCUQ_CONV_COL_MAX];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * p->in_h * p->in_w * in_c;
    int8_t *out_b = output + b * pixels * out_c;
    for (int32_t pix = 0; pix < pixels; pix += 2) {
      const int two = pix + 1 < pixels;
      const int32_t oya = pix / out_w, oxa = pix % out_w;
      const int32_t oyb = two ? (pix + 1) / out_w : oya, oxb = two ? (pix + 1) % out_w : oxa;
      const int8_t *xa, *xb;
      if (p->mode == 2) {
        xa = in_b + (oya * p->stride_h * p->in_w + oxa * p->stride_w) * in_c;
        xb = in_b + (oyb * p->stride_h * p->in_w + oxb * p->stride_w) * in_c;
      } else {
        mcuq_im2col(p, in_b, oya, oxa, col);
        xa = col;
        xb = col;
        if (two) {
          mcuq_im2col(p, in_b, oyb, oxb, col + kp);
          xb = col + kp;
        }
      }
      int8_t *oa = out_b + pix * out_c;
      int8_t *ob = two ? oa + out_c : oa;
      int32_t o = 0;
      for (; o + 2 <= out_c; o += 2) {
        const int8_t *w0 = weights + o * kp;
        int32_t a00 = bias[o], a01 = bias[o], a10 = bias[o + 1], a11 = bias[o + 1];
        mcuq_mac_2x2(xa, xb, w0, w0 + kp, kp, &a00, &a01, &a10, &a11);
        ob[o] = mcuq_conv_rq(a01, p, o, off, lo, hi);
        ob[o + 1] = mcuq_conv_rq(a11, p, o + 1, off, lo, hi);
        oa[o] = mcuq_conv_rq(a00, p, o, off, lo, hi);
        oa[o + 1] = mcuq_conv_rq(a10, p, o + 1, off, lo, hi);
      }
      if (o < out_c) {
        int32_t a00 = bias[o], a01 = bias[o];
        mcuq_mac_2x1(xa, xb, weights + o * kp, kp, &a00, &a01);
        ob[o] = mcuq_conv_rq(a01, p, o, off, lo, hi);
        oa[o] = mcuq_conv_rq(a00, p, o, off, lo, hi);
      }
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

/* -- depthwise ------------------------------------------------------------------------------ */

/* One tap of 4 channels: x and w words, SXTB16-unpacked, 4 multiply-accumulates. */
#define MCUQ_DW_TAP(xp, wp)                                                                  \
  do {                                                                                       \
    const uint32_t xv_ = mcuq_load4(xp), wv_ = mcuq_load4(wp);                               \
    const uint32_t xe_ = mcuq_sxtb16(xv_), xo_ = mcuq_sxtb16_ror8(xv_);                      \
    const uint32_t we_ = mcuq_sxtb16(wv_), wo_ = mcuq_sxtb16_ror8(wv_);                      \
    a0 = mcuq_smlabb(xe_, we_, a0);                                                          \
    a2 = mcuq_smlatt(xe_, we_, a2);                                                          \
    a1 = mcuq_smlabb(xo_, wo_, a1);                                                          \
    a3 = mcuq_smlatt(xo_, wo_, a3);                                                          \
  } while (0)

/* 4 channels (c .. c + 3) of one output pixel over the taps: a[j] = bias[j] + sum x * w. */
static inline void mcuq_dw_taps4(const int8_t *const *tap, const int8_t *wp, int32_t c,
                                 int32_t ch, int32_t taps, const int32_t *bias, int32_t *a) {
  int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
  for (const int8_t *const *end = tap + taps; tap != end; ++tap, wp += ch)
    MCUQ_DW_TAP(*tap + c, wp);
  a[0] = a0;
  a[1] = a1;
  a[2] = a2;
  a[3] = a3;
}

/* depth_multiplier == 1 (k_h * k_w <= MCUQ_DW_TAPS_MAX, channels <= MCUQ_DW_CH_MAX): per
 * output pixel a table of tap pointers (taps in the padding point at a row of zero points), then
 * 4 channels at a time in registers with one uniform loop over the taps. */
static void mcuq_depthwise_m1(const mcuq_conv_params_t *p, const int8_t *restrict input,
                              const int8_t *restrict weights, const int32_t *restrict bias,
                              int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, ch = p->out_c;
  const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
  const int32_t *restrict mult = p->multiplier, *restrict shift = p->shift;
  const int8_t *tap[MCUQ_DW_TAPS_MAX];
  int8_t zp_row[MCUQ_DW_CH_MAX];
  mcuq_fill_bytes(zp_row, (uint32_t)(uint8_t)(int8_t)p->input_zero_point * 0x01010101u, ch);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    int8_t *out = output + b * p->out_h * p->out_w * ch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox, out += ch) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int8_t **t = tap;
        for (int32_t ky = 0, iy = iy0; ky < k_h; ++ky, iy += p->dil_h) {
          if (iy < 0 || iy >= in_h) {
            for (int32_t kx = 0; kx < k_w; ++kx) *t++ = zp_row;
            continue;
          }
          const int8_t *row = in_b + iy * in_w * ch;
          for (int32_t kx = 0, ix = ix0; kx < k_w; ++kx, ix += p->dil_w)
            *t++ = ix >= 0 && ix < in_w ? row + ix * ch : zp_row;
        }
        int32_t c = 0;
        for (; c + 4 <= ch; c += 4) {
          int32_t a[4];
          mcuq_dw_taps4(tap, weights + c, c, ch, taps, bias + c, a);
          for (int32_t j = 0; j < 4; ++j) {
            const int32_t v = mcuq_requant_rshift(a[j], mult[c + j], shift[c + j]);
            out[c + j] = (int8_t)mcuq_clamp(v + off, lo, hi);
          }
        }
        for (; c < ch; ++c) {
          uint32_t a = (uint32_t)bias[c];
          for (int32_t k = 0; k < taps; ++k)
            a += (uint32_t)((int32_t)tap[k][c] * (int32_t)weights[k * ch + c]);
          out[c] = mcuq_conv_rq((int32_t)a, p, c, off, lo, hi);
        }
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
    mcuq_depthwise_m1(p, input, weights, bias, output);
  } else {
    mcuq_depthwise_generic(p, input, weights, bias, output);
  }
}
