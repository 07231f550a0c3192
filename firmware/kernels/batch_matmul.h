/* BATCH_MATMUL, int8 (mirrors mcuq/reference/ops/batch_matmul.py): up to three broadcast batch
 * dims, then rows x depth times depth x cols; adj_x / adj_y are folded into the strides. */
#ifndef MCUQ_BATCH_MATMUL_H
#define MCUQ_BATCH_MATMUL_H

#include <stdint.h>

typedef struct {
  int32_t batch[3];             /* output batch dims (1 when unused) */
  int32_t lhs_batch_stride[3];  /* element strides, 0 where the operand broadcasts */
  int32_t rhs_batch_stride[3];
  int32_t rows, cols, depth;
  int32_t lhs_row_stride, lhs_depth_stride; /* element (i, k) of a LHS matrix */
  int32_t rhs_depth_stride, rhs_col_stride; /* element (k, j) of a RHS matrix */
  int32_t lhs_offset, rhs_offset, output_offset; /* minus the input zero points; out zp */
  int32_t multiplier, shift;
} mcuq_batch_matmul_params_t;

void mcuq_batch_matmul_s8(const mcuq_batch_matmul_params_t *p, const int8_t *lhs,
                          const int8_t *rhs, int8_t *output);

#endif
