"""mcuq: a trained Keras/TensorFlow model to a microcontroller, exactly.

The Python API mirrors the CLI's verbs. Everything is imported lazily: `import mcuq` does not
import TensorFlow.

    data = mcuq.convert("model.keras", "calib.npy")          # -> .tflite bytes
    info = mcuq.inspect("model.tflite")                       # -> costs (Inspection)
    mcuq.generate("model.tflite", "out/", target="c")         # -> project on disk
    report = mcuq.verify("model.tflite", runners=["reference", "tflm"])
    d = mcuq.diagnose("model.tflite", "model.keras", data="x.npy")   # which layer lost accuracy
    small = mcuq.compress("model.keras", "x.npy", prune=0.5, cluster=16)  # -> result
"""
from __future__ import annotations

__version__ = "0.1.0"


def convert(model, calibration, **options) -> bytes:
    """Full-int8 post-training quantization; returns the .tflite flatbuffer bytes.
    `model`: a .keras/.h5/SavedModel path (Keras 3 or Keras 2; see mcuq.sources) or a model.
    Options: samples, seed, io_type ("int8"|"uint8"|"float32"|"int16"), activations
    ("int8"|"int16": 16x8), per_channel, progress,
    custom_objects (module names, .py paths, modules or {name: class} dicts with the model's
    custom layers), scale (e.g. "1/255": multiplies the calibration data first)."""
    from .conversion import convert_model

    return convert_model(model, calibration, **options).data


def inspect(model, **options):
    """Ops, tensors, quantization, MACs, flash and arena of a .tflite model (path or bytes);
    returns a mcuq.costs.Inspection (`.as_dict()` for plain data)."""
    from .costs import inspect_model

    return inspect_model(model, **options)


def generate(model, out_dir, **options):
    """Render a firmware project (target="tflm" or "c") into out_dir, atomically."""
    from .generation import generate_project

    return generate_project(model, out_dir, **options)


def verify(model, **options):
    """Compare runners with the int8 reference; returns a report (see mcuq.verification).
    compare_int16=True (with float_model and data; calibration= optional): the float model
    converted to int8 and 16x8 side by side in `report.int16_comparison`
    (mcuq.int16_comparison)."""
    from .verification import verify_model

    return verify_model(model, **options)


def diagnose(model, float_model, **options):
    """Per-layer quantization error against the float model, ranked, with remedies;
    returns a mcuq.diagnosis.Diagnosis. Options: data, labels, samples, seed, simulate."""
    from .diagnosis import diagnose_model

    return diagnose_model(model, float_model, **options)


def compress(model, data, **options):
    """Prune channels, share weights (K values) and distil a Keras model into a smaller one,
    before convert. Returns a mcuq.compression.pipeline.CompressResult (`.student` is the
    keras.Model; `.tflite` the int8 bytes when calibration= is given). With output= the
    .keras (and .tflite) are written atomically. Options: labels, val_data, val_labels, prune,
    prune_layers, importance, cluster, cluster_per_channel, sparsity, epochs, batch_size,
    learning_rate, temperature, alpha, patience, seed, calibration, output, tflite_output,
    force, progress."""
    from .compression.pipeline import compress_model, compress_to_file

    output = options.pop("output", None)
    if output is not None:
        return compress_to_file(model, data, output, **options)
    return compress_model(model, data, **options)


__all__ = ["convert", "inspect", "generate", "verify", "diagnose", "compress",
           "__version__"]
