"""Look-up-table weights (issue 13): the C target's packed layout (mcuq.packing), `generate
--target c --pack` end to end, TFLite Micro's own compression (`generate --target tflm
--compress`, mcuq.tflm_compression) and `verify` of packed and compressed models.

The kernels themselves are proved exact on every op, index width and table form in
tests/firmware/test_c_paths.py (host ASan/UBSan and Cortex-M4)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.model import load_model
from mcuq.packing import (C_MAX_BITS, decode_lut, encode_lut, pack_model, plan_packing,
                          unpack_bits)
from mcuq.testing.builder import ModelBuilder


# -- the layout -----------------------------------------------------------------------------

def test_indices_are_least_significant_bit_first_per_segment():
    w = np.array([[1, 0, 1], [0, 1, 1]], np.int8)  # 2 rows (segments), values {0, 1}
    lay = encode_lut("FULLY_CONNECTED", w, 0, 1, per_channel=False)
    assert lay.tables.tolist() == [[0, 1]]
    assert lay.segment_bytes == 1  # 3 bits: the byte is part-filled
    assert lay.indices.tolist() == [0b101, 0b110]
    lay3 = encode_lut("FULLY_CONNECTED", np.array([[5, -3, 7]], np.int8), 0, 3, True)
    assert lay3.tables.tolist() == [[-3, 5, 7]]  # padded to stride 3 = the distinct count
    # indices 1, 0, 2 at 3 bits each: bits 0-2 = 1, 3-5 = 0, 6-8 = 2 -> bytes 0x81, 0x00
    assert lay3.indices.tolist() == [0x81, 0x00]


@pytest.mark.parametrize("bits", range(1, C_MAX_BITS + 1))
def test_round_trip_every_width_and_odd_sizes(bits):
    rng = np.random.default_rng(bits)
    cases = [("CONV_2D", (3, 3, 3, 5), 0), ("DEPTHWISE_CONV_2D", (1, 3, 5, 7), 3),
             ("FULLY_CONNECTED", (5, 13), 0), ("TRANSPOSE_CONV", (2, 1, 3, 3), 0),
             ("BATCH_MATMUL", (2, 7, 3), 2), ("BATCH_MATMUL", (2, 3, 7), 1)]
    for op, shape, axis in cases:
        for per_channel in (True, False):
            levels = rng.choice(np.arange(-128, 128), 1 << bits, replace=False)
            w = levels[rng.integers(0, 1 << bits, shape)].astype(np.int8)
            lay = encode_lut(op, w, axis, bits, per_channel)
            assert np.array_equal(decode_lut(lay, op, shape, axis), w), (op, bits, per_channel)
            assert lay.segment_bytes == -(-lay.segment_len * bits // 8)
            assert lay.indices.size == lay.segments * lay.segment_bytes
            idx = unpack_bits(lay.indices, bits, lay.segments, lay.segment_len)
            assert idx.max() < lay.stride <= 1 << bits


def _two_layer_model(w1: np.ndarray, w2: np.ndarray) -> bytes:
    b = ModelBuilder()
    x = b.input("x", (1, w1.shape[1]), scale=0.05, zero_point=-3)
    h = b.tensor("h", (1, w1.shape[0]), scale=0.1, zero_point=2)
    y = b.tensor("y", (1, w2.shape[0]), scale=0.2, zero_point=0)
    for src, w, dst, nm in ((x, w1, h, "w1"), (h, w2, y, "w2")):
        wt = b.const(nm, w, scale=np.full(w.shape[0], 0.01, np.float32), zero_point=0, axis=0)
        b.op("FULLY_CONNECTED", [src, wt, -1], [dst], version=4)
    b.output(y)
    return b.build()


def test_plan_packing_auto_forced_and_table_forms():
    rng = np.random.default_rng(0)
    four = np.array([-100, -7, 3, 90])
    w1 = four[rng.integers(0, 4, (64, 96))].astype(np.int8)  # 2 bits, one table fits all
    w2 = rng.integers(-127, 128, (10, 64)).astype(np.int8)  # ~all distinct: stays plain
    model = _two_layer_model(w1, w2)
    m = load_model(model)
    auto = plan_packing(m, "auto")
    assert set(auto) == {m.operators[0].inputs[1]}
    lay = auto[m.operators[0].inputs[1]]
    assert (lay.bits, lay.per_channel, lay.nbytes) == (2, False, 64 * 24 + 4)
    forced = plan_packing(m, 6, tables="channel")[m.operators[0].inputs[1]]
    assert (forced.bits, forced.per_channel, forced.channels) == (6, True, 64)
    assert plan_packing(m, "off") == {}
    # inspect's view agrees: the smaller form, the C layout and TFLite Micro's
    pk = {t.tensor: t for t in pack_model(m).tensors}
    t1, t2 = pk[m.operators[0].inputs[1]], pk[m.operators[1].inputs[1]]
    assert (t1.min_bits, t1.tables, t1.c_bytes, t1.c_bits) == (2, "tensor", lay.nbytes, 2)
    assert t2.c_bytes is None and t2.tflm_bytes is None and t2.tables == "raw"


@pytest.mark.parametrize("argv,message", [
    (["--target", "c", "--pack", "7"], "--pack 7: expected auto, off or index bits 1..6"),
    (["--target", "tflm", "--pack", "auto"], "--pack auto is for --target c"),
    (["--target", "c", "--compress"], "--compress is for --target tflm"),
])
def test_bad_pack_options_are_one_error_and_write_nothing(tmp_path, argv, message):
    path = tmp_path / "m.tflite"
    path.write_bytes(_two_layer_model(np.ones((4, 8), np.int8), np.ones((2, 4), np.int8)))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(out), *argv])
    assert r.exit_code == 2, r.output
    assert message in r.output and "hint:" in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_compress_with_nothing_to_compress_is_refused(tmp_path, zoo):
    path = tmp_path / "mlp.tflite"
    path.write_bytes(zoo["mlp"])  # random weights: ~60 distinct values per channel
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "p"),
                                  "--target", "tflm", "--compress"])
    assert r.exit_code == 3, r.output
    assert "no weight tensor makes the model smaller" in r.output
    assert "mcuq compress --cluster" in r.output
    assert not (tmp_path / "p").exists()


# -- a clustered model end to end -------------------------------------------------------------

def res_flash(result) -> int:
    return json.loads(result.output)["flash_bytes"]


@pytest.fixture(scope="module")
def clustered_cnn(tmp_path_factory):
    """The zoo CNN with its float kernels clustered to 16 values per channel, converted."""
    from mcuq.testing.clustered import clustered_zoo

    path = tmp_path_factory.mktemp("clustered") / "cnn16.tflite"
    path.write_bytes(clustered_zoo("cnn", 16))
    return path


def test_inspect_shows_distinct_values_k_and_packed_bytes(clustered_cnn):
    r = CliRunner().invoke(main, ["inspect", str(clustered_cnn), "--no-tflm"])
    assert r.exit_code == 0, r.output
    assert "weights as look-up tables" in r.output
    rows = [ln for ln in r.output.splitlines() if "FULLY_CONNECTED  32x144" in ln]
    assert rows and " 4 " in rows[0] and "(4-bit)" in rows[0]
    j = CliRunner().invoke(main, ["inspect", str(clustered_cnn), "--no-tflm", "--json"])
    pk = json.loads(j.output)["packing"]
    fc = next(t for t in pk["tensors"] if t["shape"] == [32, 144])
    assert fc["distinct_max"] <= 16 and fc["min_bits"] == 4
    assert fc["c_bytes"] == 32 * 144 // 2 + 32 * fc["distinct_max"]
    assert pk["c_weight_bytes"] < pk["weight_bytes"]


def test_packed_c_project_self_tests_and_is_smaller(clustered_cnn, tmp_path, cortex_m4):
    """generate --target c --pack auto: the project's own self-test on the host, under the
    sanitizers and on the emulated Cortex-M4; the report's flash plain vs packed; the RAM
    target (packed <= plain + the decode scratch)."""
    out = tmp_path / "c"
    r = CliRunner().invoke(main, ["generate", str(clustered_cnn), "-o", str(out), "--target",
                                  "c", "--pack", "auto", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)["details"]
    pk = d["packing"]
    assert {t["bits"] for t in pk["tensors"]} == {4} and len(pk["tensors"]) == 2
    assert pk["packed_bytes"] < pk["plain_bytes"]
    # the largest single segment: a 144-long row of the first FULLY_CONNECTED (the second
    # conv's filters are 3 * 3 * 8 = 72)
    assert pk["scratch_bytes"] == 144
    m4, plain = d["cortex_m4"], d["cortex_m4_plain"]
    # the weights' share of flash shrinks by what packing saves (the lut structs and the
    # packed kernels' code come on top: benchmarks/packed.py weighs both on bigger models)
    plain_gen = json.loads(CliRunner().invoke(main, [
        "generate", str(clustered_cnn), "-o", str(tmp_path / "plain"), "--target", "c",
        "--json"]).output)
    saved = pk["plain_bytes"] - pk["packed_bytes"]
    assert plain_gen["flash_bytes"] - res_flash(r) >= saved - 64
    assert m4["ram_bytes"] <= plain["ram_bytes"] + pk["scratch_bytes"]
    assert m4["flash_bytes"] != plain["flash_bytes"]
    assert "[packed/conv" in (out / "model.c").read_text()
    for goal in ("run-host", "sanitize", "run-qemu"):
        proc = subprocess.run(["make", "-C", str(out), goal], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    san = subprocess.run([str(out / "build/sanitize/cnn16")], capture_output=True, text=True)
    assert san.returncode == 0 and "PASS" in san.stdout, san.stdout + san.stderr


def test_verify_packed_and_compressed_runners_are_exact(clustered_cnn, cortex_m4):
    r = CliRunner().invoke(main, ["verify", str(clustered_cnn), "--pack", "auto", "--compress",
                                  "--runners", "reference,tflm,tflite,host-sanitize,cortex-m4",
                                  "--samples", "12", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    status = {x["runner"]: x["status"] for x in rep["runners"]}
    assert status == {"tflm": "exact", "tflite": "exact", "host-sanitize": "exact",
                      "cortex-m4": "exact"}
    assert "compressed" in next(x["note"] for x in rep["runners"] if x["runner"] == "tflm")


def test_a_compressed_tflite_is_verified_as_the_plain_model_it_stands_for(clustered_cnn,
                                                                        tmp_path):
    from mcuq.tflm_compression import compress_for_tflm, decompress_tflm, is_tflm_compressed

    plain = load_model(clustered_cnn)
    c = compress_for_tflm(plain)
    assert c.size < plain.size and c.tensors
    assert is_tflm_compressed(c.data) and not is_tflm_compressed(plain)
    back = decompress_tflm(c.data)  # the same graph, tensor for tensor
    assert [(o.opcode, o.inputs, o.outputs) for o in back.operators] == \
        [(o.opcode, o.inputs, o.outputs) for o in plain.operators]
    for a, b in zip(plain.tensors, back.tensors):
        assert (a.name, a.shape, a.type_name) == (b.name, b.shape, b.type_name)
        assert (a.data is None and b.data is None) or np.array_equal(a.data, b.data)
    path = tmp_path / "cnn16.compressed.tflite"
    path.write_bytes(c.data)
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "reference,tflm,tflite,host",
                                  "--samples", "8"])
    # LiteRT has no TFLM_DECODE op: it refuses the bytes (exit 5, INCOMPLETE), every other
    # runner is compared with the plain model's reference
    assert r.exit_code == 5, r.output
    lines = {ln.split()[0]: ln for ln in r.output.splitlines() if ln[:1].isalpha()}
    assert lines["tflm"].rstrip().endswith("exact") and lines["host"].rstrip().endswith("exact")
    assert lines["tflite"].rstrip().endswith("REFUSED")
    assert "LiteRT refused the model" in r.output and "INCOMPLETE: tflite refused" in r.output
    assert "compressed model (TFLM_DECODE)" in r.output


def test_tflm_decodes_a_per_tensor_table_of_a_per_channel_tensor_wrongly(zoo):
    """Measured fact behind mcuq.tflm_compression's table rule: tflite-micro's compressor
    accepts one table for a per-channel quantized tensor, and its DECODE (channels from the
    quantization, not the table header) reads past that table for every channel after the
    first. verify catches it: the tflm runner differs from the reference."""
    from mcuq.reference import Interpreter
    from mcuq.runners.tflm import TflmRunner
    from mcuq.testing.clustered import clustered
    from mcuq.tflm_compression import TflmTensor, compress_for_tflm, plan_tflm
    from mcuq.vectors import random_inputs

    m = load_model(clustered(zoo["cnn"], 4, per_channel=False))  # <= 4 values per tensor
    t = max(plan_tflm(m), key=lambda t: t.raw_bytes)  # the 32x144 FC weights, per channel
    assert t.per_channel
    bits = int(np.ceil(np.log2(np.unique(m.tensors[t.tensor].data).size)))
    one_table = TflmTensor(t.tensor, t.name, t.op, t.shape, bits, False, None, t.raw_bytes, 0)
    x = random_inputs(m, 4, seed=3)
    ref = Interpreter(m).run(x).outputs[0]
    right = TflmRunner(m, compress=True).run(x).outputs[0]
    wrong = TflmRunner(m, data=compress_for_tflm(m, [one_table]).data).run(x).outputs[0]
    assert np.array_equal(right, ref)
    assert not np.array_equal(wrong, ref)


def test_compressed_tflm_project_builds_against_the_prebuilt_tflm(clustered_cnn, tmp_path):
    """generate --target tflm --compress: the arena is the compressed model's, the resolver
    registers DECODE, and the project passes its self-test on the host and on Cortex-M4 with
    CMSIS-NN, linked against ../shared's prebuilt TFLite Micro (which has Register_DECODE)."""
    import shutil

    from mcuq.toolchain import APT_LINE
    from mcuq.testing import tflm_prebuilt
    from mcuq.testing.tflm_build import cached_project, self_tests

    out = tmp_path / "tflm"
    r = CliRunner().invoke(main, ["generate", str(clustered_cnn), "-o", str(out), "--target",
                                  "tflm", "--compress", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    comp = res["details"]["compression"]
    assert res["flash_bytes"] == comp["size"] < comp["plain_bytes"]
    assert comp["decoded_ram_bytes"] > 0 and comp["arena_total"] == res["details"][
        "tflm_arena_total"]
    main_cc = (out / "main.cc").read_text()
    assert "resolver.AddDecode()" in main_cc and "CUSTOM:TFLM_DECODE" in main_cc
    tflm = tflm_prebuilt.locate()
    if tflm is None:
        pytest.skip(tflm_prebuilt.missing_reason())
    missing = [t for t in ("g++", "arm-none-eabi-g++", "qemu-system-arm") if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing; install with: {APT_LINE}")
    project = cached_project(clustered_cnn.read_bytes(), "cnn16", tflm, vectors=3,
                             compress=True)
    results = self_tests([(project, "host"), (project, "cortex-m4")], tflm)
    failed = [x.describe() for x in results if not x.passed]
    assert not failed, "\n\n".join(failed)
    assert all(x.arena_used and x.arena_used <= x.arena_size for x in results)


def test_a_pack_width_nothing_fits_is_reported_not_silent(clustered_cnn, tmp_path):
    """--pack 1 on weights of 16 values per channel: every tensor stays plain and the report
    says why."""
    r = CliRunner().invoke(main, ["generate", str(clustered_cnn), "-o", str(tmp_path / "c"),
                                  "--target", "c", "--pack", "1"])
    assert r.exit_code == 0, r.output
    assert "--pack 1: no weight tensor has at most 2 distinct values" in r.output
    assert "mcuq_lut" not in (tmp_path / "c" / "model.c").read_text()


# -- with issue 15's arena plan (ops in place, --tile) --------------------------------------

def test_a_packed_op_is_never_planned_in_place(host_cc):
    """wide_depthwise runs in place by channels when plain; with its weights packed (3 values
    per channel, 2-bit indices) the packed kernel has no in-place variant, so the planner is
    told and the op gets its own output: exact on the host under ASan/UBSan (with each kernel
    fenced to its own arena regions)."""
    from mcuq.codegen.cmodel import build_cmodel
    from mcuq.reference import Interpreter
    from mcuq.testing.cbatch import Case, run_batch
    from mcuq.testing.clustered import clustered
    from mcuq.vectors import random_inputs
    from tests.test_arena_plan import wide_depthwise

    data = clustered(wide_depthwise(), 3)
    m = load_model(data)
    packing = plan_packing(m, 2)
    assert set(packing) == {m.operators[0].inputs[1]}
    cm = build_cmodel(m, "m", Interpreter(m), packing=packing)
    assert cm.plan.inplace == {} and cm.arena_size >= 2 * m.tensors[m.inputs[0]].nbytes
    assert any(p.startswith("packed/") for c in cm.calls for p in c.paths)
    plain, packed = (Case(data, random_inputs(m, 3, seed=1)),
                     Case(data, random_inputs(m, 3, seed=1), pack=2))
    assert run_batch([plain, packed], "host") == []
    assert plain.inplace == {0: "channels"} and packed.inplace == {}
    assert any(p.startswith("packed/") for p in packed.paths)


def test_tile_with_pack_is_refused(clustered_cnn, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["generate", str(clustered_cnn), "-o", str(out), "--target", "c",
                                  "--tile", "auto", "--pack", "auto"])
    assert r.exit_code == 2, r.output
    assert "--tile auto cannot be combined with --pack auto" in r.output
    assert "hint:" in r.output and "Traceback" not in r.output
    assert not out.exists()
    from mcuq.errors import InputError
    from mcuq.runners.firmware import FirmwareRunner

    with pytest.raises(InputError, match="--tile"):
        FirmwareRunner(clustered_cnn, "host", tile="auto", pack=4)
