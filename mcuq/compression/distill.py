"""Fine-tuning by distillation: the student learns the teacher's outputs (and labels, if any).

Loss per model output, against the teacher's output on the same sample (computed once):
- an output whose rows are probability distributions (non-negative, summing to 1: a softmax
  classifier): KL(teacher || student) of the temperature-softened distributions,
  softmax(log p / T), times T^2 (Hinton et al.; log p recovers the logits up to a constant,
  which softmax ignores);
- any other output: mean squared error.
With labels (first output): alpha x task loss + (1 - alpha) x distillation, the task loss being
cross-entropy with the integer class (on probabilities, or on logits for a non-softmax
classifier) or MSE for real-valued targets.

Training: Adam, shuffled mini-batches from `seed`, the student in training mode (dropout,
BatchNorm batch statistics). Tied weights (clustering.ClusteredWeight): the kernel's gradient
is summed per centroid (unsorted_segment_sum over the labels), the optimizer moves the
centroids (pinned ones have a zero mask) and every step writes centroids[labels] back into the
kernel, so the kernel never holds more than K values. After each epoch the validation data
gives the top-1 agreement with the teacher (classifiers) or the SQNR (other outputs); training
stops after `patience` epochs without improvement and the best epoch's weights are restored --
epoch 0, the student before fine-tuning, included.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .. import metrics

SOFTMAX_TOLERANCE = 1e-3
EPSILON = 1e-12


@dataclass
class EpochRecord:
    epoch: int
    loss: float | None  # mean training loss (None for epoch 0)
    agreement: float | None
    sqnr_db: float | None
    accuracy: float | None


@dataclass
class FitHistory:
    stage: str
    epochs: int  # asked for
    epochs_run: int
    best_epoch: int
    stopped_early: bool
    seconds: float
    records: list[EpochRecord] = field(default_factory=list)


def output_kinds(teacher_outputs: list[np.ndarray]) -> list[str]:
    """"softmax" for outputs whose rows are distributions, else "mse"."""
    kinds = []
    for t in teacher_outputs:
        flat = t.reshape(t.shape[0], -1).astype(np.float64)
        dist = (flat.shape[1] > 1 and flat.min() >= 0.0
                and np.all(np.abs(flat.sum(axis=1) - 1.0) < SOFTMAX_TOLERANCE))
        kinds.append("softmax" if dist else "mse")
    return kinds


def is_classifier(outputs: list[np.ndarray]) -> bool:
    o = outputs[0]
    return o.ndim == 2 and o.shape[1] > 1


def call_model(model, xs, training: bool):
    """The model on a list of input batches; a flat list of output tensors."""
    import tensorflow as tf

    struct = getattr(model, "input", None)
    if isinstance(struct, dict):  # xs follow model.inputs
        order = [id(t) for t in model.inputs]
        arg = {k: xs[order.index(id(t))] for k, t in struct.items()}
    elif isinstance(struct, (list, tuple)) or len(xs) > 1:
        arg = list(xs)  # a model built on a list of inputs wants a list, even of one
    else:
        arg = xs[0]
    return tf.nest.flatten(model(arg, training=training))


def predict(model, xs: list[np.ndarray], chunk: int = 512) -> list[np.ndarray]:
    """Inference (training=False) in chunks, as numpy."""
    n = xs[0].shape[0]
    parts = [call_model(model, [x[i:i + chunk] for x in xs], False) for i in range(0, n, chunk)]
    return [np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(len(parts[0]))]


def evaluate(teacher_outs: list[np.ndarray], student_outs: list[np.ndarray],
             labels: np.ndarray | None) -> dict:
    """agreement (top-1 with the teacher), sqnr_db, accuracy (with labels) on the first output."""
    t, s = teacher_outs[0], student_outs[0]
    out = {"agreement": metrics.top1_agreement(t, s) if is_classifier([t]) else None,
           "sqnr_db": metrics.sqnr_db(t, s),
           "accuracy": metrics.accuracy(s, labels) if labels is not None else None}
    return out


def task_kind(output: np.ndarray, kind: str, labels: np.ndarray) -> str:
    """How the labels score the first output: ce_probs, ce_logits or mse."""
    if labels.ndim == 1 and output.ndim == 2 and output.shape[1] > 1:
        if not np.issubdtype(labels.dtype, np.integer):
            raise InputError("labels must be integer class indices for a classifier output",
                             "save the labels as integers (or one-hot rows)")
        bad = (labels < 0) | (labels >= output.shape[1])
        if bad.any():
            raise InputError(f"label {int(labels[np.argmax(bad)])} is outside the model's "
                             f"{output.shape[1]} classes",
                             "labels must be class indices 0..classes-1")
        return "ce_probs" if kind == "softmax" else "ce_logits"
    if labels.shape[1:] == output.shape[1:]:
        return "mse"
    raise InputError(f"labels shaped {labels.shape[1:]} do not match the first output "
                     f"{output.shape[1:]}",
                     "pass integer class labels (N,) for a classifier, or targets shaped like "
                     "the output")


def fine_tune(student, x: list[np.ndarray], teacher_out: list[np.ndarray],
              x_val: list[np.ndarray], teacher_val: list[np.ndarray], *, epochs: int,
              labels: np.ndarray | None = None, val_labels: np.ndarray | None = None,
              tied: list | None = None, batch_size: int = 64, learning_rate: float = 1e-3,
              temperature: float = 4.0, alpha: float = 0.5, patience: int = 2, seed: int = 0,
              progress: bool = False, stage: str = "fine-tune") -> FitHistory:
    """Distil the teacher's outputs into `student` for up to `epochs` epochs (in place)."""
    from tqdm import tqdm

    from ..sources import import_keras, import_tf

    tf = import_tf()
    keras = import_keras()
    start = time.perf_counter()
    tied = list(tied or [])
    kinds = output_kinds(teacher_out)
    classifier = is_classifier(teacher_out)
    task = task_kind(teacher_out[0], kinds[0], labels) if labels is not None else None

    def score(rec: EpochRecord) -> tuple:
        if classifier:  # agreement first, SQNR breaks ties
            return (rec.agreement, rec.sqnr_db)
        return (rec.sqnr_db,)

    def validate(epoch: int, loss) -> EpochRecord:
        m = evaluate(teacher_val, predict(student, x_val), val_labels)
        return EpochRecord(epoch, loss, m["agreement"], m["sqnr_db"], m["accuracy"])

    history = FitHistory(stage=stage, epochs=epochs, epochs_run=0, best_epoch=0,
                         stopped_early=False, seconds=0.0)
    best = validate(0, None)
    history.records.append(best)
    if epochs <= 0:
        history.seconds = round(time.perf_counter() - start, 3)
        return history

    tied_ids = {id(cw.variable) for cw in tied}
    free = [v for v in student.trainable_variables if id(v) not in tied_ids]
    kernels = [cw.variable for cw in tied]
    centroids = [keras.Variable(cw.centroids.reshape(-1), trainable=True,
                                name=f"{cw.layer}_{cw.weight}_centroids") for cw in tied]
    label_ts = [tf.constant(cw.labels.reshape(-1)) for cw in tied]
    masks = [tf.constant(cw.trainable.reshape(-1)) for cw in tied]
    shapes = [tuple(cw.shape) for cw in tied]
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    T = float(temperature)
    a = float(alpha)

    def distill_term(o, t, kind):
        if kind == "softmax":
            lt = tf.math.log(tf.clip_by_value(t, EPSILON, 1.0)) / T
            ls = tf.math.log(tf.clip_by_value(o, EPSILON, 1.0)) / T
            lt = tf.reshape(lt, [tf.shape(lt)[0], -1])
            ls = tf.reshape(ls, [tf.shape(ls)[0], -1])
            pt = tf.nn.softmax(lt)
            kl = tf.reduce_sum(pt * (tf.nn.log_softmax(lt) - tf.nn.log_softmax(ls)), axis=-1)
            return T * T * tf.reduce_mean(kl)
        return tf.reduce_mean(tf.square(o - t))

    def task_term(o, y):
        if task == "ce_probs":
            p = tf.gather(o, y, axis=1, batch_dims=1)
            return -tf.reduce_mean(tf.math.log(tf.clip_by_value(p, EPSILON, 1.0)))
        if task == "ce_logits":
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, o))
        return tf.reduce_mean(tf.square(o - tf.cast(y, o.dtype)))

    def loss_of(outs, ts, y):
        total = 0.0
        for k, (o, t, kind) in enumerate(zip(outs, ts, kinds)):
            d = distill_term(o, t, kind)
            if k == 0 and y is not None:
                d = a * task_term(o, y) + (1.0 - a) * d
            total = total + d
        if student.losses:
            total = total + tf.add_n(student.losses)
        return total

    def step_body(xs, ts, y):
        with tf.GradientTape() as tape:
            outs = call_model(student, list(xs), True)
            loss = loss_of(outs, list(ts), y)
        grads = tape.gradient(loss, free + kernels)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, free + kernels)]
        g_free, g_kern = grads[:len(free)], grads[len(free):]
        g_cent = [tf.math.unsorted_segment_sum(tf.reshape(g, [-1]), lab, tf.size(m)) * m
                  for g, lab, m in zip(g_kern, label_ts, masks)]
        optimizer.apply(g_free + g_cent, free + centroids)
        for kvar, c, lab, shape in zip(kernels, centroids, label_ts, shapes):
            kvar.assign(tf.reshape(tf.gather(c, lab), shape))
        return loss

    if labels is None:
        step = tf.function(lambda xs, ts: step_body(xs, ts, None), reduce_retracing=True)
    else:
        step = tf.function(step_body, reduce_retracing=True)

    rng = np.random.default_rng(seed)
    n = x[0].shape[0]
    batches = max(1, -(-n // batch_size))
    best_weights = [np.array(w) for w in student.get_weights()]
    best_centroids = [cw.centroids.copy() for cw in tied]
    since_best = 0
    stream = sys.stderr
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        bar = tqdm(total=batches, desc=f"{stage} {epoch}/{epochs}", unit="batch", file=stream,
                   disable=None if progress else True, leave=True, dynamic_ncols=True)
        total, seen = 0.0, 0
        with bar:
            for b in range(batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                xs = tuple(tf.constant(v[idx]) for v in x)
                ts = tuple(tf.constant(v[idx]) for v in teacher_out)
                if labels is None:
                    loss = step(xs, ts)
                else:
                    loss = step(xs, ts, tf.constant(labels[idx]))
                total += float(loss) * len(idx)
                seen += len(idx)
                bar.update(1)
                if b % 20 == 0:
                    bar.set_postfix(loss=f"{total / seen:.4f}")
            rec = validate(epoch, total / max(seen, 1))
            post = {"loss": f"{rec.loss:.4f}"}
            if rec.agreement is not None:
                post["val_agreement"] = f"{rec.agreement:.2%}"
            else:
                post["val_sqnr"] = f"{rec.sqnr_db:.1f}dB"
            bar.set_postfix(post)
        history.records.append(rec)
        history.epochs_run = epoch
        if score(rec) > score(best):
            best, since_best = rec, 0
            history.best_epoch = epoch
            best_weights = [np.array(w) for w in student.get_weights()]
            best_centroids = [np.asarray(c.numpy()).reshape(cw.centroids.shape)
                              for c, cw in zip(centroids, tied)]
        else:
            since_best += 1
            if since_best >= patience and epoch < epochs:
                history.stopped_early = True
                break
    student.set_weights(best_weights)
    for cw, c in zip(tied, best_centroids):
        cw.centroids = c.astype(np.float32)
    history.seconds = round(time.perf_counter() - start, 3)
    return history
