#include "shape.h"

#include <string.h>

void mcuq_copy_nd(const mcuq_copy_nd_params_t *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t last = p->rank - 1;
  const int32_t n = p->count[last];
  const int32_t es = p->elem_size;
  const int32_t is = p->in_stride[last], os = p->out_stride[last];
  const int contiguous = is == es && os == es;
  int32_t idx[MCUQ_COPY_MAX_RANK] = {0};
  int32_t ip = p->in_offset, op = p->out_offset;
  for (;;) {
    if (contiguous) {
      memcpy(out + op, in + ip, (size_t)n * (size_t)es);
    } else if (es == 1) {
      for (int32_t i = 0; i < n; ++i) out[op + i * os] = in[ip + i * is];
    } else {
      for (int32_t i = 0; i < n; ++i) memcpy(out + op + i * os, in + ip + i * is, (size_t)es);
    }
    /* odometer over the outer dimensions */
    int32_t d = last - 1;
    while (d >= 0) {
      ip += p->in_stride[d];
      op += p->out_stride[d];
      if (++idx[d] < p->count[d]) break;
      ip -= p->in_stride[d] * p->count[d];
      op -= p->out_stride[d] * p->count[d];
      idx[d] = 0;
      --d;
    }
    if (d < 0) return;
  }
}

void mcuq_fill(void *output, int32_t count, const void *value, int32_t elem_size) {
  uint8_t *out = (uint8_t *)output;
  if (elem_size == 1) {
    memset(out, *(const uint8_t *)value, (size_t)count);
    return;
  }
  for (int32_t i = 0; i < count; ++i) memcpy(out + i * elem_size, value, (size_t)elem_size);
}

/* The copy loops of CONCATENATION: `rows` rows of `bytes` bytes, row i from s + i * s_step to
 * d + i * d_step. Rows of whole words between word-aligned pointers (the usual case: arena
 * tensors are 4-aligned, channel counts multiples of 4) go by pairs of words and a last word
 * (memcpy of 8 or 4 bytes: one LDRD/STRD or LDR/STR). */
static inline void mcuq_row_words(uint8_t *d, const uint8_t *s, int32_t bytes) {
  for (; bytes >= 8; bytes -= 8, d += 8, s += 8) {
    uint64_t v;
    memcpy(&v, s, 8);
    memcpy(d, &v, 8);
  }
  if (bytes) {
    uint32_t v;
    memcpy(&v, s, 4);
    memcpy(d, &v, 4);
  }
}

/* Rows from this many bytes on are copied by memcpy (the library's loop moves several words per
 * iteration; measured on Cortex-M4: 80 bytes in 2 rows, 123 instructions vs 233). */
#define MCUQ_CONCAT_MEMCPY 32

static void mcuq_rows_fwd(uint8_t *d, int32_t d_step, const uint8_t *s, int32_t s_step,
                          int32_t bytes, int32_t rows, int words) {
  if (words && bytes == 8) { /* rows of 8 channels (first_layers' branches) */
    for (int32_t i = 0; i < rows; ++i, d += d_step, s += s_step) {
      uint64_t v;
      memcpy(&v, s, 8);
      memcpy(d, &v, 8);
    }
    return;
  }
  for (int32_t i = 0; i < rows; ++i, d += d_step, s += s_step) {
    if (words && bytes < MCUQ_CONCAT_MEMCPY) {
      mcuq_row_words(d, s, bytes);
    } else {
      memcpy(d, s, (size_t)bytes);
    }
  }
}

/* The same last row first, each row from its last byte down: d >= s may overlap the rows of s
 * not yet copied only where they were read already (rows move up the tensor: d_step >= s_step). */
static void mcuq_rows_back(uint8_t *d, int32_t d_step, const uint8_t *s, int32_t s_step,
                           int32_t bytes, int32_t rows, int words) {
  if (rows <= 0) return;
  d += (rows - 1) * d_step;
  s += (rows - 1) * s_step;
  if (words && bytes == 8) {
    for (int32_t i = 0; i < rows; ++i, d -= d_step, s -= s_step) {
      uint64_t v;
      memcpy(&v, s, 8);
      memcpy(d, &v, 8);
    }
    return;
  }
  for (int32_t i = 0; i < rows; ++i, d -= d_step, s -= s_step) {
    int32_t n = bytes;
    if (words) {
      for (; n >= 8; n -= 8) {
        uint64_t v;
        memcpy(&v, s + n - 8, 8);
        memcpy(d + n - 8, &v, 8);
      }
      if (n) {
        uint32_t v;
        memcpy(&v, s, 4);
        memcpy(d, &v, 4);
      }
    } else {
      for (int32_t j = n - 1; j >= 0; --j) d[j] = s[j];
    }
  }
}

/* Whether every row is whole words and every pointer word-aligned. */
static int mcuq_concat_words(const mcuq_concat_params_t *p, const void *const inputs[],
                             const void *output) {
  uintptr_t bits = (uintptr_t)output;
  for (int32_t k = 0; k < p->num_inputs; ++k)
    bits |= (uintptr_t)inputs[k] | (uintptr_t)p->row_bytes[k];
  return (bits & 3u) == 0;
}

/* Input by input, each one's rows into their places of the output rows (every input byte
 * copied once, as TFLM's row-major loop does). */
void mcuq_concatenation(const mcuq_concat_params_t *p, const void *const inputs[],
                        void *output) {
  uint8_t *d = (uint8_t *)output;
  if (p->outer == 1) { /* one row: each input in one memcpy */
    for (int32_t k = 0; k < p->num_inputs; ++k) {
      memcpy(d, inputs[k], (size_t)p->row_bytes[k]);
      d += p->row_bytes[k];
    }
    return;
  }
  const int words = mcuq_concat_words(p, inputs, output);
  int32_t total = 0;
  for (int32_t k = 0; k < p->num_inputs; ++k) total += p->row_bytes[k];
  for (int32_t k = 0; k < p->num_inputs; ++k) {
    const int32_t bytes = p->row_bytes[k];
    mcuq_rows_fwd(d, total, (const uint8_t *)inputs[k], bytes, bytes, p->outer, words);
    d += bytes;
  }
}

/* Input `self` first, its rows last to first (each output row o starts at or after its row o,
 * so it covers only rows read already, and row o itself, moved from its last byte down); then
 * the other inputs into the rest of every row (their bytes hold only rows of `self` read by
 * then). */
void mcuq_concatenation_inplace(const mcuq_concat_params_t *p, const void *const inputs[],
                                void *output, int32_t self) {
  const int words = mcuq_concat_words(p, inputs, output);
  int32_t total = 0, pre = 0;
  for (int32_t k = 0; k < p->num_inputs; ++k) {
    if (k == self) pre = total;
    total += p->row_bytes[k];
  }
  uint8_t *out = (uint8_t *)output;
  const int32_t mine = p->row_bytes[self];
  const int32_t skip = pre == 0; /* row 0 of input 0 is in its place already */
  mcuq_rows_back(out + pre + skip * total, total,
                 (const uint8_t *)inputs[self] + skip * mine, mine, mine, p->outer - skip, words);
  uint8_t *d = out;
  for (int32_t k = 0; k < p->num_inputs; ++k) {
    const int32_t bytes = p->row_bytes[k];
    if (k != self)
      mcuq_rows_fwd(d, total, (const uint8_t *)inputs[k], bytes, bytes, p->outer, words);
    d += bytes;
  }
}
