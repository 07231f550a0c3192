"""`mcuq inspect`: hand-computed MACs and bytes, arena figures vs TFLite Micro, CLI behaviour."""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.costs import inspect_model
from mcuq.testing.builder import ModelBuilder


def conv_dw_fc_model() -> bytes:
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 3), scale=0.02, zero_point=-1)
    w = b.const("conv_w", rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8),
                scale=np.full(4, 0.01, np.float32), axis=0)
    bias = b.const("conv_b", np.zeros(4, np.int32), scale=np.full(4, 0.0002, np.float32))
    c = b.tensor("conv", (1, 8, 8, 4), scale=0.05, zero_point=-128)
    b.op("CONV_2D", [x, w, bias], [c], version=3, padding="SAME", stride_w=1, stride_h=1,
         fused_activation_function="RELU")
    dw = b.const("dw_w", rng.integers(-127, 128, (1, 3, 3, 4), dtype=np.int8),
                 scale=np.full(4, 0.01, np.float32), axis=3)
    dw_b = b.const("dw_b", np.zeros(4, np.int32), scale=np.full(4, 0.0005, np.float32))
    d = b.tensor("dw", (1, 3, 3, 4), scale=0.05, zero_point=-128)
    # (TFLite Micro's DEPTHWISE_CONV_2D crashes without a bias; the converter always adds one)
    b.op("DEPTHWISE_CONV_2D", [c, dw, dw_b], [d], version=3, padding="VALID", stride_w=2,
         stride_h=2, depth_multiplier=1)
    shape = b.const("shape", np.array([1, 36], np.int32))
    r = b.tensor("flat", (1, 36), scale=0.05, zero_point=-128)
    b.op("RESHAPE", [d, shape], [r])
    fw = b.const("fc_w", rng.integers(-127, 128, (10, 36), dtype=np.int8), scale=0.01)
    y = b.tensor("logits", (1, 10), scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [r, fw, -1], [y], version=4)
    b.output(y)
    return b.build()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("inspect") / "tiny.tflite"
    p.write_bytes(conv_dw_fc_model())
    return p


def test_macs_and_weight_bytes_are_hand_computed(model_file):
    info = inspect_model(model_file, measure_tflm=False)
    macs = {o.op: o.macs for o in info.ops}
    assert macs["CONV_2D"] == 8 * 8 * 4 * (3 * 3 * 3)
    assert macs["DEPTHWISE_CONV_2D"] == 3 * 3 * 4 * (3 * 3)
    assert macs["FULLY_CONNECTED"] == 10 * 36
    assert macs["RESHAPE"] == 0
    assert info.macs == 6912 + 324 + 360
    weights = {o.op: o.weight_bytes for o in info.ops}
    assert weights["CONV_2D"] == 4 * 27 + 4 * 4  # int8 weights + int32 bias
    assert weights["DEPTHWISE_CONV_2D"] == 36 + 4 * 4
    assert weights["RESHAPE"] == 2 * 4  # the int32 shape tensor
    assert info.flash_bytes == model_file.stat().st_size
    assert info.op_counts == {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "RESHAPE": 1,
                              "FULLY_CONNECTED": 1}
    conv_out = info.ops[0].outputs[0]
    assert (conv_out.shape, conv_out.scale, conv_out.zero_point) == ([1, 8, 8, 4],
                                                                     pytest.approx(0.05), -128)


def test_arena_plan_covers_the_largest_live_set(model_file):
    info = inspect_model(model_file, measure_tflm=False)
    a = info.arena
    # the conv op reads x (192 B) and writes conv (256 B): the largest live set
    assert a.lower_bound_bytes == 192 + 256
    assert a.plan_bytes >= a.lower_bound_bytes
    assert info.ops[0].live_bytes == 192 + 256
    # the C target keeps x and logits in its arena; the conv (3 input channels: conv mode 3)
    # runs in place over x in one call (its output pixels are wider: from the last one back,
    # the input rows copied into its stack ring), no temporary: the conv + dw live set
    assert a.c_arena_bytes == a.c_lower_bound_bytes == 256 + 36
    assert a.c_scratch_bytes == 0 and a.c_inplace_ops >= 1
    assert a.c_io_bytes == 192 + 10
    # with the caller's I/O buffers (--external-io): conv + dw live together, dw not in place
    # (its temporary would outweigh its 36 bytes)
    assert a.c_external_io_arena_bytes == 256 + 36


def test_tflm_measured_arena_is_reported_next_to_the_plan(model_file):
    info = inspect_model(model_file)
    a = info.arena
    assert a.tflm_error is None
    assert a.tflm_head_bytes + a.tflm_tail_bytes == a.tflm_total_bytes
    # the head section is TFLite Micro's activation plan: ours matches it within 10%
    assert abs(a.plan_bytes - a.tflm_head_bytes) <= 0.1 * a.tflm_head_bytes, (a.plan_bytes, a)
    assert info.tflm_unsupported == []


def test_cli_text_and_json(model_file):
    r = CliRunner().invoke(main, ["inspect", str(model_file), "--no-tflm"])
    assert r.exit_code == 0, r.output
    assert "DEPTHWISE_CONV_2D" in r.output and "7,596" in r.output
    r = CliRunner().invoke(main, ["inspect", str(model_file), "--json", "--no-tflm"])
    data = json.loads(r.output)
    assert data["macs"] == 7596 and data["flash_bytes"] == model_file.stat().st_size
    assert {"plan_bytes", "lower_bound_bytes", "tflm_head_bytes"} <= set(data["arena"])
    assert [o["op"] for o in data["ops"]][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]


@pytest.mark.parametrize("content, fragment", [
    (b"", "too short"),
    (b"\x00" * 64, "not a .tflite flatbuffer"),
    (None, "corrupt or truncated"),  # a real model cut in half
])
def test_corrupt_files_are_one_line_errors(tmp_path, content, fragment):
    p = tmp_path / "bad.tflite"
    p.write_bytes(content if content is not None else conv_dw_fc_model()[:700])
    r = CliRunner().invoke(main, ["inspect", str(p)])
    assert r.exit_code == 2
    assert fragment in r.output and str(p) in r.output
    assert "Traceback" not in r.output


def test_missing_file(tmp_path):
    r = CliRunner().invoke(main, ["inspect", str(tmp_path / "nope.tflite")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_inspect_does_not_import_tensorflow(model_file):
    code = ("import sys; from mcuq.cli import main\n"
            "try:\n    main(['inspect', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
            "assert 'keras' not in sys.modules, 'keras imported'\n")
    r = subprocess.run([sys.executable, "-c", code, str(model_file)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "FULLY_CONNECTED" in r.stdout


@pytest.mark.parametrize("name", ["mlp", "cnn", "ds_cnn", "mobilenet_v1", "resnet8",
                                  "autoencoder", "two_in_two_out"])
def test_zoo_plans_against_tflite_micro(zoo, name):
    """Ours >= the largest live set and within 10% of TFLite Micro's head section (both are
    printed; on these models the greedy plan lands on TFLM's head to the byte)."""
    a = inspect_model(zoo[name]).arena
    print(f"{name}: largest live set {a.lower_bound_bytes}, plan {a.plan_bytes}, "
          f"TFLM head {a.tflm_head_bytes}, TFLM total {a.tflm_total_bytes}")
    assert a.plan_bytes >= a.lower_bound_bytes
    assert abs(a.plan_bytes - a.tflm_head_bytes) <= 0.1 * a.tflm_head_bytes
    assert a.c_arena_bytes <= a.plan_bytes  # the C target never needs more than the plan
