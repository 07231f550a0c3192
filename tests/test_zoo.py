"""The shared zoo: every model converts to a fully integer .tflite that LiteRT runs."""
from __future__ import annotations

import numpy as np
import pytest

from mcuq.conversion import integer_problems
from mcuq.model import load_model
from mcuq.runners import make_runner
from mcuq.testing import zoo as zoo_mod
from tests.exactness import random_inputs

SOFTMAX_MODELS = {"mlp", "cnn", "ds_cnn", "mobilenet_v1", "resnet8"}


@pytest.mark.parametrize("name", zoo_mod.ZOO_NAMES)
def test_zoo_model_is_fully_int8(zoo, name):
    model = load_model(zoo[name])
    assert model.operators, name
    for op in model.operators:
        for t in model.op_inputs(op) + model.op_outputs(op):
            if t is None:
                continue
            if t.is_constant and t.type_name == "INT32":
                continue  # biases and shape/axis operands
            assert t.type_name == "INT8", f"{name} {op.describe()} tensor '{t.name}' {t.type_name}"
            assert t.quant is not None, f"{name}: '{t.name}' has no quantization"
    assert integer_problems(model) == []
    for t in model.input_tensors() + model.output_tensors():
        assert t.type_name == "INT8" and t.shape[0] == 1


@pytest.mark.parametrize("name", zoo_mod.ZOO_NAMES)
def test_zoo_model_runs_in_litert(zoo, name):
    model = load_model(zoo[name])
    expected = [tuple(s) for s in zoo_mod.INPUT_SHAPES[name]]
    assert [t.shape[1:] for t in model.input_tensors()] == expected
    out = make_runner("tflite", model).run(random_inputs(model, 3, seed=1)).outputs
    assert [o.dtype for o in out] == [np.int8] * len(model.outputs)
    if name in SOFTMAX_MODELS:
        t = model.output_tensors()[0]
        probs = (out[0].astype(np.float64) - t.zero_point) * t.scale
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=0.05)


def test_zoo_ops_are_the_intended_architectures(zoo):
    ops = {n: set(load_model(b).op_types()) for n, b in zoo.items()}
    assert "DEPTHWISE_CONV_2D" in ops["ds_cnn"] and "DEPTHWISE_CONV_2D" in ops["mobilenet_v1"]
    assert sum(op.opcode == "ADD" for op in load_model(zoo["resnet8"]).operators) == 3
    assert ops["autoencoder"] == {"FULLY_CONNECTED"}
    assert "CONCATENATION" in ops["two_in_two_out"]
    assert len(load_model(zoo["two_in_two_out"]).outputs) == 2
    # batch fixed to 1: Flatten is a single RESHAPE, never SHAPE/STRIDED_SLICE/PACK
    assert not ops["cnn"] & {"SHAPE", "STRIDED_SLICE", "PACK"}


def test_zoo_cache_holds_the_fixture_bytes(zoo):
    folder = zoo_mod.default_cache_dir() / zoo_mod.cache_key()
    for name in zoo_mod.ZOO_NAMES:
        assert (folder / f"{name}.tflite").read_bytes() == zoo[name]


@pytest.mark.parametrize("name", zoo_mod.ZOO_NAMES)
def test_calibration_matches_the_keras_inputs(name):
    xs = zoo_mod.calibration(name, n=7, seed=3)
    assert [x.shape for x in xs] == [(7, *s) for s in zoo_mod.INPUT_SHAPES[name]]
    assert all(x.dtype == np.float32 and np.isfinite(x).all() for x in xs)
    np.testing.assert_array_equal(xs[0], zoo_mod.calibration(name, n=7, seed=3)[0])
    assert not np.array_equal(xs[0], zoo_mod.calibration(name, n=7, seed=4)[0])


def test_unknown_zoo_name():
    with pytest.raises(KeyError, match="unknown zoo model"):
        zoo_mod.build_keras("vgg16")
