"""TFLite Micro's measured arena: the figures come from its real interpreter, and the sizes
they imply are checked against that interpreter in a separate process (a too-small arena can
crash TFLM, so every probe runs in a child and a crash counts as a failure)."""
import subprocess
import sys

import numpy as np
import pytest

from mcuq.errors import ToolchainError, UnsupportedModelError
from mcuq.testing.builder import ModelBuilder
from mcuq.tflm_arena import measure_tflm_arena

PROBE = r"""
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime as rt
data = open(sys.argv[1], "rb").read()
n = int(sys.argv[2])
it = rt.Interpreter.from_bytes(data, arena_size=n)
d = it.get_input_details(0)
it.set_input(np.zeros(d["shape"], d["dtype"]), 0)
it.invoke()
print("OK", flush=True)
"""


def mlp(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.input("x", (1, n_in), scale=0.05, zero_point=-3)
    w1 = b.const("w1", rng.integers(-127, 128, (n_hidden, n_in), dtype=np.int8), scale=0.02)
    b1 = b.const("b1", rng.integers(-500, 500, (n_hidden,), dtype=np.int32), scale=0.05 * 0.02)
    h = b.tensor("h", (1, n_hidden), scale=0.1, zero_point=5)
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], fused_activation_function="RELU")
    w2 = b.const("w2", rng.integers(-127, 128, (n_out, n_hidden), dtype=np.int8), scale=0.02)
    b2 = b.const("b2", rng.integers(-500, 500, (n_out,), dtype=np.int32), scale=0.1 * 0.02)
    y = b.tensor("y", (1, n_out), scale=0.2, zero_point=-1)
    b.op("FULLY_CONNECTED", [h, w2, b2], [y])
    b.output(y)
    return b.build()


def works(path, arena_size: int) -> bool:
    """Does TFLM allocate and invoke the model with this arena (in a fresh process)?"""
    r = subprocess.run([sys.executable, "-c", PROBE, str(path), str(arena_size)],
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0 and "OK" in r.stdout


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    data = mlp(16, 8, 4)
    path = tmp_path_factory.mktemp("arena") / "small.tflite"
    path.write_bytes(data)
    return path, measure_tflm_arena(data)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    data = mlp(1024, 256, 10)
    path = tmp_path_factory.mktemp("arena") / "wide.tflite"
    path.write_bytes(data)
    return path, measure_tflm_arena(data)


@pytest.mark.parametrize("which", ["small", "wide"])
def test_head_plus_tail_is_total(which, request):
    _, a = request.getfixturevalue(which)
    assert a.head_bytes + a.tail_bytes == a.total_bytes
    assert a.head_bytes > 0 and a.tail_bytes > 0


def test_activation_bound_model_total_is_the_minimum(wide):
    """Activations dominate: TFLM's reported total works and 16 bytes less does not."""
    path, a = wide
    assert a.head_bytes >= 1024 + 256  # input and hidden activations, planned by TFLM
    assert works(path, a.total_bytes)
    assert not works(path, a.total_bytes - 16)
    assert a.required_bytes <= a.total_bytes


@pytest.mark.parametrize("which", ["small", "wide"])
def test_required_is_the_exact_minimum(which, request):
    path, a = request.getfixturevalue(which)
    assert works(path, a.required_bytes)
    assert not works(path, a.required_bytes - 1)


def test_small_model_needs_more_than_total_while_preparing(small):
    """Kernels' temporary tensors during Prepare outweigh the tiny activations: the reported
    total is not enough, which is why measure_tflm_arena searches for the real minimum."""
    path, a = small
    assert not works(path, a.total_bytes)
    assert a.required_bytes > a.total_bytes


def test_op_tflm_lacks_is_unsupported_and_named():
    b = ModelBuilder()
    x = b.input("x", (1, 4), scale=0.1)
    y = b.tensor("y", (1, 4), scale=0.1)
    b.op("HASHTABLE_LOOKUP", [x], [y])
    b.output(y)
    with pytest.raises(UnsupportedModelError) as e:
        measure_tflm_arena(b.build())
    assert "HASHTABLE_LOOKUP" in e.value.message
    assert e.value.exit_code == 3


def test_missing_tflite_micro_is_a_toolchain_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite_micro.python.tflite_micro", None)
    with pytest.raises(ToolchainError) as e:
        measure_tflm_arena(mlp(4, 4, 2))
    assert "tflite-micro" in e.value.message and "pip install" in e.value.hint
