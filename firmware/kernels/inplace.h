/* Running an op in place, one output row at a time (mcuq/codegen/inplace.py, method "rows"):
 * the op's usual kernel reads a copy of the input rows the output row needs, held in a small
 * temporary, and writes the output row over the input tensor's bytes. The code generator
 * orders the rows (top-down, or bottom-up when output rows are wider than input rows) so that
 * every input row is copied before an output row overwrites it. */
#ifndef MCUQ_INPLACE_H
#define MCUQ_INPLACE_H

#include <stdint.h>

typedef struct {
  int32_t lo, hi; /* input rows [lo, hi) the band reads */
  int32_t out;    /* byte offset of the band's output rows from the tensor's start */
} mcuq_rows_band_t;

/* Make `temp` hold input rows [lo, hi) of the tensor at `src` (row_bytes each), row lo first.
 * held[0..1] are the rows it holds from the previous band ([0, 0) at first): the rows both
 * bands need are moved inside temp (they may already be overwritten in src), the others are
 * copied from src. */
void mcuq_rows_window(uint8_t *temp, const uint8_t *src, int32_t row_bytes, int32_t held[2],
                      int32_t lo, int32_t hi);

#endif
