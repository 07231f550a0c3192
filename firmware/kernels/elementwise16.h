/* ADD, SUB, MUL, MAXIMUM, MINIMUM on int16 (zero point 0) with TFLite broadcasting (mirrors
 * mcuq/reference/ops/elementwise16.py). The emitter plans the broadcast walk as for the int8
 * kernels: output extents, outermost first, and one element stride per input (0: broadcast). */
#ifndef MCUQ_ELEMENTWISE16_H
#define MCUQ_ELEMENTWISE16_H

#include <stdint.h>

#define MCUQ_ELEMENTWISE16_MAX_RANK 7

typedef struct {
  int32_t left_shift;                      /* ADD/SUB: 15 */
  int32_t input1_multiplier, input1_shift; /* ADD/SUB: shifts <= 0 */
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift; /* MUL: shift may be > 0 */
  int32_t act_min, act_max;
  int32_t rank;
  int32_t shape[MCUQ_ELEMENTWISE16_MAX_RANK];
  int32_t stride1[MCUQ_ELEMENTWISE16_MAX_RANK];
  int32_t stride2[MCUQ_ELEMENTWISE16_MAX_RANK];
  /* ADD/SUB's folded form (fast != 0; mcuq/codegen/c_ops/int16.py: add16_fold checks it).
   * TFLM rescales input i to rdbp(srdhm(x_i << 15, m_i), e_i). The input with the larger scale
   * ("A", input 2 when a_second) has m = 2^30, e = 0: exactly x_A << 14. The other ("B") and
   * the output have 1 <= e <= 31, where srdhm + rdbp is one SMMLAR (mcuq_fixedpoint.h's
   * mcuq_rqc2 derivation, acc = x << 15 doubled = x << 16):
   *   v_B = SMMLAR(x_B << 16, m_b, ra_b - [x_B < 0]) >> e_b,   ra_b = 2^(e_b - 1)
   *   raw = x_A * k_a + v_B   (ADD: k_a = 2^14; SUB: A is input 2, k_a = -2^14)
   *   out = SMMLAR(2 raw, m_o, ra_o - [raw < 0]) >> e_o,        |raw| <= 2^30
   * then the clamp. */
  int32_t fast, a_second, k_a;
  int32_t m_b, ra_b, e_b, m_o, ra_o, e_o;
} mcuq_elementwise16_params_t;

void mcuq_add_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output);
void mcuq_sub_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output);
void mcuq_mul_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                  const int16_t *input2, int16_t *output);
/* raw int16 comparison (quantization ignored, as TFLite Micro) */
void mcuq_maximum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output);
void mcuq_minimum_s16(const mcuq_elementwise16_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output);

#endif
