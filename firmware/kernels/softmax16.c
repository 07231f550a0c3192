#include "softmax16.h"

#include "mcuq_fixedpoint.h"

static int16_t lut_lookup(int32_t value, const int16_t *lut) {
  const int32_t index = 256 + (value >> 7); /* value in [-32768, 32767]: index 0..511 */
  const int32_t offset = value & 0x7f;
  const int32_t base = lut[index];
  const int32_t slope = lut[index + 1] - base;
  return (int16_t)(uint16_t)(uint32_t)(base + ((slope * offset + 64) >> 7));
}

static int32_t clz32(uint32_t v) {
  int32_t n = 0;
  if (v == 0) return 32;
  while (!(v & 0x80000000u)) {
    v <<= 1;
    ++n;
  }
  return n;
}

void mcuq_softmax_s16(const mcuq_softmax16_params_t *p, const int16_t *input, int16_t *output) {
  for (int32_t r = 0; r < p->rows; ++r) {
    const int16_t *x = input + r * p->depth;
    int16_t *y = output + r * p->depth;
    int32_t max = -32768;
    for (int32_t c = 0; c < p->depth; ++c) {
      if (x[c] > max) max = x[c];
    }
    int32_t sum = 0;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t scaled = mcuq_mbqm(x[c] - max, p->input_multiplier, p->input_shift);
      const int32_t sym = mcuq_clamp(mcuq_add_wrap(scaled, 32767), -32768, 32767);
      y[c] = lut_lookup(sym, p->exp_lut);
      sum = mcuq_add_wrap(sum, y[c]);
    }
    const int32_t headroom = clz32((uint32_t)sum);
    const int32_t shifted =
        (int32_t)((((int64_t)sum * ((int64_t)1 << (headroom - 1))) + (1 << 13)) >> 14);
    const int32_t sym_sum = mcuq_clamp(shifted - ((1 << 15) + (1 << 16)), -32768, 32767);
    const int32_t recip = lut_lookup(sym_sum, p->recip_lut);
    const int32_t right = 31 - headroom;
    const int64_t round = (int64_t)1 << (right - 1);
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = (int32_t)(uint32_t)(uint64_t)(((int64_t)y[c] * recip + round) >> right);
      y[c] = (int16_t)mcuq_clamp(v, 0, 32767);
    }
  }
}
