"""A model whose output is a constant or a variable tensor: the C target refuses it (exit 3,
nothing written) instead of generating a project that does not compile (found by
benchmarks/fuzz.py, mutators io/const_io/variable, after the arena took the I/O)."""
import flatbuffers
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.testing.mutate import schema


def _edit(data: bytes, kind: str) -> bytes:
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    g = m.subgraphs[0]
    if kind == "constant":  # a weight tensor listed as the output
        g.outputs = [g.operators[0].inputs[1]]
    elif kind == "variable input":
        g.tensors[g.inputs[0]].isVariable = True
    else:
        g.tensors[g.outputs[0]].isVariable = True
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


@pytest.mark.parametrize("kind, code, says", [
    ("constant", 3, "is a constant tensor"),
    # an op's output marked variable is refused by the validator before any target: TFLite Micro
    # computed such a ds_cnn differently from the reference (benchmarks/fuzz.py --adversary)
    ("variable", 2, "is marked variable but is the output of op"),
    ("variable input", 2, "is a model input but is marked variable"),
])
def test_c_target_refuses_a_constant_or_variable_output(zoo, tmp_path, kind, code, says):
    path = tmp_path / "m.tflite"
    path.write_bytes(_edit(zoo["mlp"], kind))
    out = tmp_path / "proj"
    r = CliRunner().invoke(main, ["generate", str(path), "--target", "c", "-o", str(out)])
    assert r.exit_code == code, r.output
    assert says in r.output and "Traceback" not in r.output
    assert not out.exists()
