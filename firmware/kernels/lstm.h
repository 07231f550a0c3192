/* UNIDIRECTIONAL_SEQUENCE_LSTM, integer (mirrors mcuq/reference/ops/lstm.py): int8 activations
 * and weights with an int16 cell state (mcuq_lstm_s8), or 16x8 (int16 activations, int64
 * biases: mcuq_lstm_s16). The hidden and cell states are the model's variable tensors, updated
 * in place; `scratch` holds 4 x n_state int16 values. */
#ifndef MCUQ_LSTM_H
#define MCUQ_LSTM_H

#include <stdint.h>

typedef struct {
  const int8_t *in_weights;  /* n_state x n_input */
  const int8_t *rec_weights; /* n_state x n_state */
  const int32_t *bias32;     /* n_state (int8 activations), else NULL */
  const int64_t *bias64;     /* n_state (16x8), else NULL */
  int32_t in_multiplier, in_shift;   /* input -> gate, to Q3.12 */
  int32_t rec_multiplier, rec_shift; /* hidden -> gate, to Q3.12 */
} mcuq_lstm_gate_t;

typedef struct {
  int32_t time_major, batch, steps, n_input, n_state;
  int32_t input_offset;  /* -input zero point */
  int32_t hidden_offset; /* -hidden zero point */
  int32_t hidden_zero_point, hidden_min, hidden_max;
  mcuq_lstm_gate_t forget, input, cell, output;
  int32_t cell_clip; /* quantized clip, 0: none */
  int32_t forget_multiplier, forget_shift; /* forget gate x cell state */
  int32_t input_multiplier, input_shift;   /* input gate x cell gate */
  int32_t output_multiplier, output_shift; /* tanh(cell) x output gate -> hidden */
  int32_t tanh_multiplier, tanh_left_shift; /* the int16 TANH of the cell state */
  const int16_t *table; /* TFLite Micro's sigmoid table minus 32768 (256 entries) */
} mcuq_lstm_params_t;

void mcuq_lstm_s8(const mcuq_lstm_params_t *p, const int8_t *input, int8_t *hidden,
                  int16_t *cell, int8_t *output, int16_t *scratch);
void mcuq_lstm_s16(const mcuq_lstm_params_t *p, const int16_t *input, int16_t *hidden,
                   int16_t *cell, int16_t *output, int16_t *scratch);

#endif
