#include "elementwise16.h"

#include "mcuq_fixedpoint.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_MAX, OP_MIN };

static inline int16_t one(const mcuq_elementwise16_params_t *p, int32_t a, int32_t b, int op) {
  int32_t out;
  if (op == OP_MAX) return (int16_t)(a > b ? a : b);
  if (op == OP_MIN) return (int16_t)(a < b ? a : b);
  if (op == OP_MUL) {
    out = mcuq_mbqm(a * b, p->output_multiplier, p->output_shift);
  } else {
    const int32_t v1 = mcuq_mbqm_smaller_than_one(a * (1 << p->left_shift),
                                                  p->input1_multiplier, p->input1_shift);
    const int32_t v2 = mcuq_mbqm_smaller_than_one(b * (1 << p->left_shift),
                                                  p->input2_multiplier, p->input2_shift);
    const int32_t raw = op == OP_ADD ? mcuq_add_wrap(v1, v2) : mcuq_add_wrap(v1, mcuq_neg_wrap(v2));
    out = mcuq_mbqm_smaller_than_one(raw, p->output_multiplier, p->output_shift);
  }
  return (int16_t)mcuq_clamp(out, p->act_min, p->act_max);
}

static void walk(const mcuq_elementwise16_params_t *p, const int16_t *a, const int16_t *b,
                 int16_t *out, int op) {
  int32_t idx[MCUQ_ELEMENTWISE16_MAX_RANK] = {0};
  int32_t total = 1;
  for (int32_t d = 0; d < p->rank; ++d) total *= p->shape[d];
  int32_t o1 = 0, o2 = 0;
  for (int32_t i = 0; i < total; ++i) {
    out[i] = one(p, a[o1], b[o2], op);
    for (int32_t d = p->rank - 1; d >= 0; --d) { /* odometer over the output dims */
      o1 += p->stride1[d];
      o2 += p->stride2[d];
      if (++idx[d] < p->shape[d]) break;
      o1 -= p->stride1[d] * p->shape[d];
      o2 -= p->stride2[d] * p->shape[d];
      idx[d] = 0;
    }
  }
}

/* -- ADD/SUB's folded form (elementwise16.h) -------------------------------------------- */

#if !MCUQ_SINGLE_ROUNDING
/* acc * 2^32 + a * b + 2^31, high word (SMMLAR); |acc| <= 2^30, |a * b| < 2^62. */
static inline int32_t mcuq_smmlar(int32_t a, int32_t b, int32_t acc) {
#if MCUQ_ASM
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
#else
  return (int32_t)(((int64_t)acc * ((int64_t)1 << 32) + (int64_t)a * (int64_t)b +
                    ((int64_t)1 << 31)) >> 32);
#endif
}

/* rdbp(srdhm(x, m), e) for 1 <= e <= 31, 0 <= m < 2^31, from x2 = 2x (|x| <= 2^30): the sign
 * of x2 stands for the sign of srdhm's result (they differ only where it is 0, which gives 0
 * either way), as mcuq_rqc2. */
static inline int32_t mcuq_rescale2(int32_t x2, int32_t m, int32_t ra, int32_t e) {
  return mcuq_smmlar(x2, m, ra - MCUQ_RDBP_TIE_ADJUST(x2)) >> e;
}

typedef struct {
  int32_t k, m_b, ra_b, e_b, m_o, ra_o, e_o, lo, hi;
  uint32_t lo2, hi2; /* lo, hi in both halfwords */
} fold16_t;

/* The rescaled sum of x_A, x_B (the low halfwords of xa, xb; any high halfwords) before the
 * clamp. */
static inline int32_t fold16_one(const fold16_t *f, uint32_t xa, uint32_t xb) {
  const int32_t vb = mcuq_rescale2((int32_t)(xb << 16), f->m_b, f->ra_b, f->e_b);
  const int32_t raw = mcuq_smlabb(xa, (uint32_t)f->k, vb);
  return mcuq_rescale2((int32_t)((uint32_t)raw << 1), f->m_o, f->ra_o, f->e_o);
}

#if defined(__GNUC__)
#define MCUQ_EW16_INLINE static inline __attribute__((always_inline))
#else
#define MCUQ_EW16_INLINE static inline
#endif

/* Two outputs from the halfword pairs xa, xb, packed and clamped. kind 1: the clamp is
 * int16's own range (SSAT #16: no activation), 2: [0, 32767] (USAT #15: RELU), 0: any (SSAT,
 * then both halves at once: SSUB16 + SEL). */
MCUQ_EW16_INLINE uint32_t fold16_two(const fold16_t *f, uint32_t xa, uint32_t xb, int kind) {
  const int32_t vb0 = mcuq_rescale2((int32_t)(xb << 16), f->m_b, f->ra_b, f->e_b);
  const int32_t vb1 = mcuq_rescale2((int32_t)(xb & 0xffff0000u), f->m_b, f->ra_b, f->e_b);
  const int32_t raw0 = mcuq_smlabb(xa, (uint32_t)f->k, vb0);
  const int32_t raw1 = mcuq_smlatb(xa, (uint32_t)f->k, vb1);
  int32_t v0 = mcuq_rescale2((int32_t)((uint32_t)raw0 << 1), f->m_o, f->ra_o, f->e_o);
  int32_t v1 = mcuq_rescale2((int32_t)((uint32_t)raw1 << 1), f->m_o, f->ra_o, f->e_o);
#if MCUQ_DSP
  if (kind == 2) {
    v0 = (int32_t)__usat(v0, 15);
    v1 = (int32_t)__usat(v1, 15);
  } else {
    v0 = __ssat(v0, 16);
    v1 = __ssat(v1, 16);
  }
#else
  v0 = v0 < f->lo ? f->lo : (v0 > f->hi ? f->hi : v0);
  v1 = v1 < f->lo ? f->lo : (v1 > f->hi ? f->hi : v1);
#endif
  const uint32_t v = ((uint32_t)v0 & 0xffffu) | ((uint32_t)v1 << 16);
  return kind ? v : mcuq_min_s16x2(mcuq_max_s16x2(v, f->lo2), f->hi2);
}

/* n outputs; a, b step sa, sb elements (0: broadcast, 1: contiguous: two per word). */
MCUQ_EW16_INLINE void fold16_run(const fold16_t *f, const int16_t *a, const int16_t *b,
                                 int16_t *y, int32_t n, int32_t sa, int32_t sb, int kind) {
  int32_t i = 0;
  if (sa == 1 && sb == 1) {
    const int8_t *pa = (const int8_t *)(const void *)a, *pb = (const int8_t *)(const void *)b;
    int8_t *py = (int8_t *)(void *)y;
    for (; i + 2 <= n; i += 2)
      mcuq_store4(py + 2 * i,
                  fold16_two(f, mcuq_load4(pa + 2 * i), mcuq_load4(pb + 2 * i), kind));
  }
  for (; i < n; ++i) {
    const int32_t v = fold16_one(f, (uint32_t)(uint16_t)a[(size_t)i * (size_t)sa],
                                 (uint32_t)(uint16_t)b[(size_t)i * (size_t)sb]);
    y[i] = (int16_t)(v < f->lo ? f->lo : (v > f->hi ? f->hi : v));
  }
}

/* One copy of the loop per clamp kind (fold16_two). */
static void fold16_run_kind(const fold16_t *f, const int16_t *a, const int16_t *b, int16_t *y,
                            int32_t n, int32_t sa, int32_t sb, int kind) {
  if (kind == 1) {
    fold16_run(f, a, b, y, n, sa, sb, 1);
  } else if (kind == 2) {
    fold16_run(f, a, b, y, n, sa, sb, 2);
  } else {
    fold16_run(f, a, b, y, n, sa, sb, 0);
  }
}

/* The broadcast walk of `walk`, the innermost dimension one run. */
static void fold16_walk(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                        const int16_t *input2, int16_t *out) {
  const fold16_t f = {p->k_a, p->m_b, p->ra_b, p->e_b, p->m_o, p->ra_o, p->e_o, p->act_min,
                      p->act_max, (uint32_t)(uint16_t)p->act_min * 0x10001u,
                      (uint32_t)(uint16_t)p->act_max * 0x10001u};
  const int kind = p->act_max != 32767 ? 0 : p->act_min == -32768 ? 1 : p->act_min == 0 ? 2 : 0;
  const int16_t *a = p->a_second ? input2 : input1, *b = p->a_second ? input1 : input2;
  const int32_t *sta = p->a_second ? p->stride2 : p->stride1;
  const int32_t *stb = p->a_second ? p->stride1 : p->stride2;
  const int32_t last = p->rank - 1, inner = p->shape[last];
  int32_t idx[MCUQ_ELEMENTWISE16_MAX_RANK] = {0};
  int32_t total = 1;
  for (int32_t d = 0; d < last; ++d) total *= p->shape[d];
  size_t oa = 0, ob = 0;
  for (int32_t i = 0; i < total; ++i) {
    fold16_run_kind(&f, a + oa, b + ob, out + (size_t)i * (size_t)inner, inner, sta[last],
                    stb[last], kind);
    for (int32_t d = last - 1; d >= 0; --d) { /* odometer over the outer dims (offsets only) */
      oa += (size_t)sta[d];
      ob += (size_t)stb[d];
      if (++idx[d] < p->shape[d]) break;
      oa -= (size_t)sta[d] * (size_t)p->shape[d];
      ob -= (size_t)stb[d] * (size_t)p->shape[d];
      idx[d] = 0;
    }
  }
}
#define MCUQ_EW16_FOLD 1
#else
#define MCUQ_EW16_FOLD 0 /* single rounding: the generic arithmetic */
#endif

void mcuq_add_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
#if MCUQ_EW16_FOLD
  if (p->fast) {
    fold16_walk(p, input1, input2, output);
    return;
  }
#endif
  walk(p, input1, input2, output, OP_ADD);
}

void mcuq_sub_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
#if MCUQ_EW16_FOLD
  if (p->fast) {
    fold16_walk(p, input1, input2, output);
    return;
  }
#endif
  walk(p, input1, input2, output, OP_SUB);
}

void mcuq_mul_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MUL);
}

void mcuq_maximum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MAX);
}

void mcuq_minimum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output) {
  walk(p, input1, input2, output, OP_MIN);
}
