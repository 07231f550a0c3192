/* SVDF, int8 input/output with an int16 (or int8) activation state and time weights
 * (mirrors mcuq/reference/ops/svdf.py, TFLite Micro's EvalIntegerSvdfReference). */
#ifndef MCUQ_SVDF_H
#define MCUQ_SVDF_H

#include <stdint.h>

typedef struct {
  int32_t batch, input_size, num_filters, num_units, rank, memory_size;
  int32_t input_zero_point, output_zero_point, state_zero_point;
  int32_t multiplier_1, shift_1; /* feature step -> state */
  int32_t multiplier_2, shift_2; /* time step + bias -> output */
} mcuq_svdf_params_t;

/* One invocation. state: [batch][num_filters][memory_size], the op's memory (a static
 * buffer kept between invocations); updated in place. */
void mcuq_svdf_s8_s16(const mcuq_svdf_params_t *p, const int8_t *input,
                      const int8_t *weights_feature, const int16_t *weights_time,
                      const int32_t *bias, int16_t *state, int8_t *output);
void mcuq_svdf_s8_s8(const mcuq_svdf_params_t *p, const int8_t *input,
                     const int8_t *weights_feature, const int8_t *weights_time,
                     const int32_t *bias, int8_t *state, int8_t *output);

#endif
