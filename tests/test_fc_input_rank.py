"""Tensors with trailing 1-dimensions: TFLite Micro's RuntimeShape holds 6 dimensions and copies a
larger rank past its end; a FULLY_CONNECTED input of rank 8, and (a later fuzz run) a bias of rank
8, gave wrong outputs (benchmarks/fuzz.py --adversary, explode_rank). mcuq refuses any op tensor of
rank > 6 (exit 3) instead of reporting a mismatch; rank 6 runs exact."""
import flatbuffers
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.testing.mutate import schema


def _with_input_rank(data: bytes, rank: int, which: int = 0) -> bytes:
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    g = m.subgraphs[0]
    t = g.tensors[g.operators[0].inputs[which]]
    extra = rank - len(t.shape)
    t.shape = list(t.shape) + [1] * extra
    if t.shapeSignature is not None:
        t.shapeSignature = list(t.shapeSignature) + [1] * extra
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


@pytest.mark.parametrize("rank, which, code", [(6, 0, 0), (7, 0, 3), (8, 0, 3), (6, 2, 0),
                                               (8, 2, 3)])
def test_op_tensor_rank(zoo, tmp_path, rank, which, code):
    """which: the FULLY_CONNECTED's input (0) or bias (2)."""
    path = tmp_path / f"rank{rank}.tflite"
    path.write_bytes(_with_input_rank(zoo["autoencoder"], rank, which))
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "reference,tflm",
                                  "--samples", "8"])
    assert r.exit_code == code, r.output
    if code:
        assert f"rank {rank}" in r.output and "RuntimeShape" in r.output
        assert "Traceback" not in r.output
    else:
        assert "PASS" in r.output
