#include "reduce.h"

#include "mcuq_fixedpoint.h"

/* acc's halfwords plus bytes 0 and 2 (ror8: bytes 1 and 3) of x sign-extended, each halfword
 * wrapping on its own (SXTAB16). */
static inline uint32_t mcuq_sxtab16(uint32_t acc, uint32_t x) {
#if MCUQ_DSP
  return (uint32_t)__sxtab16((int32_t)acc, (int32_t)x);
#else
  const uint32_t e = mcuq_sxtb16(x);
  return ((acc + e) & 0xffffu) | (((acc >> 16) + (e >> 16)) << 16);
#endif
}

static inline uint32_t mcuq_sxtab16_ror8(uint32_t acc, uint32_t x) {
#if MCUQ_DSP && defined(__GNUC__)
  uint32_t r; /* GCC's ACLE has no rotated form */
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
  return r;
#else
  return mcuq_sxtab16(acc, (x >> 8) | (x << 24));
#endif
}

static inline int8_t mcuq_mean_out(uint32_t sum, uint32_t zp_total, int32_t multiplier,
                                   int32_t shift, int32_t output_zero_point) {
  const int32_t shifted = (int32_t)(sum - zp_total);
  const int32_t v = mcuq_add_wrap(mcuq_mbqm(shifted, multiplier, shift), output_zero_point);
  return (int8_t)mcuq_clamp(v, -128, 127);
}

/* MEAN over a block of `rows` consecutive rows of `channels` contiguous values (global average
 * pooling: NHWC over H and W). 4 channels at a time as int16 halfword sums, 2 instructions per 4
 * bytes: exact while rows <= MCUQ_MEAN_ROWS_MAX (|sum| <= 128 * 256 fits a halfword; the
 * emitter takes this path only then). */
void mcuq_mean_rows_s8(const mcuq_mean_rows_params_t *p, const int8_t *restrict input,
                       int8_t *restrict output) {
  const int32_t rows = p->rows, ch = p->channels;
  const uint32_t zp_total = (uint32_t)p->input_zero_point * (uint32_t)rows;
  for (int32_t n = 0; n < p->outer; ++n, input += rows * ch, output += ch) {
    int32_t c = 0;
    for (; c + 4 <= ch; c += 4) {
      uint32_t even = 0, odd = 0; /* halfwords: channels (c, c + 2) and (c + 1, c + 3) */
      const int8_t *x = input + c;
      for (int32_t r = 0; r < rows; ++r, x += ch) {
        const uint32_t v = mcuq_load4(x);
        even = mcuq_sxtab16(even, v);
        odd = mcuq_sxtab16_ror8(odd, v);
      }
      const uint32_t s[4] = {(uint32_t)(int32_t)(int16_t)(even & 0xffffu),
                             (uint32_t)(int32_t)(int16_t)(odd & 0xffffu),
                             (uint32_t)(int32_t)(int16_t)(even >> 16),
                             (uint32_t)(int32_t)(int16_t)(odd >> 16)};
      for (int32_t k = 0; k < 4; ++k)
        output[c + k] = mcuq_mean_out(s[k], zp_total, p->multiplier, p->shift,
                                      p->output_zero_point);
    }
    for (; c < ch; ++c) {
      uint32_t sum = 0;
      for (int32_t r = 0; r < rows; ++r) sum += (uint32_t)(int32_t)input[r * ch + c];
      output[c] = mcuq_mean_out(sum, zp_total, p->multiplier, p->shift, p->output_zero_point);
    }
  }
}

void mcuq_mean_s8(const mcuq_mean_params_t *p, const int8_t *restrict input,
                  int8_t *restrict output) {
  const int32_t n0 = p->red_size[0], s0 = p->red_stride[0];
  const int32_t n1 = p->red_size[1], s1 = p->red_stride[1];
  /* int32 wrap of sum - zero_point * count, as TFLM's int32 temp_sum and cast do */
  const uint32_t zp_total = (uint32_t)p->input_zero_point * (uint32_t)p->count;
  for (int32_t o = 0; o < p->out_count; ++o) {
    int32_t base = 0;
    int32_t rest = o;
    for (int32_t d = p->kept - 1; d >= 0; --d) {
      base += (rest % p->kept_size[d]) * p->kept_stride[d];
      rest /= p->kept_size[d];
    }
    uint32_t sum = 0;
    for (int32_t i = 0; i < n0; ++i) {
      const int8_t *row = input + base + i * s0;
      for (int32_t j = 0; j < n1; ++j) sum += (uint32_t)(int32_t)row[j * s1];
    }
    output[o] = mcuq_mean_out(sum, zp_total, p->multiplier, p->shift, p->output_zero_point);
  }
}
