/* SVDF (see svdf.h). One invocation:
 *  1. every (batch, filter) row of the state moves one step left (one memmove of the whole
 *     buffer: the value that crosses into the previous row's last column is overwritten next);
 *  2. feature step: the newest column = MBQM(sum_c wf[f][c] * (x[c] - x_zp), scale 1), clamped
 *     to the state type, plus the state zero point, narrowed into the state type;
 *  3. time step per unit: bias[u] + sum over the unit's rank filters of
 *     sum_m wt[f][m] * (state[f][m] - state_zp), MBQM(scale 2) + y_zp, clamped to int8.
 * The int32 sums wrap (two's complement) as TFLite Micro's do when compiled; here on uint32_t.
 * No scratch: the filters' sums go straight into their unit's accumulator. */
#include "svdf.h"

#include <string.h>

#include "mcuq_fixedpoint.h"

#define MCUQ_SVDF_DEFINE(NAME, T, T_MIN, T_MAX)                                              \
  void NAME(const mcuq_svdf_params_t *p, const int8_t *input, const int8_t *weights_feature, \
            const T *weights_time, const int32_t *bias, T *state, int8_t *output) {          \
    const int32_t filters = p->num_filters, memory = p->memory_size;                         \
    const int32_t total = p->batch * filters * memory;                                       \
    int32_t b, f, u, r, c, m;                                                                \
    if (total > 1) memmove(state, state + 1, (size_t)(total - 1) * sizeof(T));               \
    for (b = 0; b < p->batch; ++b) {                                                         \
      const int8_t *x = input + b * p->input_size;                                           \
      T *row = state + b * filters * memory;                                                 \
      const int8_t *w = weights_feature;                                                     \
      for (f = 0; f < filters; ++f) {                                                        \
        int32_t dot = 0, v;                                                                  \
        for (c = 0; c < p->input_size; ++c, ++w) {                                           \
          dot = mcuq_add_wrap(dot, (int32_t)*w * ((int32_t)x[c] - p->input_zero_point));     \
        }                                                                                    \
        v = mcuq_mbqm(dot, p->multiplier_1, p->shift_1);                                     \
        v = v < (T_MIN) ? (T_MIN) : (v > (T_MAX) ? (T_MAX) : v);                             \
        /* zero point after the clamp, narrowed with wrap (gcc's conversion), as TFLM */     \
        row[f * memory + memory - 1] = (T)(v + p->state_zero_point);                         \
      }                                                                                      \
    }                                                                                        \
    for (b = 0; b < p->batch; ++b) {                                                         \
      const T *row = state + b * filters * memory;                                           \
      for (u = 0; u < p->num_units; ++u) {                                                   \
        int32_t acc = bias[u], y;                                                            \
        for (r = 0; r < p->rank; ++r) {                                                      \
          const int32_t k = (u * p->rank + r) * memory;                                      \
          for (m = 0; m < memory; ++m) {                                                     \
            acc = mcuq_add_wrap(acc, (int32_t)weights_time[k + m] *                          \
                                         ((int32_t)row[k + m] - p->state_zero_point));       \
          }                                                                                  \
        }                                                                                    \
        y = mcuq_mbqm(acc, p->multiplier_2, p->shift_2) + p->output_zero_point;              \
        output[b * p->num_units + u] = (int8_t)(y < -128 ? -128 : (y > 127 ? 127 : y));      \
      }                                                                                      \
    }                                                                                        \
  }

MCUQ_SVDF_DEFINE(mcuq_svdf_s8_s16, int16_t, -32768, 32767)
MCUQ_SVDF_DEFINE(mcuq_svdf_s8_s8, int8_t, -128, 127)
