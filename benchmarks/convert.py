"""Cost of `mcuq convert` over a bare TFLiteConverter script with the same settings.

Both start from the same .keras file and .npy calibration data and run in this one process,
interleaved, several repetitions; prints both medians and the ratio (target <= 1.2).

    python benchmarks/convert.py [--model ds_cnn] [--samples 200] [--reps 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def bare_convert(model_path: Path, calib_path: Path) -> bytes:
    """What a user would write by hand: load, fix batch 1, full-int8 PTQ."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    x = np.load(calib_path).astype(np.float32)
    spec = tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)

    @tf.function(input_signature=[spec])
    def serve(v):
        return model(v, training=False)

    def representative_dataset():
        for i in range(len(x)):
            yield [x[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ds_cnn")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()

    from mcuq.conversion import convert_model
    from mcuq.native import quiet_native_output
    from mcuq.testing import zoo

    with tempfile.TemporaryDirectory() as d:
        model_path, calib_path = Path(d) / "m.keras", Path(d) / "calib.npy"
        zoo.build_keras(args.model).save(model_path)
        np.save(calib_path, zoo.calibration(args.model, n=args.samples)[0])
        runs = {
            "mcuq": lambda: convert_model(model_path, calib_path).data,
            "bare": lambda: bare_convert(model_path, calib_path),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        sizes = {}
        for k, fn in runs.items():  # warm-up (imports, first tracing) not timed
            with quiet_native_output():
                sizes[k] = len(fn())
        for _ in range(args.reps):
            for k, fn in runs.items():
                with quiet_native_output():
                    t = time.perf_counter()
                    fn()
                    times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"model {args.model}, {args.samples} calibration samples, {args.reps} interleaved reps")
    for k in runs:
        print(f"  {k:5s} median {med[k]:.3f} s  (min {min(times[k]):.3f}, "
              f"max {max(times[k]):.3f}; {sizes[k]} bytes)")
    print(f"  ratio mcuq/bare {med['mcuq'] / med['bare']:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
