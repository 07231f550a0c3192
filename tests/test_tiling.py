"""Patch-based execution of the first layers (mcuq.tiling): the tiled graph replayed on the
reference kernels is exact, halos cost the MACs they should, bad options are clear errors.
(The generated C of tiled models: tests/firmware/test_c_inplace.py.)"""
import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.errors import InputError, UnsupportedModelError
from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.testing.builder import ModelBuilder
from mcuq.tiling import (CROP, PASTE, TileSpec, parse_tile, run_tiled, stage_candidates,
                         stage_problem, tile_model)

#: (zoo model, tile): plain chains, a residual block inside the stage (resnet8: a tensor read by
#: a convolution with a halo and by the ADD without one), strips and squares, odd cells.
ZOO_TILES = [("cnn", "2:2x2"), ("cnn", "4:3x3"), ("ds_cnn", "2:3x1"), ("ds_cnn", "5:4x2"),
             ("mobilenet_v1", "4:3x3"), ("mobilenet_v1", "8:2x2"), ("resnet8", "8:2x2"),
             ("resnet8", "8:3x1"), ("two_in_two_out", "2:3x3")]


def _inputs(model, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *t.shape), dtype=np.int8) for t in model.input_tensors()]


@pytest.mark.parametrize("name,tile", ZOO_TILES)
def test_tiled_graph_is_exact_on_the_reference(zoo, name, tile):
    m = load_model(zoo[name])
    xs = _inputs(m)
    tiled = tile_model(m, tile)
    want = Interpreter(m).run(xs).outputs
    got = run_tiled(tiled, xs)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    ops = [op.opcode for op in tiled.model.operators]
    assert ops.count(PASTE) == tiled.patches * len(tiled.stage_outputs)
    assert CROP in ops
    f = tiled.figures()
    assert f["extra_macs"] == tiled.macs - tiled.untiled_macs >= 0


def test_tiled_graphs_pass_the_model_validator(zoo):
    """tile_model vets its graph with mcuq.validate (order with several pastes into one tensor,
    arity, quantization, shapes); only the patch ops' shapes need their local params: inferred
    from their options (SAME padding over a whole tensor) the validator refuses them."""
    from mcuq.validate import check_model

    tiled = tile_model(load_model(zoo["cnn"]), "4:3x3")
    stage = len(tiled.model.operators) - (len(tiled.source.operators) - 4)
    check_model(tiled.model, local_ops=frozenset(range(stage)))
    with pytest.raises(InputError, match="its inputs give"):
        check_model(tiled.model)


def test_halo_recomputation_is_counted():
    """A 3x3 SAME conv then a 2x2 pool over 8x8: a 2x2 grid of the pooled 4x4 output needs 4x4
    conv outputs per patch (no halo: the pool's windows are disjoint); a 3x3 conv after the pool
    adds a one-pixel halo: each patch then pools 3x3 and so convolves 6x6 of the 8x8."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", (1, 8, 8, 2), scale=0.05, zero_point=0)
    w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 2), dtype=np.int8),
                scale=np.full(4, 0.01, np.float32), axis=0)
    c = b.tensor("c", (1, 8, 8, 4), scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w], [c], version=3, padding="SAME", stride_h=1, stride_w=1)
    p = b.tensor("p", (1, 4, 4, 4), scale=0.1, zero_point=0)
    b.op("MAX_POOL_2D", [c], [p], padding="VALID", stride_h=2, stride_w=2, filter_height=2,
         filter_width=2)
    w2 = b.const("w2", rng.integers(-127, 128, (4, 3, 3, 4), dtype=np.int8),
                 scale=np.full(4, 0.01, np.float32), axis=0)
    y = b.tensor("y", (1, 4, 4, 4), scale=0.1, zero_point=0)
    b.op("CONV_2D", [p, w2], [y], version=3, padding="SAME", stride_h=1, stride_w=1)
    b.output(y)
    m = load_model(b.build())
    two = tile_model(m, "2:2x2")
    assert two.extra_macs == 0  # disjoint pooling windows: nothing recomputed
    three = tile_model(m, "3:2x2")
    # the last conv computes exactly its cells; the first 4 x 36 pixels instead of 64
    assert three.extra_macs == (4 * 36 - 64) * (3 * 3 * 2 * 4)
    xs = _inputs(m)
    assert np.array_equal(run_tiled(three, xs)[0], Interpreter(m).run(xs).outputs[0])


def test_auto_picks_a_smaller_arena_within_the_mac_budget(zoo):
    m = load_model(zoo["two_in_two_out"])
    t = tile_model(m, "auto")
    f = t.figures()
    assert f["arena_bytes"] < f["untiled_arena_bytes"]
    assert f["extra_macs_fraction"] <= 0.15
    with pytest.raises(UnsupportedModelError, match="no tiling of its first layers"):
        tile_model(load_model(zoo["ds_cnn"]), "auto")  # its in-place plan is already smaller


def test_stage_problems_are_named(zoo):
    m = load_model(zoo["cnn"])
    assert stage_candidates(m) == [2, 3, 4]
    assert "FULLY_CONNECTED" in stage_problem(m, 6) or "RESHAPE" in stage_problem(m, 6)
    with pytest.raises(UnsupportedModelError, match="cannot tile the first 6 ops"):
        tile_model(m, "6:2x2")
    with pytest.raises(InputError, match="fewer than 9 x 9 cells"):
        tile_model(m, "2:9x9")
    assert parse_tile(" 3:2X4 ") == TileSpec(3, 2, 4) and parse_tile("auto") == "auto"
    for bad in ("3", "0:2x2", "2:2", "two"):
        with pytest.raises(InputError, match="N:RxC"):
            parse_tile(bad)


def test_tile_and_external_io_are_c_target_options(zoo, tmp_path):
    model = tmp_path / "cnn.tflite"
    model.write_bytes(zoo["cnn"])
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "t"),
                                  "--tile", "2:2x2"])
    assert r.exit_code == 2 and "--tile is an option of the standalone C target" in r.output
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "c"),
                                  "--target", "c", "--tile", "2:x2"])
    assert r.exit_code == 2 and "N:RxC" in r.output
    assert not (tmp_path / "c").exists()
