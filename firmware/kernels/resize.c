#include "resize.h"

#include <string.h>

void mcuq_resize_nearest(const mcuq_resize_params_t *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const size_t pixel = (size_t)p->depth * (size_t)p->elem_size;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->out_h; ++y) {
      const uint8_t *row = in + ((size_t)b * (size_t)p->in_h + (size_t)p->rows[y]) *
                                    (size_t)p->in_w * pixel;
      for (int32_t x = 0; x < p->out_w; ++x) {
        memcpy(out, row + (size_t)p->cols[x] * pixel, pixel);
        out += pixel;
      }
    }
  }
}

void mcuq_resize_bilinear_s8(const mcuq_resize_params_t *p, const int8_t *input,
                             int8_t *output) {
  const int32_t depth = p->depth;
  const size_t row_len = (size_t)p->in_w * (size_t)depth;
  int8_t *out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *image = input + (size_t)b * (size_t)p->in_h * row_len;
    for (int32_t y = 0; y < p->out_h; ++y) {
      const int8_t *r0 = image + (size_t)p->rows[y] * row_len;
      const int8_t *r1 = image + (size_t)p->rows1[y] * row_len;
      const int64_t wy1 = p->wy[y], wy0 = 1024 - wy1;
      for (int32_t x = 0; x < p->out_w; ++x) {
        const size_t c0 = (size_t)p->cols[x] * (size_t)depth;
        const size_t c1 = (size_t)p->cols1[x] * (size_t)depth;
        const int64_t wx1 = p->wx[x], wx0 = 1024 - wx1;
        for (int32_t c = 0; c < depth; ++c) {
          const int64_t acc = r0[c0 + c] * wy0 * wx0 + r1[c0 + c] * wy1 * wx0 +
                              r0[c1 + c] * wy0 * wx1 + r1[c1 + c] * wy1 * wx1;
          /* round half away from zero, C division (TFLM's default double-rounding build) */
          const int64_t v = (acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
          *out++ = (int8_t)(uint8_t)((uint64_t)v & 0xffu);
        }
      }
    }
  }
}
