"""`inspect` per-op support (mcuq's reference, C target, TFLite Micro) and the MACs of the
issue-10 ops with arithmetic (TRANSPOSE_CONV, BATCH_MATMUL)."""
import json

import numpy as np
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.costs import inspect_model, op_support
from mcuq.testing.builder import ModelBuilder

ISSUE10_OPS = ("SHAPE PACK UNPACK SPLIT SPLIT_V SLICE GATHER ARG_MAX ARG_MIN REDUCE_MAX SUM PRELU "
               "TRANSPOSE_CONV RESIZE_NEAREST_NEIGHBOR RESIZE_BILINEAR SPACE_TO_BATCH_ND "
               "BATCH_TO_SPACE_ND DEPTH_TO_SPACE SPACE_TO_DEPTH BATCH_MATMUL SQUARED_DIFFERENCE "
               "RSQRT L2_NORMALIZATION").split()


def _model(tmp_path):
    b = ModelBuilder()
    x = b.input("x", (1, 3, 4, 2), scale=0.1, zero_point=0)
    w = b.const("w", np.ones((5, 3, 3, 2), np.int8), scale=0.02, zero_point=0)
    y = b.tensor("y", (1, 6, 8, 5), scale=0.1, zero_point=0)
    b.op("TRANSPOSE_CONV", [b.const("s", np.array([1, 6, 8, 5], np.int32)), w, x], [y],
         padding="SAME", stride_h=2, stride_w=2)
    r = b.tensor("r", (1, 6, 40), scale=0.1, zero_point=0)
    b.op("RESHAPE", [y, b.const("rs", np.array([1, 6, 40], np.int32))], [r],
         new_shape=[1, 6, 40])
    m = b.tensor("m", (1, 6, 7), scale=0.2, zero_point=3)
    b.op("BATCH_MATMUL", [r, b.const("k", np.ones((40, 7), np.int8), scale=0.1,
                                     zero_point=0)], [m])
    t = b.tensor("t", (2, 6, 7), scale=0.2, zero_point=3)
    b.op("TILE", [m, b.const("mult", np.array([2, 1, 1], np.int32))], [t])
    b.output(t)
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build())
    return path


def test_support_and_macs(tmp_path):
    info = inspect_model(_model(tmp_path), measure_tflm=False)
    by_op = {o.op: o for o in info.ops}
    tc, bmm, tile = by_op["TRANSPOSE_CONV"], by_op["BATCH_MATMUL"], by_op["TILE"]
    assert tc.macs == 3 * 4 * 2 * 5 * 3 * 3  # input elements x Cout x KH x KW
    assert bmm.macs == 6 * 7 * 40  # output elements x depth
    assert (tc.support.reference, tc.support.c, tc.support.tflm) == (True, True, True)
    assert (tile.support.reference, tile.support.c, tile.support.tflm) == (False, False, False)
    assert by_op["RESHAPE"].support.c  # an alias in the C target, no kernel needed


def test_every_issue10_op_is_supported_everywhere():
    missing = [o for o in ISSUE10_OPS if not all(vars(op_support(o)).values())]
    assert not missing


def test_cli_shows_the_support_column(tmp_path):
    path = _model(tmp_path)
    r = CliRunner().invoke(main, ["inspect", str(path), "--no-tflm"])
    assert r.exit_code == 0, r.output
    rows = {ln.split()[1]: ln for ln in r.output.splitlines() if ln[:1].isdigit()}
    assert rows["TRANSPOSE_CONV"].rstrip().endswith("ref C tflm")
    assert rows["TILE"].rstrip().endswith("- - -")
    r = CliRunner().invoke(main, ["inspect", str(path), "--json", "--no-tflm"])
    data = json.loads(r.output)
    tile = next(o for o in data["ops"] if o["op"] == "TILE")
    assert tile["support"] == {"reference": False, "c": False, "tflm": False}


def test_resolver_methods_exist_in_tflite_micro():
    """Each issue-10 op's MicroMutableOpResolver method is declared by TFLite Micro's header
    (the prebuilt copy in ../shared; skipped when absent)."""
    import re
    from pathlib import Path

    import pytest

    from mcuq.codegen.tflm_ops import add_method

    header = (Path(__file__).resolve().parents[1].parent / "shared/third_party/tflm/tensorflow"
              / "lite/micro/micro_mutable_op_resolver.h")
    if not header.exists():
        pytest.skip(f"{header} is absent (the prebuilt TFLite Micro ships with the repo's CI)")
    text = header.read_text()
    missing = [o for o in ISSUE10_OPS
               if not re.search(rf"TfLiteStatus {add_method(o)}\(", text)]
    assert not missing
