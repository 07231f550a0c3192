"""Shape / data-movement C kernels == reference on the property-test cases (host ASan+UBSan
build, and a smaller batch on Cortex-M4 under QEMU), plus multi-op models whose RESHAPE /
SQUEEZE / EXPAND_DIMS go through cmodel.py's aliasing."""
import numpy as np
import pytest
from hypothesis import strategies as st

from mcuq.codegen.cmodel import build_cmodel
from mcuq.codegen.c_ops.shape import merge_dims
from mcuq.model import load_model
from mcuq.testing.builder import ModelBuilder
from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_shape import (concat_models, pad_models, reshape_models,
                                        strided_slice_models, transpose_models)


MIDDLE_OPS = ("PAD", "TRANSPOSE", "STRIDED_SLICE", "CONCATENATION")


def chain_model(mid: str, h: int, w: int, c: int, s: float = 0.05, zp: int = -3) -> bytes:
    """RESHAPE -> `mid` -> SQUEEZE: the aliases sit between a model input, an arena tensor
    and a model output."""
    b = ModelBuilder()
    x = b.input("x", (h * w * c,), scale=s, zero_point=zp)
    r = b.tensor("r", (1, h, w, c), scale=s, zero_point=zp)
    b.op("RESHAPE", [x, b.const("shape", np.array([1, h, w, c], np.int32))], [r],
         new_shape=[1, h, w, c])
    options = {}
    if mid == "PAD":
        out = (1, h + 1, w + 2, c)
        ins = [r, b.const("pads", np.array([[0, 0], [1, 0], [0, 2], [0, 0]], np.int32))]
    elif mid == "TRANSPOSE":
        out = (1, c, h, w)
        ins = [r, b.const("perm", np.array([0, 3, 1, 2], np.int32))]
    elif mid == "STRIDED_SLICE":
        out = (1, h, (w + 1) // 2, c)
        ins = [r] + [b.const(n, np.array(v, np.int32)) for n, v in
                     (("begin", [0, 0, -1, 0]), ("end", [1, h, -w - 1, c]),
                      ("strides", [1, 1, -2, 1]))]
    else:
        out, ins, options = (1, h, w, 2 * c), [r, r], {"axis": -1}
    m = b.tensor("m", out, scale=s, zero_point=zp)
    b.op(mid, ins, [m], **options)
    y = b.tensor("y", out[1:], scale=s, zero_point=zp)
    b.op("SQUEEZE", [m], [y], squeeze_dims=[0])
    b.output(y)
    return b.build()


@st.composite
def chain_models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))
    h, w, c = (draw(st.integers(1, 4)) for _ in range(3))
    return chain_model(draw(st.sampled_from(MIDDLE_OPS)), h, w, c, s, zp)


def test_merge_dims():
    # (2, 3, 4) int8 copied whole: one contiguous run of 24
    assert merge_dims([2, 3, 4], [12, 4, 1], [12, 4, 1], 1) == ([24], [1], [1])
    # reversed inner axis cannot merge with its outer neighbour
    assert merge_dims([1, 3, 4], [12, 4, -1], [12, 4, 1], 1) == ([3, 4], [4, -1], [4, 1])


@pytest.mark.parametrize("mid", MIDDLE_OPS)
def test_chain_uses_aliases(mid):
    model = load_model(chain_model(mid, 3, 4, 2))
    cm = build_cmodel(model, "chain", external_io=True)  # the caller's I/O buffers
    assert [c.op for c in cm.calls] and all(c.op not in ("RESHAPE", "SQUEEZE")
                                            for c in cm.calls)
    st_ = cm.tensor_storage
    assert st_[model.inputs[0]].kind == "input" and st_[model.outputs[0]].kind == "output"
    r = model.operators[0].outputs[0]
    assert st_[r].kind == "input"  # RESHAPE output aliases the model input
    m = model.operators[2].inputs[0]
    assert st_[m].kind == "output"  # the middle op writes straight into SQUEEZE's output
    assert len(cm.calls) == 1 and cm.arena_size == 0 and not cm.copies
    # I/O inside the arena: the RESHAPE/SQUEEZE aliases share their tensor's offset
    cm = build_cmodel(model, "chain")
    st_ = cm.tensor_storage
    assert st_[r].kind == "arena" and st_[r].slot == st_[model.inputs[0]].slot
    assert st_[m].slot == st_[model.outputs[0]].slot
    assert len(cm.calls) == 1 and not cm.copies


def test_shape_c_host(host_cc):
    for strategy in (concat_models(), pad_models(), strided_slice_models(), transpose_models(),
                     reshape_models(), chain_models()):
        assert assert_c_matches_reference(strategy) > 0


def test_shape_c_cortex_m4(cortex_m4):
    for strategy in (concat_models(), pad_models(), strided_slice_models(), transpose_models(),
                     chain_models()):
        assert assert_c_matches_reference(strategy, target="cortex-m4", examples=6) > 0


@pytest.mark.parametrize("mid", MIDDLE_OPS)
def test_chain_reference_matches_tflm(mid):
    from tests.exactness import assert_exact

    assert_exact(chain_model(mid, 3, 5, 2), batch=3, seed=1)
