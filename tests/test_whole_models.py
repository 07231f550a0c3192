"""Whole converted models (the zoo: MLP, CNN, DS-CNN, MobileNetV1-style, ResNet-8-style,
autoencoder, two-input/two-output), every runner against the reference in its own profile:

- every intermediate tensor identical to TensorFlow Lite Micro's (profile tflm);
- every op of TFLite's reference kernels, fed TFLite's own inputs, identical to the reference's
  kernel in profile litert, and TFLite's outputs identical to the litert profile's;
- the generated standalone C on the host under ASan+UBSan (verify's host-sanitize runner) and on
  Cortex-M4 under QEMU: outputs identical on 24 inputs, built with double rounding (vs tflm)
  and with single rounding (vs single-rounding).
"""
import numpy as np
import pytest

from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.runners import make_runner
from mcuq.testing.zoo import ZOO_NAMES
from tests.exactness import describe_mismatch, random_inputs

SAMPLES = 24


def _inputs(model, n=SAMPLES, seed=7):
    return random_inputs(model, n, seed)


def _assert_same(name, ref, got):
    assert ref.shape == got.shape and ref.dtype == got.dtype, (name, ref.shape, got.shape)
    if not np.array_equal(ref, got):
        raise AssertionError(describe_mismatch(name, ref, got))


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_every_intermediate_matches_tflm(zoo, name):
    model = load_model(zoo[name])
    x = _inputs(model, 8)
    ref = make_runner("reference", model).run(x, keep_intermediates=True)
    tflm = make_runner("tflm", model).run(x, keep_intermediates=True)
    assert ref.intermediates, "the reference kept no intermediates"
    for op in model.operators:  # op order: the first failure is the first diverging tensor
        for i in op.outputs:
            t = model.tensors[i]
            _assert_same(f"{name}: op #{op.index} {op.opcode} -> '{t.name}'",
                         ref.intermediates[i], tflm.intermediates[i])
    for k, (r, g) in enumerate(zip(ref.outputs, tflm.outputs)):
        _assert_same(f"{name} output {k}", r, g)


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_tflite_reference_kernels_op_by_op(zoo, name):
    """Every op of TFLite's reference kernels against mcuq's reference kernel in the litert
    profile, fed the very same inputs (TFLite's own intermediates), so a difference cannot hide
    behind an earlier one; then the whole model: TFLite's outputs == the litert profile's. The
    tflm profile's distance on the same inputs is printed (it is what --explain reports)."""
    model = load_model(zoo[name])
    x = _inputs(model, 8)
    tflite = make_runner("tflite", model)
    assert tflite.profile == "litert" and tflite.exact
    tfl = tflite.run(x, keep_intermediates=True)
    values = {i: v for i, v in zip(model.inputs, x)}
    values.update(tfl.intermediates)
    interp = Interpreter(model, "litert")
    tflm_interp = Interpreter(model, "tflm")
    differing = {}
    for op, kernel, params in interp.plan:
        args = [None if i < 0 else values[i] if model.tensors[i].data is None else
                np.broadcast_to(model.tensors[i].data, (len(x[0]), *model.tensors[i].shape))
                for i in op.inputs]
        tflm_outs = tflm_interp.run_op(op.index, args)
        for i, ref, t in zip(op.outputs, kernel.run(params, args), tflm_outs):
            where = f"{name}: op #{op.index} {op.opcode} -> '{model.tensors[i].name}'"
            _assert_same(where, ref, values[i])
            if not np.array_equal(t, ref):
                differing[where] = (int((t != ref).sum()), ref.size)
    print(f"\n{name}: TFLite reference kernels == litert profile op by op"
          + "".join(f"\n  {w}: {n} of {size} elements differ in the tflm profile"
                    for w, (n, size) in differing.items()))
    for k, (r, g) in enumerate(zip(tfl.outputs, (values[i] for i in model.outputs))):
        _assert_same(f"{name} tflite output {k} (run vs its own intermediates)", r, g)
    whole = make_runner("reference", model, profile="litert").run(_inputs(model)).outputs
    for k, (r, g) in enumerate(zip(whole, tflite.run(_inputs(model)).outputs)):
        _assert_same(f"{name} tflite output {k} vs the litert profile", r, g)


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_generated_c_passes_the_host_sanitize_runner(zoo, name, rounding, host_cc):
    """verify's host-sanitize runner (ASan + UBSan, any report fails) on every zoo model, in
    both roundings, each against its reference profile."""
    from mcuq.verification import verify_model

    model = load_model(zoo[name])
    report = verify_model(model, data=_inputs(model), runners=["host-sanitize"],
                          runner_options={"host-sanitize": {"rounding": rounding}})
    (r,) = report.runners
    assert r.profile == {"double": "tflm", "single": "single-rounding"}[rounding]
    assert r.runner == "host-sanitize" and r.status == "exact", r
    assert report.exit_code == 0 and report.samples == SAMPLES


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_generated_c_on_cortex_m4_under_qemu(zoo, name, rounding, cortex_m4):
    model = load_model(zoo[name])
    x = _inputs(model)
    got = make_runner("cortex-m4", model, rounding=rounding)
    ref = make_runner("reference", model, profile=got.profile).run(x)
    for k, (r, g) in enumerate(zip(ref.outputs, got.run(x).outputs)):
        _assert_same(f"{name} cortex-m4 ({rounding} rounding) output {k}", r, g)
