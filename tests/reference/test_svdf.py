"""SVDF: reference == TFLite Micro (and LiteRT where it runs the op) to the byte, on
hypothesis-drawn one-op models run as sequences (the activation state carried from step to
step, as one interpreter does); and the refusals of what TFLite Micro does not run."""
import numpy as np
import pytest
from hypothesis import given, settings

from mcuq.errors import InputError, RunnerError, UnsupportedModelError
from mcuq.model import TYPE_CODES, load_model
from mcuq.reference import Interpreter
from mcuq.runners import make_runner
from mcuq.testing.builder import ModelBuilder
from mcuq.testing.svdf import SvdfShape, add_svdf, svdf_cases, wrapping_case
from tests.exactness import EXAMPLES, assert_exact

#: examples per property (a sequence each); MCUQ_EXAMPLES raises it
SVDF_EXAMPLES = max(EXAMPLES // 2, 12)


@settings(max_examples=SVDF_EXAMPLES, deadline=None)
@given(svdf_cases())
def test_svdf_matches_tflm_over_a_sequence(case):
    model, inputs = case
    assert load_model(model).stateful
    assert_exact(model, inputs=inputs, runners=("tflm",))


@settings(max_examples=max(SVDF_EXAMPLES // 3, 4), deadline=None)
@given(svdf_cases(activations=("RELU",)))
def test_svdf_matches_litert_with_relu(case):
    """LiteRT's integer SVDF runs only with a fused RELU (which it does not apply either) and
    an int16 state: there it computes TFLite Micro's bytes (the litert profile is tflm's). An
    int8 state it computes wrongly without a check: the tflite runner refuses it."""
    model, inputs = case
    m = load_model(model)
    if m.tensors[m.operators[0].inputs[4]].type_name == "INT16":
        assert_exact(model, inputs=inputs, runners=("tflite",))
    else:
        with pytest.raises(RunnerError, match="int8 activation state"):
            make_runner("tflite", m).run(inputs)


def test_int32_time_sum_wraps_as_tflm():
    """Unit 0 sums only positive terms (saturated state x +32767) yet its output turns
    negative once 4 x 32767^2 leaves the int32 range: the sum wrapped, as TFLite Micro's does
    (and LiteRT's); the random cases never get there."""
    model, inputs = wrapping_case()
    out = assert_exact(model, inputs=inputs, runners=("tflm", "tflite"))[0]
    assert out[:, 0, 0].max() == 127 and out[:, 0, 0].min() < 0


def _one(state_type="INT16", zp=0, batch=1, memory=4, rank=2, units=3, inp=5, seed=0):
    rng = np.random.default_rng(seed)
    b = ModelBuilder("svdf")
    x = b.input("x", (batch, inp), scale=0.05, zero_point=-3)
    y = add_svdf(b, x, SvdfShape(batch, inp, units, rank, memory, state_type, zp, "NONE"), rng,
                 "svdf", 0.05, gain_1=2.0 ** -6, gain_2=2.0 ** -10, y_zero_point=4)
    b.output(y)
    return b


def test_state_is_the_last_memory_steps_of_the_feature_values():
    """The state after k steps holds the feature step's values of the last `memory` inputs:
    step t's values in column memory - 1 - (k - 1 - t); the state persists across run calls and
    reset() zeroes it."""
    m = load_model(_one(memory=3).build())
    it = Interpreter(m)
    sidx = m.operators[0].inputs[4]
    xs = np.random.default_rng(1).integers(-128, 128, (5, 1, 5)).astype(np.int8)
    cols = []
    for k in range(5):
        it.run([xs[k:k + 1]])
        st = it.variable_tensors[sidx].reshape(6, 3)  # filters x memory
        cols.append(st[:, -1].copy())
        if k >= 2:
            assert np.array_equal(st[:, 0], cols[k - 2]) and np.array_equal(st[:, 1], cols[k - 1])
    assert np.any(it.variable_tensors[sidx] != 0)
    it.reset()
    assert not np.any(it.variable_tensors[sidx])
    first = it.run([xs[:1]]).outputs[0]
    assert np.array_equal(first, Interpreter(m).run([xs[:1]]).outputs[0])


def test_intermediates_hold_the_state_after_each_step():
    """keep_intermediates over a sequence: the state tensor's value at step k is the state
    after step k (not the live array the later steps go on changing)."""
    m = load_model(_one(memory=3).build())
    sidx = m.operators[0].inputs[4]
    xs = np.random.default_rng(2).integers(-128, 128, (4, 1, 5)).astype(np.int8)
    kept = Interpreter(m).run([xs], keep_intermediates=True).intermediates[sidx]
    it = Interpreter(m)
    for k in range(4):
        it.run([xs[k:k + 1]])
        assert np.array_equal(kept[k], it.variable_tensors[sidx][0])
    assert not np.array_equal(kept[0], kept[3])


def _refused(data: bytes, *words, error=UnsupportedModelError):
    with pytest.raises(error) as e:
        Interpreter(data)
    text = str(e.value.message) + str(e.value.hint)
    for w in words:
        assert w in text, text


def test_int16_input_is_refused_tflm_has_no_16x8_svdf():
    b = ModelBuilder()
    x = b.input("x", (1, 4), "INT16", scale=1e-3, zero_point=0)
    wf = b.const("wf", np.ones((2, 4), np.int8), scale=0.01)
    wt = b.const("wt", np.ones((2, 3), np.int16), scale=0.01)
    bias = b.const("bias", np.zeros(2, np.int32), scale=1e-4)
    s = b.tensor("s", (1, 6), "INT16", scale=0.01, zero_point=0, variable=True)
    y = b.tensor("y", (1, 2), "INT16", scale=0.01, zero_point=0)
    b.op("SVDF", [x, wf, wt, bias, s], [y], rank=1)
    b.output(y)
    _refused(b.build(), "INT16", "16x8")


def _edit(mutate) -> bytes:
    b = _one()
    op = b.operators[0]
    mutate(b, op)
    return b.build()


def test_refusals_name_what_tflm_does_not_run():
    def no_bias(b, op):
        op.inputs[3] = -1

    def not_variable(b, op):
        b.tensors[op.inputs[4]].isVariable = False

    def rank_mismatch(b, op):
        op.builtinOptions.rank = 4  # 6 filters

    _refused(_edit(no_bias), "no bias", "zero int32 bias")
    # the validator's (malformed, exit 2): a state that is not a variable has no value
    _refused(_edit(not_variable), "svdf/state' before it has a value", error=InputError)
    _refused(_edit(rank_mismatch), "not a multiple of rank 4", error=InputError)
    Interpreter(_one("INT8", zp=3).build())  # an int8 state (with a zero point) runs


def test_int8_state_and_int16_time_weights_are_refused():
    def mixed(b, op):
        b.tensors[op.inputs[4]].type = TYPE_CODES["INT8"]  # int16 time weights

    _refused(_edit(mixed), "give both one type")
