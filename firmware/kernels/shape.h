/* Shape / data-movement ops (mirrors mcuq/reference/ops/shape.py): STRIDED_SLICE, TRANSPOSE
 * and the interior of PAD are one strided N-d copy whose per-dimension strides the code
 * generator computes; CONCATENATION copies each input's rows; PAD fills first.
 * Byte-based: strides and offsets are in bytes, so one kernel serves every element type.
 * RESHAPE / SQUEEZE / EXPAND_DIMS need no kernel (their output aliases the input). */
#ifndef MCUQ_SHAPE_H
#define MCUQ_SHAPE_H

#include <stdint.h>

#define MCUQ_COPY_MAX_RANK 5

typedef struct {
  int32_t rank;                           /* 1..MCUQ_COPY_MAX_RANK, outermost first */
  int32_t elem_size;                      /* bytes per element */
  int32_t count[MCUQ_COPY_MAX_RANK];      /* elements walked per dimension (all >= 1) */
  int32_t in_stride[MCUQ_COPY_MAX_RANK];  /* bytes; may be negative (reversed slices) */
  int32_t out_stride[MCUQ_COPY_MAX_RANK]; /* bytes */
  int32_t in_offset, out_offset;          /* bytes of the first element */
} mcuq_copy_nd_params_t;

/* out[out_offset + sum(i_k * out_stride[k])] = in[in_offset + sum(i_k * in_stride[k])] for
 * every index (i_0..i_{rank-1}) < count; an innermost run contiguous on both sides is one
 * memcpy. input and output must not overlap. */
void mcuq_copy_nd(const mcuq_copy_nd_params_t *p, const void *input, void *output);

/* count elements of elem_size bytes, each a copy of *value. */
void mcuq_fill(void *output, int32_t count, const void *value, int32_t elem_size);

#define MCUQ_CONCAT_MAX_INPUTS 10

typedef struct {
  int32_t num_inputs;       /* 1..MCUQ_CONCAT_MAX_INPUTS */
  int32_t outer;            /* product of the output dims before the axis */
  const int32_t *row_bytes; /* per input: its axis dim * inner dims * elem_size */
} mcuq_concat_params_t;

/* For each outer index, the rows of input 0, 1, ... one after another (TFLM's reference);
 * word copies when every row is whole words and every pointer word-aligned. The inputs must
 * not overlap the output. */
void mcuq_concatenation(const mcuq_concat_params_t *p, const void *const inputs[],
                        void *output);

/* The same in place (mcuq/codegen/c_ops/shape.py, method "concat-reverse"): input `self` is
 * stored at the output's first byte (inputs[self] == output), the others elsewhere. First the
 * rows of `self` move to their places, last to first (output row o starts at or after input row
 * o of `self`, so it covers only rows read already, and row o, moved from its last byte down),
 * then the other inputs fill the rest of every row (mcuq/codegen/c_ops/shape.py: concat_order
 * declares this byte order; check_reads replays it). */
void mcuq_concatenation_inplace(const mcuq_concat_params_t *p, const void *const inputs[],
                                void *output, int32_t self);

#endif
