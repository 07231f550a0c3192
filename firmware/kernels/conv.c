#include "conv.h"

#include "mcuq_fixedpoint.h"

/* Depthwise output channels accumulated together (a fixed-size block on the stack keeps the
 * contiguous channel axis innermost without a scratch buffer). */
#define MCUQ_DW_BLOCK 32

static inline int8_t mcuq_conv_out(int32_t acc, int32_t multiplier, int32_t shift,
                                   const mcuq_conv_params_t *p) {
  const int32_t v = mcuq_mbqm(acc, multiplier, shift) + p->output_offset;
  return (int8_t)mcuq_clamp(v, p->act_min, p->act_max);
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

static inline int32_t mcuq_dot_s8(const int8_t *restrict x, const int8_t *restrict w,
                                  int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (int32_t)x[i] * (int32_t)w[i];
  return acc;
}

void mcuq_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                  const int8_t *restrict weights, const int32_t *restrict bias,
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
              acc += mcuq_dot_s8(x_row + (ix0 + kx0) * in_c, w_row + kx0 * fic,
                                 (kx1 - kx0) * fic);
            } else {
              for (int32_t kx = kx0; kx < kx1; ++kx)
                acc += mcuq_dot_s8(x_row + (ix0 + kx * p->dil_w) * in_c, w_row + kx * fic, fic);
            }
          }
          if (border) { /* taps in the padding read the zero point (cancel the folded offset) */
            int32_t s = 0;
            for (int32_t ky = 0; ky < k_h; ++ky) {
              const int row_out = ky < ky0 || ky >= ky1;
              for (int32_t kx = 0; kx < k_w; ++kx) {
                if (row_out || kx < kx0 || kx >= kx1) {
                  const int8_t *wt = w + (ky * k_w + kx) * fic;
                  for (int32_t c = 0; c < fic; ++c) s += wt[c];
                }
              }
            }
            acc += zp * s;
          }
          out[o] = mcuq_conv_out(acc, p->multiplier[o], p->shift[o], p);
        }
      }
    }
  }
}

void mcuq_depthwise_conv_s8(const mcuq_conv_params_t *p, const int8_t *restrict input,
                            const int8_t *restrict weights, const int32_t *restrict bias,
                            int8_t *restrict output) {
  const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
  const int32_t out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
  const int32_t m = p->depth_multiplier;
  const int32_t zp = p->input_zero_point;
  int32_t acc[MCUQ_DW_BLOCK];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int32_t o0 = 0; o0 < out_c; o0 += MCUQ_DW_BLOCK) {
          const int32_t n = out_c - o0 < MCUQ_DW_BLOCK ? out_c - o0 : MCUQ_DW_BLOCK;
          for (int32_t j = 0; j < n; ++j) acc[j] = bias[o0 + j];
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
                  for (int32_t j = 0; j < n; ++j) acc[j] += (int32_t)x[j] * (int32_t)wt[j];
                } else {
                  for (int32_t j = 0; j < n; ++j)
                    acc[j] += (int32_t)x[(o0 + j) / m] * (int32_t)wt[j];
                }
              } else { /* padding: reads the zero point (cancels the folded offset) */
                for (int32_t j = 0; j < n; ++j) acc[j] += zp * (int32_t)wt[j];
              }
            }
          }
          for (int32_t j = 0; j < n; ++j)
            out[o0 + j] = mcuq_conv_out(acc[j], p->multiplier[o0 + j], p->shift[o0 + j], p);
        }
      }
    }
  }
}
