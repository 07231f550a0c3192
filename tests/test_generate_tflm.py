"""`mcuq generate --target tflm`: the rendered project, compiled with gcc and arm-none-eabi-gcc
where it does not need TFLite Micro's sources, and checked against the real tflite-micro
interpreter (test vectors) and its measured arena."""
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.metrics import dequantize, quantize
from mcuq.model import load_model, schema
from mcuq.runners import make_runner
from mcuq.toolchain import APT_LINE
from mcuq.testing.builder import ModelBuilder
from mcuq.testing.zoo import ZOO_NAMES
from mcuq.tflm_arena import measure_tflm_arena
from tests.tools import missing_tool

CXXFLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror"]
ARM = ["-mcpu=cortex-m4", "-mthumb"]
# Written here from TFLite Micro's micro_mutable_op_resolver.h, independently of tflm_ops.
EXPECTED_METHODS = {"FULLY_CONNECTED": "AddFullyConnected", "SOFTMAX": "AddSoftmax",
                    "CONV_2D": "AddConv2D", "RESHAPE": "AddReshape",
                    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
                    "AVERAGE_POOL_2D": "AddAveragePool2D", "MAX_POOL_2D": "AddMaxPool2D",
                    "ADD": "AddAdd", "MUL": "AddMul", "MEAN": "AddMean", "PAD": "AddPad",
                    "QUANTIZE": "AddQuantize", "DEQUANTIZE": "AddDequantize",
                    "LOGISTIC": "AddLogistic", "TANH": "AddTanh", "RELU": "AddRelu",
                    "RELU6": "AddRelu6", "CONCATENATION": "AddConcatenation",
                    "HARD_SWISH": "AddHardSwish", "LEAKY_RELU": "AddLeakyRelu",
                    "SQUEEZE": "AddSqueeze", "EXPAND_DIMS": "AddExpandDims",
                    "STRIDED_SLICE": "AddStridedSlice", "TRANSPOSE": "AddTranspose",
                    "MAXIMUM": "AddMaximum", "MINIMUM": "AddMinimum", "SUB": "AddSub",
                    "PADV2": "AddPadV2"}


# ---- models ------------------------------------------------------------------------------

def fc_model() -> bytes:
    """One FULLY_CONNECTED; input scale 1/8 so that x / scale hits exact .5 ties."""
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    x = b.input("x", (1, 16), scale=0.125, zero_point=-3)
    w = b.const("w", rng.integers(-127, 128, (8, 16), dtype=np.int8), scale=0.02)
    bias = b.const("b", rng.integers(-300, 300, (8,), dtype=np.int32), scale=0.125 * 0.02)
    y = b.tensor("y", (1, 8), scale=0.3, zero_point=7)
    b.op("FULLY_CONNECTED", [x, w, bias], [y])
    b.output(y)
    return b.build()


def mlp_softmax_model() -> bytes:
    rng = np.random.default_rng(2)
    b = ModelBuilder()
    x = b.input("x", (1, 32), scale=0.07, zero_point=4)
    w1 = b.const("w1", rng.integers(-127, 128, (16, 32), dtype=np.int8), scale=0.01)
    b1 = b.const("b1", rng.integers(-300, 300, (16,), dtype=np.int32), scale=0.07 * 0.01)
    h = b.tensor("h", (1, 16), scale=0.05, zero_point=-128)
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], fused_activation_function="RELU")
    w2 = b.const("w2", rng.integers(-127, 128, (10, 16), dtype=np.int8), scale=0.02)
    b2 = b.const("b2", rng.integers(-300, 300, (10,), dtype=np.int32), scale=0.05 * 0.02)
    z = b.tensor("z", (1, 10), scale=0.15, zero_point=2)
    b.op("FULLY_CONNECTED", [h, w2, b2], [z])
    y = b.tensor("y", (1, 10), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [z], [y], beta=1.0)
    b.output(y)
    return b.build()


def conv_model() -> bytes:
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.input("img", (1, 6, 6, 2), scale=0.04, zero_point=-10)
    ws = np.array([0.01, 0.02, 0.015, 0.03], np.float32)
    w = b.const("w", rng.integers(-127, 128, (4, 3, 3, 2), dtype=np.int8), scale=ws, axis=0)
    bias = b.const("b", rng.integers(-200, 200, (4,), dtype=np.int32),
                   scale=(np.float32(0.04) * ws))
    c = b.tensor("c", (1, 6, 6, 4), scale=0.06, zero_point=-20)
    b.op("CONV_2D", [x, w, bias], [c], padding="SAME", stride_w=1, stride_h=1,
         fused_activation_function="RELU6")
    shape = b.const("shape", np.array([1, 144], np.int32))
    r = b.tensor("r", (1, 144), scale=0.06, zero_point=-20)
    b.op("RESHAPE", [c, shape], [r], new_shape=[1, 144])
    w2 = b.const("w2", rng.integers(-127, 128, (5, 144), dtype=np.int8), scale=0.01)
    b2 = b.const("b2", rng.integers(-200, 200, (5,), dtype=np.int32), scale=0.06 * 0.01)
    y = b.tensor("y", (1, 5), scale=0.25, zero_point=0)
    b.op("FULLY_CONNECTED", [r, w2, b2], [y])
    b.output(y)
    return b.build()


def zoo(name: str):
    """A model of the shared zoo (converted once with TensorFlow, cached on disk)."""
    def build() -> bytes:
        from mcuq.testing.zoo import zoo_models
        return zoo_models()[name]
    return build


MODELS = {"fc": fc_model, "mlp_softmax": mlp_softmax_model, "conv": conv_model,
          **{f"zoo_{n}": zoo(n) for n in ZOO_NAMES}}


def with_opcode(data: bytes, builtin: str, custom: str | None = None) -> bytes:
    """A copy of `data` whose first operator code becomes `builtin` (and `custom` name)."""
    import flatbuffers

    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(data, 0))
    code = m.operatorCodes[0]
    code.builtinCode = getattr(s.BuiltinOperator, builtin)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.customCode = custom
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


class Projects(dict):
    """model key -> (model path, project dir, result), generated on first use."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, key):
        from mcuq.codegen import generate_project

        data = MODELS[key]()  # every model here must run: a reference error fails the test
        path = self.root / f"{key}.tflite"
        path.write_bytes(data)
        res = generate_project(path, self.root / key, target="tflm", vectors=3)
        self[key] = (path, self.root / key, res)
        return self[key]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    return Projects(tmp_path_factory.mktemp("tflm"))


@pytest.fixture(params=list(MODELS))
def project(request, projects):
    return projects[request.param]


def need(tool: str, hint: str):
    if shutil.which(tool) is None:
        missing_tool(f"{tool} not found; {hint}")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}"
    return r


def c_array(text: str, name: str) -> list[float]:
    m = re.search(rf"\b{name}\[(\d+)\] = \{{(.*?)\}};", text, re.S)
    assert m, f"{name} not found"
    values = [v for v in m.group(2).replace("\n", " ").split(",") if v.strip()]
    assert len(values) == int(m.group(1))
    return [int(v) for v in values]


# ---- the model array -----------------------------------------------------------------------

def test_model_array_round_trips_byte_exact(project, tmp_path):
    need("g++", "apt-get install g++")
    path, out, res = project
    name = res.name
    (tmp_path / "dump.cc").write_text(f"""
#include <cstdio>
#include "model_data.h"
int main(int argc, char** argv) {{
  if (argc < 2) return 2;
  FILE* f = std::fopen(argv[1], "wb");
  if (!f) return 2;
  std::fwrite(g_{name}_model_data, 1, g_{name}_model_data_len, f);
  std::fclose(f);
  return (reinterpret_cast<unsigned long>(g_{name}_model_data) % 16) != 0;
}}
""")
    exe = tmp_path / "dump"
    run(["g++", *CXXFLAGS, f"-I{out}", str(out / "model_data.cc"), str(tmp_path / "dump.cc"),
         "-o", str(exe)])
    run([str(exe), str(tmp_path / "back.tflite")])  # exit 1 would mean: not 16-byte aligned
    assert (tmp_path / "back.tflite").read_bytes() == path.read_bytes()
    text = (out / "model_data.cc").read_text()
    assert f"alignas(16) const unsigned char g_{name}_model_data[]" in text
    assert f"const unsigned int g_{name}_model_data_len = {path.stat().st_size};" in text


def test_sources_compile_for_host_and_cortex_m4(project, tmp_path):
    need("g++", "apt-get install g++")
    _, out, _ = project
    user = tmp_path / "user.cc"
    user.write_text('#include "model_settings.h"\n#include "test_vectors.h"\n'
                    '#include "model_data.h"\nint main() { return 0; }\n')
    # model_data.cc itself is compiled with g++ by the round-trip test.
    cmds = [["g++", *CXXFLAGS, f"-I{out}", "-c", str(user), "-o", str(tmp_path / "h.o")]]
    arm = shutil.which("arm-none-eabi-g++") is not None
    if arm:
        cmds += [["arm-none-eabi-g++", *ARM, *CXXFLAGS, f"-I{out}", "-c", str(src),
                  "-o", str(tmp_path / f"a{k}.o")]
                 for k, src in enumerate((out / "model_data.cc", user))]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for c in cmds]
    for c, p in zip(cmds, procs):
        log = p.communicate(timeout=300)[0]
        assert p.returncode == 0, f"{' '.join(c)}\n{log}"
    if not arm:
        missing_tool(f"arm-none-eabi-g++ missing; install with: {APT_LINE}")


# ---- main.cc: resolver and arena -------------------------------------------------------------

def test_resolver_has_exactly_the_models_ops(project):
    path, out, _ = project
    text = (out / "main.cc").read_text()
    calls = re.findall(r"resolver\.(Add\w+)\(\)", text)
    ops = {op.opcode for op in load_model(path).operators}
    assert sorted(calls) == sorted(EXPECTED_METHODS[op] for op in ops)
    assert len(calls) == len(set(calls))
    n = int(re.search(r"constexpr unsigned int kNumOpTypes = (\d+);", text).group(1))
    assert n == len(ops)
    assert "MicroMutableOpResolver<kNumOpTypes>" in text


def test_generate_reports_tflm_own_measurement(projects):
    path, _, res = projects["fc"]
    a = measure_tflm_arena(path)
    d = res.details
    assert (d["tflm_arena_total"], d["tflm_arena_head"], d["tflm_arena_tail"],
            d["tflm_arena_required"]) == (a.total_bytes, a.head_bytes, a.tail_bytes,
                                          a.required_bytes)


def test_arena_is_tflm_measurement_plus_margin(project):
    path, out, res = project
    d = res.details
    measured = max(d["tflm_arena_total"], d["tflm_arena_required"])
    assert d["tflm_arena_head"] + d["tflm_arena_tail"] == d["tflm_arena_total"]
    expected = measured + max(1024, math.ceil(0.1 * measured))
    expected = (expected + 15) // 16 * 16
    text = (out / "main.cc").read_text()
    size = int(re.search(r"constexpr size_t kTensorArenaSize = (\d+);", text).group(1))
    assert size == expected == res.arena_bytes
    assert "alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];" in text
    assert re.search(r"model->version\(\) != TFLITE_SCHEMA_VERSION", text)
    assert "AllocateTensors() != kTfLiteOk" in text
    readme = (out / "README.md").read_text()
    assert f"{size} bytes" in readme and f"{path.stat().st_size} bytes" in readme


def test_main_cc_uses_tflm_api_as_declared(project, tmp_path):
    """main.cc against stand-in declarations of the TFLite Micro API it uses, written from
    its public headers (micro_interpreter.h, micro_mutable_op_resolver.h, micro_log.h,
    system_setup.h, schema_generated.h): catches template slips without TFLM's sources.
    Nothing is linked or run; the numbers are checked against the real TFLM elsewhere."""
    need("g++", "apt-get install g++")
    _, out, _ = project
    stub = tmp_path / "tensorflow" / "lite"
    (stub / "micro").mkdir(parents=True)
    (stub / "schema").mkdir()
    (stub / "micro" / "micro_interpreter.h").write_text("""
#pragma once
#include <cstddef>
#include <cstdint>
#include "tensorflow/lite/schema/schema_generated.h"
#define TFLITE_SCHEMA_VERSION (3)
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
union TfLitePtrUnion { int8_t* int8; void* data; };
struct TfLiteTensor { TfLitePtrUnion data; size_t bytes; };
namespace tflite {
class MicroOpResolver {};
class MicroResourceVariables;
class MicroProfilerInterface;
class MicroInterpreter {
 public:
  MicroInterpreter(const Model* model, const MicroOpResolver& op_resolver,
                   uint8_t* tensor_arena, size_t tensor_arena_size,
                   MicroResourceVariables* resource_variables = nullptr,
                   MicroProfilerInterface* profiler = nullptr,
                   bool preserve_all_tensors = false);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t index);
  TfLiteTensor* output(size_t index);
  size_t arena_used_bytes() const;
};
}
""")
    methods = "\n".join(f"  TfLiteStatus {m}();" for m in sorted(set(EXPECTED_METHODS.values())))
    (stub / "micro" / "micro_mutable_op_resolver.h").write_text(f"""
#pragma once
#include "tensorflow/lite/micro/micro_interpreter.h"
namespace tflite {{
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {{
 public:
{methods}
}};
}}
""")
    (stub / "micro" / "micro_log.h").write_text(
        "#pragma once\nvoid MicroPrintf(const char* format, ...)"
        " __attribute__((format(printf, 1, 2)));\n")
    (stub / "micro" / "system_setup.h").write_text(
        "#pragma once\nnamespace tflite { void InitializeTarget(); }\n")
    (stub / "schema" / "schema_generated.h").write_text("""
#pragma once
#include <cstdint>
namespace tflite {
struct Model { uint32_t version() const; };
const Model* GetModel(const void* buf);
}
""")
    run(["g++", *CXXFLAGS, "-fsyntax-only", f"-I{tmp_path}", f"-I{out}", str(out / "main.cc")])


# ---- test vectors ----------------------------------------------------------------------------

def test_vectors_are_what_tflite_micro_computes(project):
    path, out, res = project
    m = load_model(path)
    text = (out / "test_vectors.h").read_text()
    n = int(re.search(r"kNumVectors = (\d+);", text).group(1))
    assert n == 3 == res.details["vectors"]
    inputs = [np.array([c_array(text, f"kVector{v}Input{k}") for v in range(n)], t.dtype)
              .reshape(n, *t.shape) for k, t in enumerate(m.input_tensors())]
    outs = make_runner("tflm", m).run(inputs).outputs
    for k, t in enumerate(m.output_tensors()):
        want = np.array([c_array(text, f"kVector{v}Output{k}") for v in range(n)], t.dtype)
        np.testing.assert_array_equal(want.reshape(outs[k].shape), outs[k])
    from mcuq.vectors import random_inputs
    np.testing.assert_array_equal(inputs[0], random_inputs(m, 3, seed=0)[0])


# ---- model_settings.h helpers ----------------------------------------------------------------

def test_quantize_helpers_match_reference(projects, tmp_path):
    need("g++", "apt-get install g++")
    path, out, _ = projects["fc"]
    m = load_model(path)
    t_in, t_out = m.input_tensors()[0], m.output_tensors()[0]
    scale, zp = np.float32(t_in.scale), t_in.zero_point
    rng = np.random.default_rng(0)
    k = np.arange(-200, 200, dtype=np.float32)
    xs = np.concatenate([
        (k + np.float32(0.5)) * scale,                      # exact ties of x / scale
        k * scale, rng.uniform(-40, 40, 3000).astype(np.float32),
        np.array([0.0, -0.0, 1e30, -1e30, np.inf, -np.inf, 3e9, -3e9], np.float32),
    ]).astype(np.float32)
    with np.errstate(invalid="ignore"):
        ties = np.mod(xs / scale, np.float32(1)) == np.float32(0.5)
    assert ties.sum() >= 300  # the ties really are ties in float32
    xs.tofile(tmp_path / "x.bin")
    (tmp_path / "q.cc").write_text(f"""
#include <cstdio>
#include <cstdint>
#include "model_settings.h"
int main(int argc, char** argv) {{
  if (argc < 4) return 2;
  FILE* in = std::fopen(argv[1], "rb");
  FILE* q = std::fopen(argv[2], "wb");
  FILE* d = std::fopen(argv[3], "wb");
  if (!in || !q || !d) return 2;
  float x;
  while (std::fread(&x, sizeof x, 1, in) == 1) {{
    const int8_t v = fc_model::QuantizeInput0(x);
    std::fwrite(&v, 1, 1, q);
  }}
  for (int v = -128; v <= 127; ++v) {{
    const float r = fc_model::DequantizeOutput0(static_cast<int8_t>(v));
    std::fwrite(&r, sizeof r, 1, d);
  }}
  std::fclose(in); std::fclose(q); std::fclose(d);
  return 0;
}}
""")
    exe = tmp_path / "q"
    run(["g++", *CXXFLAGS, "-O2", f"-I{out}", str(tmp_path / "q.cc"), "-o", str(exe)])
    run([str(exe), str(tmp_path / "x.bin"), str(tmp_path / "q.bin"), str(tmp_path / "d.bin")])
    got_q = np.fromfile(tmp_path / "q.bin", np.int8)
    with np.errstate(invalid="ignore"):
        want_q = quantize(xs, t_in.scale, zp)
    np.testing.assert_array_equal(got_q, want_q)
    got_d = np.fromfile(tmp_path / "d.bin", np.float32)
    want_d = dequantize(np.arange(-128, 128), t_out.scale, t_out.zero_point).astype(np.float32)
    np.testing.assert_array_equal(got_d, want_d)
    text = (out / "model_settings.h").read_text()
    assert "kInput0Elements = 16;" in text and "kOutput0Elements = 8;" in text
    assert "kInput0ZeroPoint = -3;" in text and "kOutput0ZeroPoint = 7;" in text


# ---- determinism, errors, CLI --------------------------------------------------------------

def tree(path: Path) -> dict:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_rendering_is_deterministic(projects, tmp_path):
    from mcuq.codegen import generate_project

    path, out, _ = projects["fc"]
    generate_project(path, tmp_path / "again", target="tflm", vectors=3)
    assert tree(tmp_path / "again") == tree(out)


@pytest.mark.parametrize("builtin,custom,named", [
    ("CUSTOM", "MyCustomOp", "MyCustomOp"), ("HASHTABLE_LOOKUP", None, "HASHTABLE_LOOKUP")])
def test_op_without_resolver_call_fails_and_writes_nothing(tmp_path, builtin, custom, named):
    model = tmp_path / "bad.tflite"
    model.write_bytes(with_opcode(fc_model(), builtin, custom))
    out = tmp_path / "proj"
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(out), "--target", "tflm"])
    assert r.exit_code == 3, r.output
    assert named in r.output and "TensorFlow Lite Micro" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tflite"]


def test_cli_refuses_non_empty_dir_then_force_replaces(projects, tmp_path):
    path, _, _ = projects["fc"]
    out = tmp_path / "proj"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    cli = CliRunner()
    r = cli.invoke(main, ["generate", str(path), "-o", str(out), "--target", "tflm"])
    assert r.exit_code == 2 and "not empty" in r.output and "--force" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    r = cli.invoke(main, ["generate", str(path), "-o", str(out), "--target", "tflm", "--force",
                          "--name", "kws-model v2", "--vectors", "2", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["name"] == "kws_model_v2" and summary["target"] == "tflm"
    assert summary["details"]["vectors"] == 2
    assert not (out / "keep.txt").exists()
    assert "g_kws_model_v2_model_data[]" in (out / "model_data.cc").read_text()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        sorted(summary["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # no temp leftovers


def test_cli_bad_name_fails_and_writes_nothing(projects, tmp_path):
    path, _, _ = projects["fc"]
    out = tmp_path / "proj"
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(out), "--name", "!!!"])
    assert r.exit_code == 2 and "--name" in r.output and "C identifier" in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_text_summary(projects, tmp_path):
    path, _, _ = projects["fc"]
    r = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "p"),
                                  "--vectors", "0"])
    assert r.exit_code == 0, r.output
    assert "generated tflm project 'fc'" in r.output
    assert "FULLY_CONNECTED" in r.output and "TFLite Micro measured" in r.output
    text = (tmp_path / "p" / "main.cc").read_text()
    assert "PASS 0 vectors" in text and "CheckVector" not in text
