#include "reductions.h"

#include <string.h>

void mcuq_reduce_max_s8(const mcuq_reduce_max_params_t *p, const int8_t *input,
                        int8_t *output) {
  int32_t out_count = 1, red_count = 1;
  for (int32_t d = 0; d < p->kept; ++d) out_count *= p->kept_size[d];
  for (int32_t d = 0; d < p->red; ++d) red_count *= p->red_size[d];
  int32_t kidx[MCUQ_REDUCE_MAX_DIMS] = {0};
  int32_t base = 0;
  for (int32_t o = 0; o < out_count; ++o) {
    int8_t best = INT8_MIN;
    int32_t ridx[MCUQ_REDUCE_MAX_DIMS] = {0};
    int32_t off = base;
    for (int32_t r = 0; r < red_count; ++r) {
      const int8_t v = input[off];
      if (v > best) best = v;
      for (int32_t d = p->red - 1; d >= 0; --d) { /* odometer over the reduced dims */
        off += p->red_stride[d];
        if (++ridx[d] < p->red_size[d]) break;
        off -= p->red_stride[d] * p->red_size[d];
        ridx[d] = 0;
      }
    }
    output[o] = best;
    for (int32_t d = p->kept - 1; d >= 0; --d) { /* odometer over the kept dims */
      base += p->kept_stride[d];
      if (++kidx[d] < p->kept_size[d]) break;
      base -= p->kept_stride[d] * p->kept_size[d];
      kidx[d] = 0;
    }
  }
}

static void arg_extreme(const mcuq_arg_params_t *p, const int8_t *input, void *output,
                        int largest) {
  uint8_t *out = (uint8_t *)output;
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t *slab = input + o * p->axis_size * p->inner;
    for (int32_t i = 0; i < p->inner; ++i) {
      int8_t best = slab[i];
      int32_t index = 0;
      for (int32_t k = 1; k < p->axis_size; ++k) {
        const int8_t v = slab[k * p->inner + i];
        if (largest ? v > best : v < best) { /* strict: the first extreme wins */
          best = v;
          index = k;
        }
      }
      memcpy(out, &index, sizeof index);
      out += sizeof index;
    }
  }
}

void mcuq_arg_max_s8(const mcuq_arg_params_t *p, const int8_t *input, void *output) {
  arg_extreme(p, input, output, 1);
}

void mcuq_arg_min_s8(const mcuq_arg_params_t *p, const int8_t *input, void *output) {
  arg_extreme(p, input, output, 0);
}
