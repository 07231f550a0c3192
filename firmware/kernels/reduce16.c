#include "reduce16.h"

#include "mcuq_fixedpoint.h"

/* offset of the odometer position idx over (extent, stride) dims */
static int32_t offset(const int32_t *idx, const int32_t *stride, int32_t rank) {
  int32_t off = 0;
  for (int32_t d = 0; d < rank; ++d) off += idx[d] * stride[d];
  return off;
}

static int next(int32_t *idx, const int32_t *extent, int32_t rank) {
  for (int32_t d = rank - 1; d >= 0; --d) {
    if (++idx[d] < extent[d]) return 1;
    idx[d] = 0;
  }
  return 0;
}

void mcuq_mean_s16(const mcuq_mean16_params_t *p, const int16_t *input, int16_t *output) {
  int32_t ki[MCUQ_REDUCE16_MAX_DIMS] = {0};
  int32_t n = 0;
  do {
    const int32_t base = offset(ki, p->kept_stride, p->kept_rank);
    int32_t ri[MCUQ_REDUCE16_MAX_DIMS] = {0};
    uint32_t sum = 0; /* int32 in TFLite Micro, wrapping */
    /* the innermost reduced dim as a loop, the outer ones on the odometer */
    const int32_t outer = p->reduced_rank - 1;
    const int32_t inner_n = p->reduced[outer], inner_s = p->reduced_stride[outer];
    do {
      const int16_t *q = input + base + offset(ri, p->reduced_stride, outer);
      for (int32_t i = 0; i < inner_n;) { /* no step after the last: q would leave the input */
        sum += (uint32_t)(int32_t)*q;
        if (++i < inner_n) q += inner_s;
      }
    } while (next(ri, p->reduced, outer));
    output[n++] = (int16_t)mcuq_clamp(mcuq_mbqm((int32_t)sum, p->multiplier, p->shift),
                                      -32768, 32767);
  } while (next(ki, p->kept, p->kept_rank));
}
