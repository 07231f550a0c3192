#include "inplace.h"

#include <string.h>

void mcuq_rows_window(uint8_t *temp, const uint8_t *src, int32_t row_bytes, int32_t held[2],
                      int32_t lo, int32_t hi) {
  const size_t rb = (size_t)row_bytes;
  int32_t keep_lo = held[0] > lo ? held[0] : lo;
  int32_t keep_hi = held[1] < hi ? held[1] : hi;
  if (keep_lo < keep_hi) {
    if (held[0] != lo) { /* the kept rows move to their place for the new window */
      memmove(temp + (size_t)(keep_lo - lo) * rb, temp + (size_t)(keep_lo - held[0]) * rb,
              (size_t)(keep_hi - keep_lo) * rb);
    }
  } else {
    keep_lo = keep_hi = hi; /* nothing to keep: copy every row */
  }
  if (lo < keep_lo) memcpy(temp, src + (size_t)lo * rb, (size_t)(keep_lo - lo) * rb);
  if (keep_hi < hi) {
    memcpy(temp + (size_t)(keep_hi - lo) * rb, src + (size_t)keep_hi * rb,
           (size_t)(hi - keep_hi) * rb);
  }
  held[0] = lo;
  held[1] = hi;
}
