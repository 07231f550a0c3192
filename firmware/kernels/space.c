#include "space.h"

#include <string.h>

void mcuq_space_to_batch_nd_s8(const mcuq_batch_space_params_t *p, const int8_t *input,
                               int8_t *output) {
  const size_t depth = (size_t)p->depth;
  int8_t *out = output;
  for (int32_t ob = 0; ob < p->out_n; ++ob) {
    const int32_t n = ob % p->in_n;
    const int32_t shift = ob / p->in_n;
    const int32_t shift_w = shift % p->block_w, shift_h = shift / p->block_w;
    for (int32_t oh = 0; oh < p->out_h; ++oh) {
      const int32_t ih = oh * p->block_h + shift_h - p->pad_top;
      for (int32_t ow = 0; ow < p->out_w; ++ow) {
        const int32_t iw = ow * p->block_w + shift_w - p->pad_left;
        if (ih < 0 || ih >= p->in_h || iw < 0 || iw >= p->in_w) {
          memset(out, (int)(int8_t)p->pad_value, depth);
        } else {
          memcpy(out, input + ((size_t)(n * p->in_h + ih) * (size_t)p->in_w + (size_t)iw) * depth,
                 depth);
        }
        out += depth;
      }
    }
  }
}

void mcuq_batch_to_space_nd_s8(const mcuq_batch_space_params_t *p, const int8_t *input,
                               int8_t *output) {
  const size_t depth = (size_t)p->depth;
  for (int32_t ib = 0; ib < p->in_n; ++ib) {
    const int32_t ob = ib % p->out_n;
    const int32_t shift = ib / p->out_n;
    for (int32_t ih = 0; ih < p->in_h; ++ih) {
      const int32_t oh = ih * p->block_h + shift / p->block_w - p->pad_top;
      if (oh < 0 || oh >= p->out_h) continue;
      for (int32_t iw = 0; iw < p->in_w; ++iw) {
        const int32_t ow = iw * p->block_w + shift % p->block_w - p->pad_left;
        if (ow < 0 || ow >= p->out_w) continue;
        memcpy(output + ((size_t)(ob * p->out_h + oh) * (size_t)p->out_w + (size_t)ow) * depth,
               input + ((size_t)(ib * p->in_h + ih) * (size_t)p->in_w + (size_t)iw) * depth,
               depth);
      }
    }
  }
}
