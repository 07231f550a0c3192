"""`mcuq compress` on real data: the size / speed / accuracy trade-off, and tfmot side by side.

    python benchmarks/compress.py                 # Fashion-MNIST and digits, full grid, tfmot
    python benchmarks/compress.py --only digits   # the quick one
    python benchmarks/compress.py --importance    # also: which channel ranking prunes best

For each data set a baseline CNN is trained once (cached under $MCUQ_CACHE/bench-compress,
keyed by this file and the TensorFlow version) and converted to int8 -- the baseline. Then the
grid prune {0, 0.25, 0.5, 0.75} x cluster {none, 16, 4}: `mcuq.compress` prunes the baseline
and fine-tunes by distillation on the *unlabeled* training images (labels are used only to
measure), then clusters the pruned model (teacher: the baseline) and fine-tunes again; every
cell is converted to int8 by mcuq and measured: test accuracy of the int8 model (mcuq's
reference, which TFLite Micro matches to the byte), MACs and arena (mcuq.inspect, TFLite
Micro's measured arena), packed weight and flash bytes (mcuq.packing: k-bit indices + per-
channel K-entry tables). The table, the Pareto front (int8 accuracy up, packed weights down,
MACs down) and the issue's targets follow (Fashion-MNIST: <= 1.0 point below the int8
baseline with >= 4x smaller packed weights and >= 2x fewer MACs).

tensorflow-model-optimization 0.8.1 (prune_low_magnitude + cluster_weights, sparsity-
preserving) runs on the same baseline weights in a child process (it needs tf_keras and
TF_USE_LEGACY_KERAS=1 before TensorFlow is imported), fine-tuned with the labels (its usual
set-up) for the same number of epochs, converted with the same converter settings and
measured the same way. Install it with `pip install -e '.[bench]'`.

Fashion-MNIST is Debian's `dataset-fashion-mnist` (installed with apt-get when absent and
root). Time: about an hour on 2 cores for everything.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
PRUNE = (0.0, 0.25, 0.5, 0.75)
CLUSTER = (None, 16, 4)
SEED = 0
CALIBRATION_SAMPLES = 300


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def ensure_fashion() -> None:
    if (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("Fashion-MNIST missing: sudo apt-get install dataset-fashion-mnist")
    print("installing Debian's dataset-fashion-mnist ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], check=True)


@dataclass
class DataSet:
    name: str
    x: np.ndarray  # training images (labels not used by compress)
    y: np.ndarray
    xv: np.ndarray  # validation (early stopping)
    yv: np.ndarray
    xt: np.ndarray  # test (reported accuracy)
    yt: np.ndarray
    calib: np.ndarray


def fashion() -> DataSet:
    ensure_fashion()
    x = (_idx(FASHION_DIR / "train-images-idx3-ubyte.gz") / 255.0).astype(np.float32)[..., None]
    y = _idx(FASHION_DIR / "train-labels-idx1-ubyte.gz").astype(np.int64)
    xt = (_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz") / 255.0).astype(np.float32)[..., None]
    yt = _idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(y))
    val, train = order[:5000], order[5000:]
    return DataSet("fashion-mnist", x[train], y[train], x[val], y[val], xt, yt,
                   x[train[:CALIBRATION_SAMPLES]])


def digits() -> DataSet:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=0.25, random_state=SEED, stratify=y)
    train, val = train_test_split(train, test_size=0.15, random_state=SEED, stratify=y[train])
    return DataSet("digits", x[train], y[train], x[val], y[val], x[test], y[test],
                   x[train[:CALIBRATION_SAMPLES]])


# --------------------------------------------------------------------------------------------
# Baselines (Keras 3; the same architecture is rebuilt in tf_keras for tfmot)
# --------------------------------------------------------------------------------------------

ARCH = {
    # (kind, args): conv = (filters, BN), pool, flatten, dense = units, dropout = rate
    "fashion-mnist": {"input": (28, 28, 1), "layers": [
        ("conv", 32), ("pool",), ("conv", 64), ("pool",), ("conv", 64), ("flatten",),
        ("dropout", 0.3), ("dense", 128), ("dropout", 0.3)], "epochs": 12, "batch": 128},
    "digits": {"input": (8, 8, 1), "layers": [
        ("conv", 16), ("conv", 32), ("pool",), ("flatten",), ("dense", 64)],
        "epochs": 40, "batch": 32},
}

BUILD_SOURCE = '''
def build(keras, arch):
    L = keras.layers
    i = keras.Input(arch["input"], name="image")
    x = i
    n = 0
    for spec in arch["layers"]:
        kind = spec[0]
        n += 1
        if kind == "conv":
            x = L.Conv2D(spec[1], 3, padding="same", use_bias=False, name=f"conv{n}")(x)
            x = L.BatchNormalization(name=f"bn{n}")(x)
            x = L.ReLU(name=f"relu{n}")(x)
        elif kind == "pool":
            x = L.MaxPooling2D(2, name=f"pool{n}")(x)
        elif kind == "flatten":
            x = L.Flatten(name=f"flatten{n}")(x)
        elif kind == "dropout":
            x = L.Dropout(spec[1], name=f"dropout{n}")(x)
        elif kind == "dense":
            x = L.Dense(spec[1], activation="relu", name=f"fc{n}")(x)
    x = L.Dense(10, activation="softmax", name="classes")(x)
    return keras.Model(i, x, name="baseline")
'''
_ns: dict = {}
exec(BUILD_SOURCE, _ns)
build = _ns["build"]


def cache_dirs() -> tuple[Path, Path]:
    """Baselines are keyed by their architecture/training set-up and the TensorFlow version;
    compressed models (in a sub-folder) also by mcuq's compression code."""
    root = os.environ.get("MCUQ_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "mcuq"
    from importlib import metadata

    import mcuq.compression

    key = hashlib.sha256((BUILD_SOURCE + json.dumps(ARCH) + str(SEED)).encode()
                         + metadata.version("tensorflow").encode())
    d = base / "bench-compress" / key.hexdigest()[:12]
    code = hashlib.sha256()
    for f in sorted(Path(mcuq.compression.__file__).parent.glob("*.py")):
        code.update(f.read_bytes())
    cells = d / f"mcuq-{code.hexdigest()[:12]}"
    cells.mkdir(parents=True, exist_ok=True)
    return d, cells


def baseline(ds: DataSet, cache: Path):
    from mcuq.sources import import_keras

    keras = import_keras()
    path = cache / f"{ds.name}-baseline.keras"
    if path.exists():
        return keras.models.load_model(path, compile=False), 0.0
    arch = ARCH[ds.name]
    keras.utils.set_random_seed(SEED)
    m = build(keras, arch)
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    t0 = time.perf_counter()
    m.fit(ds.x, ds.y, validation_data=(ds.xv, ds.yv), epochs=arch["epochs"],
          batch_size=arch["batch"], verbose=2, shuffle=True)
    seconds = time.perf_counter() - t0
    m.save(path)
    return keras.models.load_model(path, compile=False), seconds


# --------------------------------------------------------------------------------------------
# Measuring one int8 model
# --------------------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    prune: float | None
    k: int | None
    acc_float: float | None
    acc_int8: float
    macs: int
    weight_bytes: int
    packed_weight_bytes: int
    packed_flash_bytes: int
    flash_bytes: int
    arena_plan: int
    arena_tflm: int | None
    max_distinct: int
    seconds: float = 0.0


def int8_accuracy(tflite: bytes, xt, yt) -> float:
    from mcuq import metrics
    from mcuq.model import parse_model
    from mcuq.runners import make_runner

    m = parse_model(tflite)
    t = m.input_tensors()[0]
    q = metrics.quantize(xt, t.scale, t.zero_point, t.dtype).reshape(len(xt), *t.shape)
    runner = make_runner("reference", m)
    preds = []
    for i in range(0, len(q), 1000):
        preds.append(runner.run([q[i:i + 1000]]).outputs[0].reshape(len(q[i:i + 1000]), -1))
    return metrics.accuracy(np.concatenate(preds), yt)


def measure(name, tflite: bytes, ds: DataSet, prune, k, acc_float, seconds=0.0) -> Row:
    import mcuq
    from mcuq.packing import pack_model

    info = mcuq.inspect(tflite, measure_tflm=True)
    pk = pack_model(tflite)
    return Row(name=name, prune=prune, k=k, acc_float=acc_float,
               acc_int8=int8_accuracy(tflite, ds.xt, ds.yt), macs=info.macs,
               weight_bytes=pk.weight_bytes, packed_weight_bytes=pk.packed_weight_bytes,
               packed_flash_bytes=pk.packed_flash_bytes, flash_bytes=pk.flash_bytes,
               arena_plan=info.arena.plan_bytes, arena_tflm=info.arena.tflm_total_bytes,
               max_distinct=pk.max_distinct, seconds=seconds)


def float_accuracy(model, ds: DataSet) -> float:
    from mcuq.compression.distill import predict
    from mcuq import metrics

    return metrics.accuracy(predict(model, [ds.xt])[0], ds.yt)


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------

def grid(ds: DataSet, base, cells: Path, epochs: int, batch: int,
         per_channel: bool = True) -> list[Row]:
    import mcuq
    from mcuq.sources import import_keras

    keras = import_keras()
    rows = []
    t0 = time.perf_counter()
    data = mcuq.convert(base, ds.calib)
    rows.append(measure("baseline", data, ds, 0.0, None, float_accuracy(base, ds),
                        time.perf_counter() - t0))
    _print_row(rows[-1])
    for p in PRUNE:
        for k in CLUSTER:
            if p == 0 and k is None:
                continue
            scope = "-pc" if per_channel and k else ""
            path = cells / f"{ds.name}-p{p}-k{k}{scope}-e{epochs}-b{batch}.keras"
            t0 = time.perf_counter()
            seconds = 0.0
            if path.exists():
                student = keras.models.load_model(path, compile=False)
                meta = json.loads(path.with_suffix(".json").read_text())
                seconds = meta["seconds"]
            else:
                if k is None:
                    r = mcuq.compress(base, ds.x, val_data=ds.xv, prune=p, epochs=epochs,
                                      batch_size=batch, seed=SEED, progress=True)
                else:
                    start = base if p == 0 else keras.models.load_model(
                        cells / f"{ds.name}-p{p}-kNone-e{epochs}-b{batch}.keras", compile=False)
                    r = mcuq.compress(start, ds.x, val_data=ds.xv, cluster=k, epochs=epochs,
                                      cluster_per_channel=per_channel, batch_size=batch,
                                      seed=SEED, teacher=base, progress=True)
                student = r.student
                seconds = time.perf_counter() - t0
                student.save(path)
                path.with_suffix(".json").write_text(json.dumps(
                    {"seconds": seconds, "fits": [
                        {"stage": f.stage, "epochs_run": f.epochs_run, "best": f.best_epoch,
                         "seconds": f.seconds} for f in r.fine_tuning]}))
            data = mcuq.convert(student, ds.calib)
            label = f"mcuq p={p:g}" + (f" K={k}" + ("/ch" if per_channel else "") if k else "")
            rows.append(measure(label, data, ds, p, k,
                                float_accuracy(student, ds), seconds))
            _print_row(rows[-1])
    rows.append(labeled_cell(ds, base, cells, epochs, batch, per_channel))
    _print_row(rows[-1])
    return rows


def labeled_cell(ds: DataSet, base, cells: Path, epochs: int, batch: int, per_channel: bool,
                 p: float = 0.5, k: int = 16) -> Row:
    """One cell fine-tuned with the labels too (alpha 0.5), as tfmot's labeled runs are."""
    import mcuq
    from mcuq.sources import import_keras

    keras = import_keras()
    path = cells / f"{ds.name}-p{p}-k{k}{'-pc' if per_channel else ''}-labels-e{epochs}-b{batch}.keras"
    t0 = time.perf_counter()
    if path.exists():
        student = keras.models.load_model(path, compile=False)
        seconds = json.loads(path.with_suffix(".json").read_text())["seconds"]
    else:
        common = dict(labels=ds.y, val_data=ds.xv, val_labels=ds.yv, epochs=epochs,
                      batch_size=batch, seed=SEED, progress=True)
        pruned = mcuq.compress(base, ds.x, prune=p, **common).student
        student = mcuq.compress(pruned, ds.x, cluster=k, cluster_per_channel=per_channel,
                                teacher=base, **common).student
        seconds = time.perf_counter() - t0
        student.save(path)
        path.with_suffix(".json").write_text(json.dumps({"seconds": seconds}))
    label = f"mcuq p={p:g} K={k}{'/ch' if per_channel else ''} (labels)"
    return measure(label, mcuq.convert(student, ds.calib), ds, p, k, float_accuracy(student, ds),
                   seconds)


# --------------------------------------------------------------------------------------------
# tensorflow-model-optimization (child process: tf_keras)
# --------------------------------------------------------------------------------------------

TFMOT_CHILD = BUILD_SOURCE + '''
import json, os, sys, time
import numpy as np
args = json.loads(sys.argv[1])
import tensorflow as tf
import tf_keras as keras
import tensorflow_model_optimization as tfmot

d = np.load(args["data"])
x, y, xv, yv, calib = d["x"], d["y"], d["xv"], d["yv"], d["calib"]
base = build(keras, args["arch"])
w = np.load(args["weights"])
base.set_weights([w[f"w{i}"] for i in range(len(w.files))])
tf.keras.utils.set_random_seed(args["seed"])

def fit(m, lr, callbacks=()):
    m.compile(optimizer=keras.optimizers.Adam(lr),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, validation_data=(xv, yv), epochs=args["epochs"], batch_size=args["batch"],
          verbose=2, shuffle=True, callbacks=list(callbacks))

def convert(m, path):
    shape = (1, *args["arch"]["input"])
    fn = tf.function(lambda t: m(t, training=False)).get_concrete_function(
        tf.TensorSpec(shape, tf.float32))
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(len(calib)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with open(path, "wb") as f:
        f.write(conv.convert())

out = {}
for sparsity, ks in args["configs"]:
    t0 = time.perf_counter()
    m = keras.models.clone_model(base)
    m.set_weights(base.get_weights())
    if sparsity > 0:
        sched = tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=50)
        m = tfmot.sparsity.keras.prune_low_magnitude(m, pruning_schedule=sched)
        fit(m, args["prune_lr"], [tfmot.sparsity.keras.UpdatePruningStep()])
        m = tfmot.sparsity.keras.strip_pruning(m)
    pruned_weights = m.get_weights()
    t_prune = time.perf_counter() - t0
    for k in ks:
        t1 = time.perf_counter()
        # sparsity-preserving clustering lives in tfmot's experimental module (0.8.1)
        from tensorflow_model_optimization.python.core.clustering.keras.experimental import (
            cluster as experimental)
        init = tfmot.clustering.keras.CentroidInitialization.LINEAR
        # a fresh model each time: cluster_weights wraps (and changes) the layers it gets
        start = build(keras, args["arch"])
        start.set_weights(pruned_weights)
        m = experimental.cluster_weights(start, number_of_clusters=k, cluster_centroids_init=init,
                                         preserve_sparsity=sparsity > 0)
        fit(m, args["cluster_lr"])
        m = tfmot.clustering.keras.strip_clustering(m)
        name = f"tfmot s={sparsity:g} K={k}"
        path = os.path.join(args["out"], f"tfmot-s{sparsity}-k{k}.tflite")
        convert(m, path)
        xt = d["xt"]
        acc = float(np.mean(np.argmax(m.predict(xt, batch_size=512, verbose=0), 1) == d["yt"]))
        out[name] = {"path": path, "sparsity": sparsity, "k": k, "acc_float": acc,
                     "seconds": t_prune + time.perf_counter() - t1}
print("TFMOT_RESULT " + json.dumps(out))
'''


def tfmot_rows(ds: DataSet, base, cache: Path, epochs: int, batch: int) -> list[Row]:
    """tfmot fine-tuned on the teacher's predicted classes (the information mcuq's unlabeled
    distillation has), and on the true labels (more than mcuq's grid gets)."""
    from mcuq.compression.distill import predict

    teacher = [np.argmax(predict(base, [a])[0], axis=1) for a in (ds.x, ds.xv)]
    rows = _tfmot_rows(ds, base, cache, epochs, batch, "teacher classes", teacher)
    return rows + _tfmot_rows(ds, base, cache, epochs, batch, "labels", [ds.y, ds.yv])


def _tfmot_rows(ds: DataSet, base, cache: Path, epochs: int, batch: int, what: str,
                targets) -> list[Row]:
    from mcuq.compression.pipeline import PRUNE_LEARNING_RATE, cluster_learning_rate

    cluster_lr = cluster_learning_rate(len(ds.x), batch, epochs)  # what mcuq uses

    try:
        from importlib import metadata

        version = metadata.version("tensorflow-model-optimization")
        metadata.version("tf_keras")
    except Exception:  # noqa: BLE001
        print("tfmot: tensorflow-model-optimization / tf_keras not installed "
              "(pip install -e '.[bench]'): comparison skipped")
        return []
    tag = "" if what == "labels" else "-teacher"
    out_dir = cache / f"tfmot-{ds.name}-e{epochs}-lr{PRUNE_LEARNING_RATE:g}-{cluster_lr:g}{tag}"
    result_file = out_dir / "result.json"
    if not result_file.exists():
        out_dir.mkdir(exist_ok=True)
        weights = out_dir / "weights.npz"
        np.savez(weights, **{f"w{i}": w for i, w in enumerate(base.get_weights())})
        data = out_dir / "data.npz"
        np.savez(data, x=ds.x, y=targets[0], xv=ds.xv, yv=targets[1], xt=ds.xt, yt=ds.yt,
                 calib=ds.calib)
        args = {"data": str(data), "weights": str(weights), "arch": ARCH[ds.name],
                "epochs": epochs, "batch": batch, "seed": SEED, "out": str(out_dir),
                "prune_lr": PRUNE_LEARNING_RATE, "cluster_lr": cluster_lr,
                "configs": [[0.5, [16, 4]], [0.75, [16]]]}
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
        print(f"tfmot {version} (child process, tf_keras), fine-tuned on {what}: "
              f"{args['configs']}", flush=True)
        proc = subprocess.run([sys.executable, "-c", TFMOT_CHILD, json.dumps(args)], env=env,
                              stdout=subprocess.PIPE, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("TFMOT_RESULT ")]
        if proc.returncode != 0 or not lines:
            print(proc.stdout[-3000:])
            print(f"tfmot child failed (exit {proc.returncode})")
            return []
        result_file.write_text(lines[-1][len("TFMOT_RESULT "):])
        data.unlink()
    rows = []
    for name, r in json.loads(result_file.read_text()).items():
        name += " (labels)" if what == "labels" else ""
        rows.append(measure(name, Path(r["path"]).read_bytes(), ds, r["sparsity"], r["k"],
                            r["acc_float"], r["seconds"]))
        _print_row(rows[-1])
    return rows


# --------------------------------------------------------------------------------------------
# Importance criteria
# --------------------------------------------------------------------------------------------

def importance_table(ds: DataSet, base, epochs: int, batch: int) -> None:
    import mcuq

    print(f"\n== {ds.name}: channel importance (prune, then distil {epochs} epoch(s))")
    rows = []
    for p in (0.5, 0.75):
        for crit in ("l1", "l2", "bn", "activation"):
            r0 = mcuq.compress(base, ds.x, val_data=ds.xv, prune=p, importance=crit, epochs=0,
                               seed=SEED)
            r1 = mcuq.compress(base, ds.x, val_data=ds.xv, prune=p, importance=crit,
                               epochs=epochs, batch_size=batch, seed=SEED, patience=epochs)
            rows.append([f"{p:g}", crit, f"{100 * float_accuracy(r0.student, ds):.2f}",
                         f"{100 * float_accuracy(r1.student, ds):.2f}"])
            print("  ".join(rows[-1]), flush=True)
    from mcuq.report.common import table

    print(table(rows, ["prune", "importance", "test acc no fine-tune %",
                       f"test acc after {epochs} ep %"], "llrr"))


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def _print_row(r: Row) -> None:
    print(f"  {r.name:22s} int8 acc {100 * r.acc_int8:6.2f}%  MACs {r.macs:>10,}  packed "
          f"{r.packed_weight_bytes:>8,} B  arena {r.arena_tflm or r.arena_plan:>7,} B  "
          f"({r.seconds:.0f} s)", flush=True)


def pareto(rows: list[Row]) -> list[Row]:
    def dominated(a: Row) -> bool:
        return any(b is not a and b.acc_int8 >= a.acc_int8 and b.packed_weight_bytes <=
                   a.packed_weight_bytes and b.macs <= a.macs and
                   (b.acc_int8 > a.acc_int8 or b.packed_weight_bytes < a.packed_weight_bytes
                    or b.macs < a.macs) for b in rows)
    return [r for r in rows if not dominated(r)]


def report(ds: DataSet, rows: list[Row], targets: bool) -> dict:
    from mcuq.report.common import table

    base = rows[0]
    front = {id(r) for r in pareto(rows)}
    out = []
    for r in rows:
        out.append([r.name, "-" if r.acc_float is None else f"{100 * r.acc_float:.2f}",
                    f"{100 * r.acc_int8:.2f}", f"{100 * (r.acc_int8 - base.acc_int8):+.2f}",
                    f"{r.macs:,}", f"{base.macs / r.macs:.2f}x", f"{r.weight_bytes:,}",
                    f"{r.packed_weight_bytes:,}", f"{base.weight_bytes / r.packed_weight_bytes:.2f}x",
                    f"{r.packed_flash_bytes:,}", f"{r.arena_tflm or 0:,}", f"{r.arena_plan:,}",
                    str(r.max_distinct), "*" if id(r) in front else ""])
    print(f"\n== {ds.name}: test accuracy on {len(ds.yt):,} images; int8 = mcuq's reference "
          "(== TFLite Micro)")
    print(table(out, ["model", "float %", "int8 %", "vs base", "MACs", "fewer",
                      "int8 weights B", "packed B", "smaller", "packed flash B",
                      "TFLM arena B", "plan B", "K max", "pareto"], "lrrrrrrrrrrrrl"))
    print("\nPareto front (int8 accuracy up, packed weights down, MACs down):")
    for r in sorted(pareto(rows), key=lambda r: r.packed_weight_bytes):
        print(f"  {r.name:22s} {100 * r.acc_int8:.2f}%  {r.packed_weight_bytes:,} B packed "
              f"({base.weight_bytes / r.packed_weight_bytes:.2f}x smaller)  {r.macs:,} MACs "
              f"({base.macs / r.macs:.2f}x fewer)")
    summary = {"dataset": ds.name, "rows": [vars(r) for r in rows]}
    if targets:
        ok = [r for r in rows if r.name.startswith("mcuq") and "labels" not in r.name and
              round(100 * (base.acc_int8 - r.acc_int8), 6) <= 1.0 and
              base.weight_bytes / r.packed_weight_bytes >= 4.0 and base.macs / r.macs >= 2.0]
        if ok:
            best = max(ok, key=lambda r: (base.weight_bytes / r.packed_weight_bytes, r.acc_int8))
            print(f"\ntargets (<= 1.0 point below int8 baseline, >= 4x smaller packed weights, "
                  f">= 2x fewer MACs): MET by {', '.join(r.name for r in ok)}; e.g. {best.name}: "
                  f"{100 * (best.acc_int8 - base.acc_int8):+.2f} points, "
                  f"{base.weight_bytes / best.packed_weight_bytes:.2f}x smaller packed weights, "
                  f"{base.macs / best.macs:.2f}x fewer MACs")
        else:
            print("\ntargets (<= 1.0 point below int8 baseline, >= 4x smaller packed weights, "
                  ">= 2x fewer MACs): NOT MET by any grid cell")
        summary["targets_met_by"] = [r.name for r in ok]
    return summary


def main() -> None:
    import mcuq

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["fashion", "digits"], default=None)
    ap.add_argument("--epochs", type=int, default=None,
                    help="Fine-tuning epochs per step (default: 3 Fashion-MNIST, 10 digits).")
    ap.add_argument("--no-tfmot", action="store_true")
    ap.add_argument("--per-layer", action="store_true",
                    help="K values per layer (default: per output channel, which the packed "
                         "format's per-channel tables store at the same cost).")
    ap.add_argument("--skip-grid", action="store_true",
                    help="Baseline and tfmot only (e.g. to fill the cache in parallel).")
    ap.add_argument("--importance", action="store_true",
                    help="Also compare channel importance criteria.")
    ap.add_argument("--json", default=None, help="Write every figure to this JSON file.")
    args = ap.parse_args()
    cache, cells = cache_dirs()
    print(f"cache: {cells}")
    sets = []
    if args.only in (None, "digits"):
        sets.append((digits, args.epochs or 10, 32, False))
    if args.only in (None, "fashion"):
        sets.append((fashion, args.epochs or 3, 128, True))
    summaries = []
    for loader, epochs, batch, targets in sets:
        ds = loader()
        base, trained = baseline(ds, cache)
        print(f"\n== {ds.name}: {len(ds.x):,} train (unlabeled for compress), "
              f"{len(ds.xv):,} validation, {len(ds.yt):,} test; baseline "
              + (f"trained in {trained:.0f} s" if trained else "from cache")
              + f"; fine-tuning {epochs} epoch(s) per step", flush=True)
        if args.importance:
            importance_table(ds, base, 1 if ds.name == "fashion-mnist" else 3, batch)
        if args.skip_grid:
            rows = [measure("baseline", mcuq.convert(base, ds.calib), ds, 0.0, None,
                            float_accuracy(base, ds))]
        else:
            rows = grid(ds, base, cells, epochs, batch, per_channel=not args.per_layer)
        if not args.no_tfmot:
            rows += tfmot_rows(ds, base, cache, epochs, batch)
        summaries.append(report(ds, rows, targets))
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=2))


if __name__ == "__main__":
    main()
