#include "lstm.h"

#include "linear16.h"
#include "mcuq_fixedpoint.h"
#include "sigmoid_tanh16.h"

static inline int32_t clamp32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* out[s] = clamp16(MBQM(bias[s] + sum_d w[s][d] * (x[d] + offset))): reference_integer_ops::
 * FullyConnected to int16 with an int32 accumulator (wrapping, as TFLite Micro's). */
static void fc_s8(const int8_t *x, int32_t offset, int32_t depth, const int8_t *w,
                  const int32_t *bias, int32_t multiplier, int32_t shift, int32_t rows,
                  int16_t *out) {
  for (int32_t s = 0; s < rows; ++s) {
    const int8_t *row = w + s * depth;
    int32_t acc = bias ? bias[s] : 0;
    for (int32_t d = 0; d < depth; ++d) {
      acc = mcuq_add_wrap(acc, (int32_t)row[d] * ((int32_t)x[d] + offset));
    }
    out[s] = (int16_t)clamp32(mcuq_mbqm(acc, multiplier, shift), -32768, 32767);
  }
}

/* The 16x8 form: int16 inputs (no offset), int64 accumulator and bias. */
static void fc_s16(const int16_t *x, int32_t depth, const int8_t *w, const int64_t *bias,
                   int32_t multiplier, int32_t shift, int32_t rows, int16_t *out) {
  for (int32_t s = 0; s < rows; ++s) {
    const int8_t *row = w + s * depth;
    int64_t acc = 0;
    for (int32_t d = 0; d < depth; ++d) acc += (int64_t)row[d] * x[d];
    if (bias) acc += bias[s];
    out[s] = (int16_t)clamp32(mcuq_mbqm64(acc, multiplier, shift), -32768, 32767);
  }
}

/* a = sat16(a + b), elementwise (lstm_eval's AddElementWise). */
static void add_sat(int16_t *a, const int16_t *b, int32_t n) {
  for (int32_t k = 0; k < n; ++k) a[k] = (int16_t)clamp32((int32_t)a[k] + b[k], -32768, 32767);
}

/* out = clamp(MBQM(a * b) + offset): MulElementwise of int16 operands. */
static void mul16(const int16_t *a, const int16_t *b, int32_t n, int32_t multiplier,
                  int32_t shift, int16_t *out) {
  for (int32_t k = 0; k < n; ++k) {
    out[k] = (int16_t)clamp32(mcuq_mbqm((int32_t)a[k] * b[k], multiplier, shift), -32768, 32767);
  }
}

static void activate(const mcuq_lstm_params_t *p, int16_t *v, int tanh) {
  const mcuq_sigmoid_tanh16_params_t act = {3, 0, p->n_state, p->table};
  if (tanh) {
    mcuq_tanh_s16(&act, v, v);
  } else {
    mcuq_logistic_s16(&act, v, v);
  }
}

/* The cell update shared by both forms: cell = clip(sat16(f * cell + i * g)) (i is
 * overwritten with i * g). */
static void update_cell(const mcuq_lstm_params_t *p, const int16_t *f, int16_t *i,
                        const int16_t *g, int16_t *cell) {
  const int32_t n = p->n_state;
  mul16(f, cell, n, p->forget_multiplier, p->forget_shift, cell);
  mul16(i, g, n, p->input_multiplier, p->input_shift, i);
  add_sat(cell, i, n);
  if (p->cell_clip > 0) {
    for (int32_t k = 0; k < n; ++k) cell[k] = (int16_t)clamp32(cell[k], -p->cell_clip, p->cell_clip);
  }
}

/* th = tanh(cell) at the cell state's scale 2^power. */
static void tanh_cell(const mcuq_lstm_params_t *p, const int16_t *cell, int16_t *th) {
  const mcuq_sigmoid_tanh16_params_t act = {p->tanh_multiplier, p->tanh_left_shift, p->n_state,
                                            p->table};
  mcuq_tanh_s16(&act, cell, th);
}

/* Offsets of (batch row b, time t) in the input and the output. */
static inline int32_t step_index(const mcuq_lstm_params_t *p, int32_t b, int32_t t) {
  return p->time_major ? t * p->batch + b : b * p->steps + t;
}

static void gate_s8(const mcuq_lstm_params_t *p, const mcuq_lstm_gate_t *g, const int8_t *x,
                    const int8_t *h, int16_t *out, int16_t *tmp, int tanh) {
  fc_s8(x, p->input_offset, p->n_input, g->in_weights, g->bias32, g->in_multiplier,
        g->in_shift, p->n_state, out);
  fc_s8(h, p->hidden_offset, p->n_state, g->rec_weights, 0, g->rec_multiplier, g->rec_shift,
        p->n_state, tmp);
  add_sat(out, tmp, p->n_state);
  activate(p, out, tanh);
}

void mcuq_lstm_s8(const mcuq_lstm_params_t *p, const int8_t *input, int8_t *hidden,
                  int16_t *cell, int8_t *output, int16_t *scratch) {
  const int32_t n = p->n_state;
  int16_t *b0 = scratch, *b1 = scratch + n, *b2 = scratch + 2 * n, *b3 = scratch + 3 * n;
  for (int32_t b = 0; b < p->batch; ++b) {
    int8_t *h = hidden + b * n;
    int16_t *c = cell + b * n;
    for (int32_t t = 0; t < p->steps; ++t) {
      const int32_t at = step_index(p, b, t);
      const int8_t *x = input + at * p->n_input;
      int8_t *y = output + at * n;
      gate_s8(p, &p->forget, x, h, b0, b3, 0);
      gate_s8(p, &p->input, x, h, b1, b3, 0);
      gate_s8(p, &p->cell, x, h, b2, b3, 1);
      update_cell(p, b0, b1, b2, c);
      gate_s8(p, &p->output, x, h, b1, b3, 0); /* uses h before this step's update */
      tanh_cell(p, c, b0);
      for (int32_t k = 0; k < n; ++k) {
        const int32_t v = mcuq_mbqm((int32_t)b0[k] * b1[k], p->output_multiplier,
                                    p->output_shift) + p->hidden_zero_point;
        h[k] = (int8_t)clamp32(v, p->hidden_min, p->hidden_max);
        y[k] = h[k];
      }
    }
  }
}

static void gate_s16(const mcuq_lstm_params_t *p, const mcuq_lstm_gate_t *g, const int16_t *x,
                     const int16_t *h, int16_t *out, int16_t *tmp, int tanh) {
  fc_s16(x, p->n_input, g->in_weights, g->bias64, g->in_multiplier, g->in_shift, p->n_state,
         out);
  fc_s16(h, p->n_state, g->rec_weights, 0, g->rec_multiplier, g->rec_shift, p->n_state, tmp);
  add_sat(out, tmp, p->n_state);
  activate(p, out, tanh);
}

void mcuq_lstm_s16(const mcuq_lstm_params_t *p, const int16_t *input, int16_t *hidden,
                   int16_t *cell, int16_t *output, int16_t *scratch) {
  const int32_t n = p->n_state;
  int16_t *b0 = scratch, *b1 = scratch + n, *b2 = scratch + 2 * n, *b3 = scratch + 3 * n;
  for (int32_t b = 0; b < p->batch; ++b) {
    int16_t *h = hidden + b * n;
    int16_t *c = cell + b * n;
    for (int32_t t = 0; t < p->steps; ++t) {
      const int32_t at = step_index(p, b, t);
      const int16_t *x = input + at * p->n_input;
      gate_s16(p, &p->forget, x, h, b0, b3, 0);
      gate_s16(p, &p->input, x, h, b1, b3, 0);
      gate_s16(p, &p->cell, x, h, b2, b3, 1);
      update_cell(p, b0, b1, b2, c);
      gate_s16(p, &p->output, x, h, b1, b3, 0);
      tanh_cell(p, c, b0);
      int16_t *y = output + at * n;
      for (int32_t k = 0; k < n; ++k) {
        const int32_t v = mcuq_mbqm((int32_t)b0[k] * b1[k], p->output_multiplier,
                                    p->output_shift) + p->hidden_zero_point;
        h[k] = (int16_t)clamp32(v, p->hidden_min, p->hidden_max);
        y[k] = h[k];
      }
    }
  }
}
