#include "select.h"

#include <string.h>

int mcuq_gather(const mcuq_gather_params_t *p, const void *input, const void *indices,
                void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const uint32_t row = (uint32_t)p->inner * (uint32_t)p->elem_size;
  for (int32_t b = 0; b < p->batch; ++b) {
    const uint8_t *pos = (const uint8_t *)indices + (uint32_t)(b * p->coords) * 4u;
    for (int32_t o = 0; o < p->outer; ++o) {
      const uint8_t *src = in + ((uint32_t)(b * p->outer + o) * (uint32_t)p->axis_size) * row;
      for (int32_t c = 0; c < p->coords; ++c) {
        int32_t k; /* positions may be a caller's buffer of any alignment */
        memcpy(&k, pos + (uint32_t)c * 4u, sizeof k);
        if (k < 0 || k >= p->axis_size) return 1;
        memcpy(out, src + (uint32_t)k * row, row);
        out += row;
      }
    }
  }
  return 0;
}
