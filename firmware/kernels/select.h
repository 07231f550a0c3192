/* GATHER (mirrors mcuq/reference/ops/select.py). SHAPE, PACK, UNPACK, SPLIT, SPLIT_V and SLICE
 * need no kernel of their own: the code generator (mcuq/codegen/c_ops/select.py) emits them as
 * shape.c's strided copies (mcuq_copy_nd, mcuq_concatenation) or a memcpy of a constant. */
#ifndef MCUQ_SELECT_H
#define MCUQ_SELECT_H

#include <stdint.h>

typedef struct {
  int32_t batch;     /* product of the batch_dims leading dimensions */
  int32_t outer;     /* product of the dimensions between batch_dims and the axis */
  int32_t axis_size; /* extent of the gathered axis */
  int32_t inner;     /* product of the dimensions after the axis */
  int32_t coords;    /* positions per batch entry */
  int32_t elem_size; /* bytes per element */
} mcuq_gather_params_t;

/* output[b][o][c][:] = input[b][o][indices[b][c]][:] (inner elements each).
 * Returns 0, or 1 at the first position outside [0, axis_size) (TFLite Micro's Eval fails
 * there too); the output is then incomplete. `indices` (int32) needs no alignment. */
int mcuq_gather(const mcuq_gather_params_t *p, const void *input, const void *indices,
                void *output);

#endif
