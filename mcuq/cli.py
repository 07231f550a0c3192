"""The `mcuq` command: parse arguments, call the library, print. No logic lives here.

Heavy modules (TensorFlow above all) are imported inside the commands that need them, so
`mcuq --help` and `mcuq inspect` stay fast.
"""
from __future__ import annotations

import functools
import sys

import click

from .codegen.layouts import LAYOUTS
from .errors import EXIT_USAGE, McuqError


def _fail(err: McuqError) -> None:
    click.echo(f"error: {err.message}", err=True)
    if err.hint:
        click.echo(f"  hint: {err.hint}", err=True)
    sys.exit(err.exit_code)


def handle_errors(fn):
    """Map McuqError to its one-line message and exit code; never print a traceback for it."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except McuqError as e:
            _fail(e)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mcuq")
def main() -> None:
    """mcuq: a trained Keras model to a microcontroller, exactly.

    \b
    compress  prune channels, share weights, distil: a smaller Keras model
    convert   full-int8 post-training quantization (TFLiteConverter)
    inspect   ops, MACs, flash and RAM of a .tflite model
    generate  C arrays and a firmware project (TFLite Micro or standalone C)
    verify    compare every runner with mcuq's bit-exact int8 reference
    diagnose  which layer lost the accuracy: per-layer error against the float model
    """


@main.command()
@click.argument("model", type=click.Path(dir_okay=True, path_type=str))
@click.option("--calibration", "-c", "calibration", required=True,
              help="Calibration data: .npy, .npz (FILE.npz:KEY[,KEY2] picks arrays), a folder "
                   "of .npy files, or package.module:function.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The .tflite file to write.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Calibration samples to use (default: all, up to 500).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for choosing samples when there are more than --samples.")
@click.option("--io", "io_type", type=click.Choice(["int8", "uint8", "float32", "int16"]),
              default=None, help="Type of the model's input and output tensors (default: the "
                                 "activation type; int16 activations take int16 or float32).")
@click.option("--activations", type=click.Choice(["int8", "int16"]), default="int8",
              show_default=True, help="int16: 16x8 quantization (int16 activations, int8 "
                                      "weights, int64 bias) where int8 is not accurate enough.")
@click.option("--per-tensor", is_flag=True, help="Per-tensor weight scales instead of per-channel.")
@click.option("--custom-objects", "custom_objects", multiple=True, metavar="MODULE",
              help="Module name or path/to/file.py with the model's custom layers (registered "
                   "with register_keras_serializable, or a CUSTOM_OBJECTS dict). Repeatable.")
@click.option("--scale", default=None, metavar="FACTOR",
              help="Multiply the calibration data by FACTOR first, e.g. 1/255 for uint8 images "
                   "of a model trained on x/255 (integer data is never rescaled without it).")
@click.option("--force", "-f", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def convert(model, calibration, output, samples, seed, io_type, activations, per_tensor,
            custom_objects, scale, force, as_json):
    """Quantize MODEL (.keras, .h5 or SavedModel folder; Keras 3 or Keras 2) to a full-int8
    .tflite."""
    from .conversion import convert_to_file
    from .report import print_convert

    result = convert_to_file(model, calibration, output, samples=samples, seed=seed,
                             io_type=io_type, per_channel=not per_tensor, force=force,
                             progress=not as_json, custom_objects=list(custom_objects) or None,
                             scale=scale, activations=activations)
    print_convert(result, as_json=as_json)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable object.")
@click.option("--no-tflm", is_flag=True, help="Skip TFLite Micro's measured arena.")
@click.option("--cortex-m4", "footprint", is_flag=True,
              help="Also build the standalone C target for Cortex-M4 and report its flash/RAM.")
@click.option("--html", "html", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Also write a self-contained HTML report (op bars, memory plan pictures).")
@handle_errors
def inspect(model, as_json, no_tflm, footprint, html):
    """Show what MODEL.tflite costs on a device: ops, MACs, flash, arena."""
    from .costs import inspect_model
    from .report import print_inspect

    if html:
        from .report.html import check_html_path
        check_html_path(html)
    info = inspect_model(model, measure_tflm=not no_tflm, footprint=footprint)
    print_inspect(info, as_json=as_json)
    if html:
        from .report.html import write_html
        write_html(html, model, inspection=info, quiet=as_json)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=str),
              help="Project folder to create.")
@click.option("--target", type=click.Choice(["tflm", "c"]), default="tflm", show_default=True,
              help="tflm: TFLite Micro project; c: standalone C99 with mcuq's kernels.")
@click.option("--layout", type=click.Choice(LAYOUTS), default="make", show_default=True,
              help="Build system: a Makefile project, a CMake library, an Arduino or "
                   "PlatformIO library, an ESP-IDF component or a Zephyr module "
                   "(tflm: make, cmake).")
@click.option("--name", default=None, help="C identifier for the model (default: file stem).")
@click.option("--vectors", type=click.IntRange(min=0), default=4, show_default=True,
              help="Test vectors (inputs + expected outputs) compiled into the self-test.")
@click.option("--external-io", is_flag=True,
              help="--target c: inputs/outputs in the caller's buffers (invoke_io, e.g. "
                   "zero-copy DMA) instead of inside the model's arena.")
@click.option("--tile", default=None, metavar="auto|N:RxC",
              help="--target c: run the first layers patch by patch (MCUNetV2): 'auto' picks "
                   "the stage and grid with the smallest arena within 15 % extra MACs; "
                   "'N:RxC' tiles the first N ops over an R x C grid of their output.")
@click.option("--pack", default="off", show_default=True, metavar="auto|off|BITS",
              help="--target c: store weights with few distinct values per channel as k-bit "
                   "indices + int8 tables, decoded inside the kernels (auto: every tensor that "
                   "fits in <= 6 bits and gets smaller; BITS 1..6: those that fit in BITS).")
@click.option("--compress", is_flag=True,
              help="--target tflm: compress such weights with TFLite Micro's own compression "
                   "(TFLM_DECODE ops; the arena grows by the decoded tensors).")
@click.option("--force", "-f", is_flag=True, help="Replace OUT_DIR if it is not empty.")
@click.option("--rounding", type=click.Choice(["double", "single"]), default=None,
              help="--target c: requantization rounding. double (default): TFLite Micro's "
                   "default build; single: one rounding of the 64-bit product "
                   "(TFLITE_SINGLE_ROUNDING, CMSIS-NN's option; cheaper on Cortex-M).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def generate(model, out_dir, target, layout, name, vectors, external_io, tile, pack, compress,
             force, rounding,
             as_json):
    """Write C arrays and a firmware project for MODEL.tflite."""
    from .generation import generate_project
    from .report import print_generate

    result = generate_project(model, out_dir, target=target, name=name, vectors=vectors,
                              force=force, layout=layout, rounding=rounding,
                              external_io=external_io, tile=tile, pack=pack, compress=compress)
    print_generate(result, as_json=as_json)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--data", default=None,
              help="Inputs (.npy/.npz, FILE.npz:KEY picks arrays; float or int8). "
                   "Default: random int8.")
@click.option("--labels", default=None,
              help="Labels of --data (.npy, or FILE.npz:KEY): integer classes (accuracy) or, "
                   "for a regression (non-integer values, or a model with one output value), "
                   "targets (RMSE).")
@click.option("--scale", default=None, metavar="FACTOR",
              help="Multiply --data by FACTOR first (e.g. 1/255 for uint8 images).")
@click.option("--float", "float_model", default=None,
              help="The float model (.keras/.h5/SavedModel) for accuracy and agreement.")
@click.option("--custom-objects", "custom_objects", multiple=True, metavar="MODULE",
              help="Custom layers of the --float model (as for convert). Repeatable.")
@click.option("--runners", default="reference,tflm,tflite", show_default=True,
              help="Comma-separated: reference, tflite, tflite-default, tflm, host, "
                   "host-sanitize (the C under ASan + UBSan: any report fails), cortex-m4.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Inputs to run (default: all given, or 100 random).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random inputs.")
@click.option("--kernels", type=click.Choice(["ref", "default"]), default="ref", show_default=True,
              help="Kernels of the `tflite` runner: the reference op resolver (must be exact) "
                   "or the optimized default ones (differences reported, never failed on).")
@click.option("--rounding", type=click.Choice(["double", "single"]), default="double",
              show_default=True,
              help="Requantization of the C runners (host, host-sanitize, cortex-m4), each "
                   "compared with the reference profile of that rounding (tflm / "
                   "single-rounding).")
@click.option("--explain", is_flag=True,
              help="Also measure how far each runner's profile is from TFLite Micro's (tflm) "
                   "on these inputs, and at which ops the differences originate.")
@click.option("--no-diagnose", is_flag=True,
              help="With --float: skip the per-layer error section (mcuq diagnose).")
@click.option("--pack", default="off", show_default=True, metavar="auto|off|BITS",
              help="host, host-sanitize, cortex-m4: build the C project with packed weights "
                   "(as generate --target c --pack).")
@click.option("--compress", is_flag=True,
              help="tflm: run the model compressed with TFLite Micro's own compression (as "
                   "generate --target tflm --compress). A compressed .tflite needs no flag.")
@click.option("--compare-int16", "compare_int16", is_flag=True,
              help="With --float and --data: also convert the float model to int8 and to 16x8 "
                   "(int16 activations) on --data and show each one's SQNR, accuracy and "
                   "arena side by side.")
@click.option("--calibration", "-c", "calibration", default=None,
              help="--compare-int16: calibrate both conversions on this data (convert's "
                   "formats; default: --data). Pass MODEL's own calibration data to make the "
                   "int8 column MODEL itself.")
@click.option("--windows/--sequence", "windows", default=None,
              help="A model that keeps state (LSTM, SVDF, variables): each sample is an "
                   "independent window, the state reset before each (--windows), or the samples "
                   "are the steps of one sequence (--sequence). Default: windows for sequence "
                   "ops that take a whole window per invocation (a Keras LSTM that is not "
                   "stateful), else one sequence.")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable object.")
@click.option("--html", "html", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Also write a self-contained HTML report (verdicts, memory plan, per-layer "
                   "error, accuracy and confusion matrix).")
@handle_errors
def verify(model, data, labels, scale, float_model, custom_objects, runners, samples, seed,
           kernels, rounding, explain, no_diagnose, pack, compress, compare_int16, calibration,
           windows, as_json, html):
    """Run MODEL.tflite through every runner and compare each with the int8 reference."""
    from .report import print_verify
    from .verification import verify_model

    if html:
        from .report.html import check_html_path
        check_html_path(html)
    report = verify_model(model, data=data, labels=labels, float_model=float_model, scale=scale,
                          custom_objects=list(custom_objects) or None,
                          runners=[r.strip() for r in runners.split(",") if r.strip()],
                          samples=samples, seed=seed, progress=not as_json,
                          runner_options={"tflite": {"kernels": kernels},
                                          **{c: {"rounding": rounding} for c in
                                             ("host", "host-sanitize", "cortex-m4")}},
                          diagnose=not no_diagnose, explain=explain, pack=pack,
                          compress=compress, compare_int16=compare_int16,
                          calibration=calibration, windows=windows)
    print_verify(report, as_json=as_json)
    if html:
        from .report.html import write_html
        write_html(html, model, verify=report, diagnosis=report.diagnosis, quiet=as_json)
    sys.exit(report.exit_code)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--float", "float_model", required=True,
              help="The float model (.keras/.h5/SavedModel) MODEL was converted from.")
@click.option("--data", default=None,
              help="Inputs (.npy/.npz, float or int8), ideally real samples. Default: random int8.")
@click.option("--labels", default=None,
              help="Labels of --data (.npy, or FILE.npz:KEY): integer classes (accuracy) or "
                   "regression targets (RMSE of the int8 and float models).")
@click.option("--scale", default=None, metavar="FACTOR",
              help="Multiply --data by FACTOR first (e.g. 1/255 for uint8 images).")
@click.option("--custom-objects", "custom_objects", multiple=True, metavar="MODULE",
              help="Custom layers of the --float model (as for convert). Repeatable.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Samples to diagnose (default: the first 256 of --data).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random inputs.")
@click.option("--no-simulate", is_flag=True,
              help="Skip measuring remedies on edited copies of the model (faster).")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable object.")
@click.option("--html", "html", default=None, type=click.Path(dir_okay=False, path_type=str),
              help="Also write a self-contained HTML report.")
@handle_errors
def diagnose(model, float_model, data, labels, scale, custom_objects, samples, seed, no_simulate,
             as_json, html):
    """Which layer of MODEL.tflite lost the accuracy: per-layer error against the float model,
    ranked, with remedies measured before you apply them."""
    from .diagnosis import diagnose_model
    from .report import print_diagnose

    if html:
        from .report.html import check_html_path
        check_html_path(html)
    result = diagnose_model(model, float_model, data=data, labels=labels, samples=samples,
                            seed=seed, progress=not as_json, simulate=not no_simulate,
                            scale=scale, custom_objects=list(custom_objects) or None)
    print_diagnose(result, as_json=as_json)
    if html:
        from .report.html import write_html
        write_html(html, model, diagnosis=result, quiet=as_json)


@main.command()
@click.argument("model", type=click.Path(dir_okay=True, path_type=str))
@click.option("--data", required=True,
              help="Training inputs (the --calibration formats): the student learns the "
                   "original model's outputs on them.")
@click.option("--labels", default=None, help="Labels of --data (.npy): adds the task loss.")
@click.option("--val-data", default=None,
              help="Validation inputs (default: 10% of --data held out).")
@click.option("--val-labels", default=None, help="Labels of --val-data (.npy).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The smaller .keras model to write.")
@click.option("--prune", type=float, default=0.0, show_default=True,
              help="Fraction of channels to remove from every prunable layer, in [0, 1).")
@click.option("--prune-layers", default=None,
              help="Per-layer ratios, name=ratio,... (override --prune for those layers).")
@click.option("--importance", type=click.Choice(["l1", "l2", "bn", "activation"]),
              default=None, help="How channels are ranked (default: l1, the best measured).")
@click.option("--cluster", type=int, default=None,
              help="K: at most K distinct weight values per layer (or channel), K >= 2.")
@click.option("--cluster-per-channel", is_flag=True,
              help="K values per output channel instead of per layer.")
@click.option("--sparsity", type=float, default=0.0, show_default=True,
              help="Fraction of weights set to exactly 0 before clustering (needs --cluster).")
@click.option("--epochs", type=int, default=3, show_default=True,
              help="Fine-tuning epochs after each step (0: none).")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--learning-rate", type=float, default=None,
              help="Adam step size (default: 1e-3 after pruning; with tied weights 0.1 / "
                   "steps, within 1e-4..1e-3).")
@click.option("--temperature", type=float, default=4.0, show_default=True,
              help="Distillation temperature for softmax outputs.")
@click.option("--alpha", type=float, default=None,
              help="Weight of the label loss (with --labels; default 0.5).")
@click.option("--patience", type=int, default=2, show_default=True,
              help="Stop after this many epochs without better validation agreement.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--calibration", "-c", default=None,
              help="Also convert to full int8 (like `mcuq convert`) and report int8 figures.")
@click.option("--custom-objects", "custom_objects", multiple=True, metavar="MODULE",
              help="Custom layers of MODEL (as for convert; kept whole by pruning). Repeatable.")
@click.option("--teacher", default=None,
              help="The model the student learns from (default: MODEL itself), e.g. the "
                   "original when MODEL was pruned by an earlier run.")
@click.option("--tflite", "tflite_output", default=None,
              type=click.Path(dir_okay=False, path_type=str),
              help="Where the .tflite goes (default: OUTPUT with .tflite).")
@click.option("--force", "-f", is_flag=True, help="Overwrite outputs that exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def compress(model, data, labels, val_data, val_labels, output, prune, prune_layers,
             importance, cluster, cluster_per_channel, sparsity, epochs, batch_size,
             learning_rate, temperature, alpha, patience, seed, calibration, custom_objects,
             teacher, tflite_output, force, as_json):
    """Prune, share weights and distil MODEL (.keras/.h5) into a smaller .keras model."""
    from .compression.pipeline import compress_to_file
    from .report import print_compress

    result = compress_to_file(
        model, data, output, tflite_output=tflite_output, force=force,
        calibration=calibration, labels=labels, val_data=val_data, val_labels=val_labels,
        prune=prune, prune_layers=prune_layers, importance=importance, cluster=cluster,
        cluster_per_channel=cluster_per_channel, sparsity=sparsity, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, temperature=temperature,
        alpha=alpha, patience=patience, seed=seed, teacher=teacher,
        custom_objects=list(custom_objects) or None, progress=not as_json)
    print_compress(result, as_json=as_json)


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["main", "EXIT_USAGE"]
