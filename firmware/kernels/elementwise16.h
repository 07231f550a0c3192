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
