"""A FULLY_CONNECTED input with trailing 1-dimensions: TFLite Micro agrees with the reference up to
rank 7 and computes wrong outputs at rank 8 (found by benchmarks/fuzz.py --adversary,
explode_rank), so mcuq refuses rank 8 (exit 3) instead of reporting a mismatch."""
import flatbuffers
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.testing.mutate import schema


def _with_input_rank(data: bytes, rank: int) -> bytes:
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    g = m.subgraphs[0]
    t = g.tensors[g.operators[0].inputs[0]]
    extra = rank - len(t.shape)
    t.shape = list(t.shape) + [1] * extra
    if t.shapeSignature is not None:
        t.shapeSignature = list(t.shapeSignature) + [1] * extra
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


@pytest.mark.parametrize("rank, code", [(7, 0), (8, 3)])
def test_fully_connected_input_rank(zoo, tmp_path, rank, code):
    path = tmp_path / f"rank{rank}.tflite"
    path.write_bytes(_with_input_rank(zoo["autoencoder"], rank))
    r = CliRunner().invoke(main, ["verify", str(path), "--runners", "reference,tflm",
                                  "--samples", "8"])
    assert r.exit_code == code, r.output
    if code:
        assert "rank 8" in r.output and "Traceback" not in r.output
    else:
        assert "PASS" in r.output
