#include "depthwise_inplace.h"

#include <string.h>

#include "mcuq_fixedpoint.h"

/* Filters up to this many taps keep the channel's weights in a local array (int32). */
#define MCUQ_DWI_TAPS 64

static inline int8_t mcuq_dwi_out(uint32_t acc, int32_t mult, int32_t shift, int fast,
                                  int32_t out_off, int32_t lo, int32_t hi) {
  const int32_t v = fast ? mcuq_requant_rshift((int32_t)acc, mult, shift) + out_off
                         : mcuq_add_wrap(mcuq_mbqm((int32_t)acc, mult, shift), out_off);
  return (int8_t)mcuq_clamp(v, lo, hi);
}

/* One channel's plane, padded with the input zero point: temp holds rows [-pad_h, -pad_h +
 * plane_h) and columns [-pad_w, -pad_w + plane_w) of channel c, so every window is inside it. A
 * tap in the padding reads the zero point, x + input_offset == 0 there, exactly as TFLM skips
 * it; so bias + input_offset * sum(w) + sum(x * w) over all taps is TFLM's sum. */
static void mcuq_dwi_plane(const mcuq_dw_inplace_params_t *p, const int8_t *restrict data,
                           int32_t c, int8_t *restrict temp) {
  const int32_t ch = p->channels, pw = p->plane_w;
  memset(temp, (int8_t)(-p->input_offset), (size_t)(p->plane_h * pw));
  for (int32_t iy = 0; iy < p->in_h; ++iy) {
    const int32_t ty = iy + p->pad_h;
    if (ty >= p->plane_h) break;
    const int8_t *src = data + iy * p->in_w * ch + c;
    int8_t *dst = temp + ty * pw + p->pad_w;
    const int32_t n = p->in_w < pw - p->pad_w ? p->in_w : pw - p->pad_w;
    for (int32_t ix = 0; ix < n; ++ix, src += ch) dst[ix] = *src;
  }
}

void mcuq_depthwise_inplace_s8(const mcuq_dw_inplace_params_t *p, int8_t *restrict data,
                               const int8_t *restrict weights, const int32_t *restrict bias,
                               int8_t *restrict temp) {
  const int32_t ch = p->channels, pw = p->plane_w;
  const int32_t out_h = p->out_h, out_w = p->out_w;
  const int32_t stride_h = p->stride_h, stride_w = p->stride_w;
  const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
  const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
  const int32_t dil_h = p->dil_h, dil_w = p->dil_w;
  const int32_t *restrict mults = p->multiplier, *restrict shifts = p->shift;
  const int small = taps <= MCUQ_DWI_TAPS;
  const int k3 = k_h == 3 && k_w == 3 && dil_h == 1 && dil_w == 1;
  int32_t w[MCUQ_DWI_TAPS];
  for (int32_t c = 0; c < ch; ++c) {
    mcuq_dwi_plane(p, data, c, temp);
    uint32_t wsum = 0;
    for (int32_t k = 0; k < taps; ++k) {
      const int32_t wk = weights[k * ch + c];
      if (small) w[k] = wk;
      wsum += (uint32_t)wk;
    }
    /* wraps like TFLM's int32 accumulator */
    const uint32_t folded = (uint32_t)bias[c] + (uint32_t)p->input_offset * wsum;
    const int32_t mult = mults[c], shift = shifts[c];
    const int fast = mult != INT32_MIN && shift >= -31 && shift <= -2;
    int8_t *out = data + c;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int8_t *row = temp + oy * stride_h * pw;
      for (int32_t ox = 0; ox < out_w; ++ox, out += ch) {
        const int8_t *r = row + ox * stride_w;
        uint32_t acc = folded;
        if (k3) {
          const int8_t *r1 = r + pw, *r2 = r1 + pw;
          acc += (uint32_t)(r[0] * w[0] + r[1] * w[1] + r[2] * w[2] + r1[0] * w[3] +
                            r1[1] * w[4] + r1[2] * w[5] + r2[0] * w[6] + r2[1] * w[7] +
                            r2[2] * w[8]);
        } else if (small) {
          for (int32_t ky = 0; ky < k_h; ++ky, r += dil_h * pw) {
            const int32_t *wk = w + ky * k_w;
            for (int32_t kx = 0; kx < k_w; ++kx) acc += (uint32_t)(r[kx * dil_w] * wk[kx]);
          }
        } else {
          for (int32_t ky = 0; ky < k_h; ++ky, r += dil_h * pw) {
            for (int32_t kx = 0; kx < k_w; ++kx)
              acc += (uint32_t)(r[kx * dil_w] * (int32_t)weights[(ky * k_w + kx) * ch + c]);
          }
        }
        *out = mcuq_dwi_out(acc, mult, shift, fast, out_off, lo, hi);
      }
    }
  }
}
