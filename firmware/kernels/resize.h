/* RESIZE_NEAREST_NEIGHBOR (any element size) and RESIZE_BILINEAR (int8), NHWC, mirroring
 * mcuq/reference/ops/resize.py: the per-row and per-column source tables (and bilinear's Q10
 * fractions) are TFLite Micro's index arithmetic, computed once by the code generator. */
#ifndef MCUQ_RESIZE_H
#define MCUQ_RESIZE_H

#include <stdint.h>

typedef struct {
  int32_t batches, in_h, in_w, depth, out_h, out_w;
  int32_t elem_size;    /* nearest: bytes per element */
  const int32_t *rows;  /* out_h source rows (bilinear: the lower row y0) */
  const int32_t *cols;  /* out_w source columns (bilinear: x0) */
  const int32_t *rows1; /* bilinear: upper row y1 per output row */
  const int32_t *cols1; /* bilinear: x1 */
  const int32_t *wy;    /* bilinear: Q10 weight of y1 (position - 1024 * y0) */
  const int32_t *wx;    /* bilinear: Q10 weight of x1 */
} mcuq_resize_params_t;

void mcuq_resize_nearest(const mcuq_resize_params_t *p, const void *input, void *output);
void mcuq_resize_bilinear_s8(const mcuq_resize_params_t *p, const int8_t *input,
                             int8_t *output);

#endif
