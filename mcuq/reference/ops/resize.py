"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (Keras UpSampling2D / Resizing), NHWC.

TFLite Micro semantics (tensorflow/lite/micro/kernels/resize_*.cc, kernels/internal/reference/
resize_nearest_neighbor.h and resize_bilinear.h):
  both: 4-D input, constant int32 `size` of 2 elements (Prepare refuses a non-constant one);
        the output's H, W are size's values; quantization is not touched (raw int8 values move
        or interpolate), so mcuq refuses int8 input/output quantized differently.
  NEAREST (int8, int16): per output row/column, GetNearestNeighbor in float32:
        scale = (in - 1) / (out - 1) with align_corners (out > 1), else in / out;
        v = (index + 0.5 if half_pixel_centers else index) * scale;
        source = min(round(v) if align_corners else floor(v), in - 1), and max(0, .) with
        half_pixel_centers. (round: half away from zero.)
  BILINEAR (int8): ResizeBilinearInteger, no floating point: scale_10 =
        ((1 << 10) * in + out / 2) / out (align_corners: (in - 1), (out - 1)); source position
        (Q10) = index * scale_10 (+ scale_10 / 2 - 512 with half_pixel_centers); y0 =
        max(pos / 1024, 0) (C division), y1 = min(ceil, in - 1); the four products in int64,
        rounded half away from zero by 2^20 and cast to int8 (a convex combination: the
        border positions clamp lo == hi, so the cast never leaves the int8 range).
        align_corners together with half_pixel_centers is refused (as TFLM's Prepare does).
Both kernels work from per-row and per-column tables computed here once; the C target
(firmware/kernels/resize.c) reads the same tables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, check_signature, register, unsupported
from .select import check_same_quantization, check_types
from .shape import _check_nonempty


def _prepare_common(op, model, sig, types):
    x, size = check_signature(op, model, sig)
    (y,) = model.op_outputs(op)
    if len(x.shape) != 4:
        raise unsupported(op, model, f"input {list(x.shape)} is not 4-D",
                          f"TFLite Micro's {op.opcode} handles NHWC tensors")
    if size.type_name != "INT32" or len(size.shape) != 1 or size.shape[0] != 2:
        raise unsupported(op, model, f"size '{size.name}' is {size.type_name} "
                          f"{list(size.shape)}", "size must be 2 int32 values (height, width)")
    check_types(op, model, [x, y], types)
    out_h, out_w = (int(v) for v in np.asarray(size.data).reshape(-1))
    if out_h < 1 or out_w < 1:
        raise unsupported(op, model, f"size {[out_h, out_w]}", "the size must be positive")
    expect = (x.shape[0], out_h, out_w, x.shape[3])
    if tuple(y.shape) != expect:
        raise unsupported(op, model, f"output {list(y.shape)} does not match size "
                          f"{[out_h, out_w]}", "the model file is inconsistent; re-convert it")
    check_same_quantization(op, model, x, [y])
    _check_nonempty(op, model, x)
    align = bool(op.options.get("align_corners", False))
    half = bool(op.options.get("half_pixel_centers", False))
    return x, y, align, half


def nearest_indices(in_size: int, out_size: int, align: bool, half: bool) -> np.ndarray:
    """GetNearestNeighbor for every output index, float32 arithmetic as TFLM's."""
    f32 = np.float32
    if align and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    v = (np.arange(out_size, dtype=f32) + f32(0.5 if half else 0.0)) * scale
    v = v.astype(f32)
    src = fp.round_away(v.astype(np.float64)) if align else np.floor(v.astype(np.float64))
    src = np.minimum(src.astype(np.int64), in_size - 1)
    if half:
        src = np.maximum(src, 0)
    return src


@dataclass
class NearestParams:
    rows: np.ndarray  # int64 (out_h,) source row per output row
    cols: np.ndarray  # int64 (out_w,)
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    elem_size: int


@register("RESIZE_NEAREST_NEIGHBOR")
class ResizeNearest:
    SIGNATURE = Signature(inputs=("input", "size"), constant=("size",))

    @staticmethod
    def prepare(op, model) -> NearestParams:
        x, y, align, half = _prepare_common(op, model, ResizeNearest.SIGNATURE,
                                            ("INT8", "INT16"))
        _, h, w, _ = x.shape
        return NearestParams(nearest_indices(h, y.shape[1], align, half),
                             nearest_indices(w, y.shape[2], align, half),
                             tuple(x.shape), tuple(y.shape), x.dtype.itemsize)

    @staticmethod
    def run(p: NearestParams, inputs):
        x = inputs[0]
        return [np.ascontiguousarray(x[:, :, p.rows][:, :, :, p.cols])]


def _c_div(a: np.ndarray, b: int) -> np.ndarray:
    """C integer division (truncation toward zero) of int64 a by positive b."""
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def bilinear_axis(in_size: int, out_size: int, align: bool, half: bool):
    """ComputeInterpolationValuesInteger for every output index: (lo, hi, frac) int64 arrays,
    frac = position - 1024 * lo (may be negative with half_pixel_centers)."""
    if align and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    idx = np.arange(out_size, dtype=np.int64)
    pos = idx * scale + (scale // 2 - (1 << 9) if half else 0)
    lo = np.maximum(_c_div(pos, 1 << 10), 0)
    hi = np.minimum(_c_div(pos + (1 << 10) - 1, 1 << 10), in_size - 1)
    return lo, hi, pos - (lo << 10)


@dataclass
class BilinearParams:
    y0: np.ndarray
    y1: np.ndarray
    wy: np.ndarray  # Q10 fraction towards y1
    x0: np.ndarray
    x1: np.ndarray
    wx: np.ndarray
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@register("RESIZE_BILINEAR")
class ResizeBilinear:
    SIGNATURE = Signature(inputs=("input", "size"), constant=("size",))

    @staticmethod
    def prepare(op, model) -> BilinearParams:
        x, y, align, half = _prepare_common(op, model, ResizeBilinear.SIGNATURE, ("INT8",))
        if align and half:
            raise unsupported(op, model, "align_corners and half_pixel_centers are both set",
                              "TFLite Micro refuses this (if half_pixel_centers is True, "
                              "align_corners must be False)")
        _, h, w, _ = x.shape
        y0, y1, wy = bilinear_axis(h, y.shape[1], align, half)
        x0, x1, wx = bilinear_axis(w, y.shape[2], align, half)
        if y0.max() > h - 1 or x0.max() > w - 1:
            raise unsupported(op, model, "the integer source position passes the last "
                              "row/column", "TFLite Micro would read past the input; "
                              "choose another output size")
        return BilinearParams(y0, y1, wy, x0, x1, wx, tuple(x.shape), tuple(y.shape))

    @staticmethod
    def run(p: BilinearParams, inputs):
        x = inputs[0].astype(np.int64)
        one = np.int64(1 << 10)
        r0, r1 = x[:, :, p.y0], x[:, :, p.y1]  # (B, N, OH, W, C)
        wy = p.wy[None, None, :, None, None]
        wx = p.wx[None, None, None, :, None]
        v00, v01 = r0[:, :, :, p.x0], r0[:, :, :, p.x1]
        v10, v11 = r1[:, :, :, p.x0], r1[:, :, :, p.x1]
        acc = (v00 * (one - wy) * (one - wx) + v10 * wy * (one - wx)
               + v01 * (one - wy) * wx + v11 * wy * wx)
        rnd = np.where(acc > 0, np.int64(1 << 19), np.int64(-(1 << 19)))
        out = _c_div(acc + rnd, 1 << 20)
        return [np.ascontiguousarray(out.astype(np.int8))]
