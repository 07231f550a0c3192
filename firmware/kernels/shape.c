#include "shape.h"

#include <string.h>

void mcuq_copy_nd(const mcuq_copy_nd_params_t *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t last = p->rank - 1;
  const int32_t n = p->count[last];
  const int32_t es = p->elem_size;
  const int32_t is = p->in_stride[last], os = p->out_stride[last];
  const int contiguous = is == es && os == es;
  int32_t idx[MCUQ_COPY_MAX_RANK] = {0};
  int32_t ip = p->in_offset, op = p->out_offset;
  for (;;) {
    if (contiguous) {
      memcpy(out + op, in + ip, (size_t)n * (size_t)es);
    } else if (es == 1) {
      for (int32_t i = 0; i < n; ++i) out[op + i * os] = in[ip + i * is];
    } else {
      for (int32_t i = 0; i < n; ++i) memcpy(out + op + i * os, in + ip + i * is, (size_t)es);
    }
    /* odometer over the outer dimensions */
    int32_t d = last - 1;
    while (d >= 0) {
      ip += p->in_stride[d];
      op += p->out_stride[d];
      if (++idx[d] < p->count[d]) break;
      ip -= p->in_stride[d] * p->count[d];
      op -= p->out_stride[d] * p->count[d];
      idx[d] = 0;
      --d;
    }
    if (d < 0) return;
  }
}

void mcuq_fill(void *output, int32_t count, const void *value, int32_t elem_size) {
  uint8_t *out = (uint8_t *)output;
  if (elem_size == 1) {
    memset(out, *(const uint8_t *)value, (size_t)count);
    return;
  }
  for (int32_t i = 0; i < count; ++i) memcpy(out + i * elem_size, value, (size_t)elem_size);
}

void mcuq_concatenation(const mcuq_concat_params_t *p, const void *const inputs[],
                        void *output) {
  uint8_t *out = (uint8_t *)output;
  for (int32_t o = 0; o < p->outer; ++o) {
    for (int32_t k = 0; k < p->num_inputs; ++k) {
      const int32_t row = p->row_bytes[k];
      memcpy(out, (const uint8_t *)inputs[k] + o * row, (size_t)row);
      out += row;
    }
  }
}
