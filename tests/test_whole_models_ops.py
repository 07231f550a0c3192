"""Whole models with the issue-10 ops, built and converted in the test session with TensorFlow's
real converter, each exact on TFLite Micro, the generated C on the host and on Cortex-M4
(`mcuq verify --runners reference,tflm,host,cortex-m4`), and each generated project (both
targets) passing its own self-test on the host and under QEMU.

  dynamic_batch  Keras Conv2D -> Conv2DTranspose -> Flatten -> Dense converted WITHOUT fixing
                 the batch (TFLiteConverter directly): SHAPE / STRIDED_SLICE / PACK feed
                 TRANSPOSE_CONV's output_shape and RESHAPE's shape (int32 tensors).
  autoencoder    Keras Conv2D(stride 2) -> Conv2DTranspose -> Resizing(nearest, 12 -> 18) ->
                 Conv2D -> UpSampling2D(bilinear) -> Conv2D through `mcuq.convert`.
                 (Keras 3's UpSampling2D(interpolation="nearest") converts to EXPAND_DIMS/TILE/
                 RESHAPE, and TFLite Micro has no TILE kernel: Resizing gives the
                 RESIZE_NEAREST_NEIGHBOR op.)
  atrous         tf.Module with a fixed batch: SPACE_TO_BATCH_ND -> MAX_POOL_2D ->
                 BATCH_TO_SPACE_ND (dilated pooling), a dilated convolution and DEPTH_TO_SPACE.
                 What TF 2.21 emits for dilation: with a fixed batch S2B+CONV_2D+B2S fuse into one
                 CONV_2D with dilation factors (Keras Conv2D/DepthwiseConv2D/Conv1D dilation too);
                 S2B/B2S stay around ops that do not fuse (pooling) and, with a dynamic batch,
                 around every dilated Keras convolution, with stored shapes that assume batch 1
                 (refused: tests/reference/test_space.py).
Converted models are cached on disk like the zoo ($MCUQ_CACHE/ops_models/<hash>)."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcuq.cli import main
from mcuq.model import load_model

SHARED_TFLM = Path(__file__).resolve().parents[1].parent / "shared" / "third_party" / "tflm"
MODELS = ("dynamic_batch", "autoencoder", "atrous")
EXPECTED_OPS = {
    "dynamic_batch": {"SHAPE", "STRIDED_SLICE", "PACK", "TRANSPOSE_CONV", "RESHAPE"},
    "autoencoder": {"TRANSPOSE_CONV", "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"},
    "atrous": {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "DEPTH_TO_SPACE"},
}


# ---- the models --------------------------------------------------------------------------


def _representative(shape, n=64, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.uniform(-1, 1, (n, *shape)).astype(np.float32)

    def gen():
        for k in range(n):
            yield [data[k:k + 1]]
    return data, gen


def _int8_converter(converter, shape):
    import tensorflow as tf

    _, gen = _representative(shape)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def build_dynamic_batch() -> bytes:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(10)
    L = keras.layers
    i = keras.Input((8, 8, 2))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(i)
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    x = L.Flatten()(x)
    o = L.Dense(5)(x)
    model = keras.Model(i, o)
    return _int8_converter(tf.lite.TFLiteConverter.from_keras_model(model), (8, 8, 2))


def build_autoencoder() -> bytes:
    import keras

    import mcuq

    keras.utils.set_random_seed(11)
    L = keras.layers
    i = keras.Input((12, 12, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.Conv2DTranspose(6, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Resizing(18, 18, interpolation="nearest")(x)
    x = L.Conv2D(4, 3, padding="same")(x)
    x = L.UpSampling2D(2, interpolation="bilinear")(x)
    o = L.Conv2D(2, 1)(x)
    data, _ = _representative((12, 12, 3))
    return mcuq.convert(keras.Model(i, o), data)


def build_atrous() -> bytes:
    import tensorflow as tf

    class Atrous(tf.Module):
        def __init__(self):
            g = tf.random.Generator.from_seed(12)
            self.w0 = tf.Variable(g.normal((1, 1, 3, 4)) * 0.5)
            self.w = tf.Variable(g.normal((3, 3, 4, 8)) * 0.3)

        @tf.function(input_signature=[tf.TensorSpec((1, 12, 12, 3), tf.float32)])
        def __call__(self, x):
            x = tf.nn.relu(tf.nn.conv2d(x, self.w0, 1, "SAME"))
            y = tf.space_to_batch_nd(x, [2, 2], [[0, 0], [0, 0]])
            y = tf.nn.max_pool2d(y, 2, 1, "SAME")
            y = tf.batch_to_space(y, [2, 2], [[0, 0], [0, 0]])
            y = tf.nn.conv2d(y, self.w, 1, "SAME", dilations=2)
            return tf.nn.depth_to_space(y, 2)

    m = Atrous()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [m.__call__.get_concrete_function()], m)
    return _int8_converter(converter, (12, 12, 3))


BUILDERS = {"dynamic_batch": build_dynamic_batch, "autoencoder": build_autoencoder,
            "atrous": build_atrous}


def _cache_dir() -> Path:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for p in ("conversion.py", "sources.py"):
        h.update((Path(__file__).resolve().parents[1] / "mcuq" / p).read_bytes())
    try:
        h.update(metadata.version("tensorflow").encode())
    except metadata.PackageNotFoundError:
        h.update(b"-")
    root = os.environ.get("MCUQ_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "mcuq"
    return base / "ops_models" / h.hexdigest()[:16]


@pytest.fixture(scope="module")
def op_models(tmp_path_factory) -> dict[str, Path]:
    """{name: path of the converted .tflite}, converted once (disk-cached)."""
    from mcuq.conversion import quiet_native_output, write_atomic

    folder = _cache_dir()
    out = {}
    for name in MODELS:
        path = folder / f"{name}.tflite"
        if not path.exists():
            with quiet_native_output():
                data = BUILDERS[name]()
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        out[name] = path
    return out


# ---- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_converter_emits_the_ops(op_models, name):
    m = load_model(op_models[name])
    assert EXPECTED_OPS[name] <= set(m.op_types()), m.op_types()
    if name == "dynamic_batch":
        assert m.input_tensors()[0].shape_signature[0] == -1


@pytest.mark.parametrize("name", MODELS)
def test_verify_exact_on_tflm_host_and_cortex_m4(op_models, name, host_cc, cortex_m4):
    r = CliRunner().invoke(main, ["verify", str(op_models[name]), "--runners",
                                  "reference,tflm,host,cortex-m4", "--samples", "16"])
    assert r.exit_code == 0, r.output
    for runner in ("tflm", "host", "cortex-m4"):
        lines = [ln for ln in r.output.splitlines() if ln.startswith(runner + " ")]
        assert lines and all("exact" in ln for ln in lines), r.output


def _run(cmd, cwd=None, timeout=300):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (" ".join(map(str, cmd)) + "\n" + proc.stdout[-3000:]
                                  + proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def _generate(model: Path, out: Path, target: str) -> Path:
    r = CliRunner().invoke(main, ["generate", str(model), "-o", str(out), "--target", target,
                                  "--vectors", "3"])
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("name", MODELS)
def test_generated_c_self_test_on_host_and_qemu(op_models, name, tmp_path, host_cc, cortex_m4):
    proj = _generate(op_models[name], tmp_path / "c", "c")
    assert "PASS" in _run(["make", "-s", "run-sanitize"], cwd=proj)
    assert "PASS" in _run(["make", "-s", "run-qemu"], cwd=proj)


def _tflm_shared():
    if not (SHARED_TFLM / "tensorflow/lite/micro/micro_interpreter.h").exists():
        pytest.skip(f"{SHARED_TFLM} is absent: the prebuilt TensorFlow Lite Micro is a "
                    "test dependency of the mcuq repository's CI, not shipped with mcuq")
    return SHARED_TFLM


@pytest.mark.parametrize("name", MODELS)
def test_generated_tflm_self_test_on_host_and_qemu(op_models, name, tmp_path, host_cc,
                                                   cortex_m4):
    """The TFLite Micro project, built against the prebuilt library (host: reference kernels;
    Cortex-M4: CMSIS-NN kernels, linked with mcuq's mps2-an386 start-up), runs its vectors."""
    tflm = _tflm_shared()
    proj = _generate(op_models[name], tmp_path / "tflm", "tflm")
    out = _run(["make", "-s", f"TFLM_DIR={tflm}",
                f"HOST_TFLM_LIB={tflm}/lib/host/libtensorflow-microlite.a", "run-host"],
               cwd=proj)
    assert "PASS" in out, out
    fw = Path(__file__).resolve().parents[1] / "firmware" / "mps2-an386"
    startup = tmp_path / "startup.o"
    arm = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    _run(["arm-none-eabi-gcc", "-std=c99", "-O2", *arm, "-c", str(fw / "startup.c"), "-o",
          str(startup)])
    ldflags = (f"-T {fw / 'mps2-an386.ld'} {startup} --specs=nano.specs --specs=rdimon.specs "
               "-nostartfiles")
    _run(["make", "-s", f"TFLM_DIR={tflm}", "EXTRA_CXXFLAGS=-funsigned-char",
          f"ARM_TFLM_LIB={tflm}/lib/m4-cmsis_nn/libtensorflow-microlite.a",
          f"ARM_LDFLAGS={ldflags}", "arm-elf"], cwd=proj)
    elf = next((proj / "build" / "arm").glob("*.elf"))
    out = _run(["qemu-system-arm", "-machine", "mps2-an386", "-nographic", "-semihosting-config",
                "enable=on,target=native", "-kernel", str(elf)], timeout=600)
    assert "PASS" in out, out


@pytest.mark.parametrize("name", MODELS)
def test_inspect_plans_tflm_head_with_kernel_scratch(op_models, name):
    """TRANSPOSE_CONV's int32 scratch is in TFLite Micro's head: the TFLM-like plan includes it
    and lands on the measured head; TRANSPOSE_CONV counts its MACs."""
    from mcuq.costs import inspect_model

    info = inspect_model(op_models[name])
    assert info.arena.plan_bytes == info.arena.tflm_head_bytes, info.arena
    for o in info.ops:
        if o.op == "TRANSPOSE_CONV":
            assert o.macs > 0
        assert o.support.reference and o.support.c and o.support.tflm
