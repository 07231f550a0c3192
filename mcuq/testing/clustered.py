"""Models with shared weights, without training, for tests and benchmarks of the packed C
target and of TFLite Micro's compression on real (zoo) graphs.

- `clustered_zoo(name, k)`: the zoo's float Keras model with every kernel clustered to k values
  per output channel (1-D k-means, mcuq.compression.clustering, no fine-tuning), converted by
  mcuq's converter (cached like the zoo): what `mcuq compress --cluster k` + `convert` give,
  minus the training.
- `clustered(data, k)`: a converted model's int8 weights (CONV_2D, DEPTHWISE_CONV_2D,
  FULLY_CONNECTED, TRANSPOSE_CONV, constant BATCH_MATMUL right-hand side) snapped to at most
  k values per output channel (or per tensor), the rest of the flatbuffer untouched.

    data = clustered_zoo("ds_cnn", 16)                    # <= 16 values per channel
    data = clustered(zoo["cnn"], 4, per_channel=False)    # <= 4 values per tensor
"""
from __future__ import annotations

import numpy as np

from ..model import load_model, schema
from ..packing import C_PACKED_OPS, weight_axis


def snap(values: np.ndarray, k: int) -> np.ndarray:
    """int8 values snapped to at most k levels evenly spread over their range (each value to
    the nearest level; levels that round to the same int8 merge)."""
    v = np.asarray(values, np.int64)
    if v.size == 0:
        return v.astype(np.int8)
    levels = np.unique(np.round(np.linspace(v.min(), v.max(), k)).astype(np.int64))
    return levels[np.abs(v[..., None] - levels).argmin(axis=-1)].astype(np.int8)


def replace_constants(data: bytes, arrays: dict[int, np.ndarray]) -> bytes:
    """A copy of the .tflite `data` whose constant tensors {index: values} hold new values (same
    shape and dtype; each gets a buffer of its own)."""
    import flatbuffers

    s = schema()
    raw = s.ModelT.InitFromPackedBuf(data, 0)
    sg = raw.subgraphs[0]
    users: dict[int, int] = {}
    for g in raw.subgraphs:
        for t in g.tensors or []:
            users[t.buffer] = users.get(t.buffer, 0) + 1
    for i, values in arrays.items():
        payload = np.frombuffer(np.ascontiguousarray(values).tobytes(), np.uint8)
        old = sg.tensors[i].buffer
        if users.get(old, 0) == 1 and old > 0:  # its own buffer: rewrite it in place
            raw.buffers[old].data = payload
            continue
        buf = s.BufferT()
        buf.data = payload
        raw.buffers.append(buf)
        sg.tensors[i].buffer = len(raw.buffers) - 1
    fb = flatbuffers.Builder(max(1024, len(data)))
    fb.Finish(raw.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def clustered(data: bytes, k: int, per_channel: bool = True) -> bytes:
    """`data` with every packable weight tensor snapped to <= k values per channel (or per
    tensor when per_channel is False)."""
    m = load_model(data)
    new: dict[int, np.ndarray] = {}
    for op in m.operators:
        if op.opcode not in C_PACKED_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = m.tensors[op.inputs[1]]
        axis = weight_axis(m, op)
        if t.data is None or t.type_name != "INT8" or t.index in new or axis is None:
            continue
        if per_channel:
            moved = np.moveaxis(t.data, axis, 0)
            snapped = np.stack([snap(c, k) for c in moved]) if moved.shape[0] else moved
            new[t.index] = np.moveaxis(snapped, 0, axis).astype(np.int8)
        else:
            new[t.index] = snap(t.data, k)
    return replace_constants(m.data, new) if new else m.data


def clustered_zoo(name: str, k: int, per_channel: bool = True, seed: int = 0,
                  cache_dir=None) -> bytes:
    """The zoo model `name` with its float kernels clustered to k shared values (per output
    channel, or per layer), converted to full int8 (cached on disk, keyed like the zoo)."""
    from pathlib import Path

    from ..conversion import write_atomic
    from .zoo import cache_key, default_cache_dir

    folder = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / cache_key()
    path = folder / f"{name}-k{k}{'c' if per_channel else 'l'}-s{seed}.tflite"
    if path.exists():
        return path.read_bytes()
    from ..compression.clustering import cluster_model
    from ..conversion import convert_model
    from .zoo import build_keras, calibration

    model = build_keras(name, seed)
    cluster_model(model, k, per_channel=per_channel)
    data = convert_model(model, calibration(name, seed=seed), seed=0).data
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    return data


__all__ = ["clustered", "clustered_zoo", "snap", "replace_constants"]
