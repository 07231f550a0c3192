"""Whole converted models (the zoo: MLP, CNN, DS-CNN, MobileNetV1-style, ResNet-8-style,
autoencoder, two-input/two-output), every runner against the reference:

- every intermediate tensor identical to TensorFlow Lite Micro's (and TFLite's reference kernels
  where they are exact by design);
- the generated standalone C on the host (also under ASan+UBSan) and on Cortex-M4 under QEMU:
  outputs identical on at least 20 inputs.
"""
import numpy as np
import pytest

from mcuq.model import load_model
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
def test_tflite_reference_kernels(zoo, name):
    model = load_model(zoo[name])
    x = _inputs(model, 8)
    ref = make_runner("reference", model).run(x)
    runner = make_runner("tflite", model)
    got = runner.run(x)
    for k, (r, g) in enumerate(zip(ref.outputs, got.outputs)):
        if runner.exact:
            _assert_same(f"{name} tflite output {k}", r, g)
        else:  # an op listed in KNOWN_DIFFERENCES (double vs single rounding): 1 LSB per op
            assert np.abs(r.astype(np.int64) - g).max() <= len(model.operators), name


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_generated_c_on_host_with_sanitizers(zoo, name, host_cc):
    model = load_model(zoo[name])
    x = _inputs(model)
    ref = make_runner("reference", model).run(x)
    got = make_runner("host", model, sanitize=True).run(x)
    for k, (r, g) in enumerate(zip(ref.outputs, got.outputs)):
        _assert_same(f"{name} host output {k}", r, g)


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_generated_c_on_cortex_m4_under_qemu(zoo, name, cortex_m4):
    model = load_model(zoo[name])
    x = _inputs(model)
    ref = make_runner("reference", model).run(x)
    got = make_runner("cortex-m4", model).run(x)
    for k, (r, g) in enumerate(zip(ref.outputs, got.outputs)):
        _assert_same(f"{name} cortex-m4 output {k}", r, g)
