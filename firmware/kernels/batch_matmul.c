#include "batch_matmul.h"

#include "mcuq_fixedpoint.h"

void mcuq_batch_matmul_s8(const mcuq_batch_matmul_params_t *p, const int8_t *lhs,
                          const int8_t *rhs, int8_t *output) {
  int8_t *out = output;
  for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
    for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
      for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
        const int8_t *l = lhs + b0 * p->lhs_batch_stride[0] + b1 * p->lhs_batch_stride[1] +
                          b2 * p->lhs_batch_stride[2];
        const int8_t *r = rhs + b0 * p->rhs_batch_stride[0] + b1 * p->rhs_batch_stride[1] +
                          b2 * p->rhs_batch_stride[2];
        for (int32_t i = 0; i < p->rows; ++i) {
          for (int32_t j = 0; j < p->cols; ++j) {
            uint32_t acc = 0; /* int32 sum, wrapping like TFLM's */
            for (int32_t k = 0; k < p->depth; ++k) {
              const int32_t a = l[i * p->lhs_row_stride + k * p->lhs_depth_stride] + p->lhs_offset;
              const int32_t c = r[k * p->rhs_depth_stride + j * p->rhs_col_stride] + p->rhs_offset;
              acc += (uint32_t)(a * c); /* |a * c| <= 255 * 255 */
            }
            const int32_t v = mcuq_mbqm((int32_t)acc, p->multiplier, p->shift) + p->output_offset;
            *out++ = (int8_t)mcuq_clamp(v, -128, 127);
          }
        }
      }
    }
  }
}
