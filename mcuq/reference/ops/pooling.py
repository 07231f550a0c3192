"""AVERAGE_POOL_2D and MAX_POOL_2D, int8 (TFLM reference_integer_ops::AveragePool / MaxPool).

Both clip the window to the image (padding is never read). Average pool divides the window
sum by the number of pixels inside the image, rounding half away from zero with C's
truncating division; max pool starts from -128. Input and output quantization must be equal
(TFLM's Prepare checks it); the fused activation clamps the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fp
from ..registry import Signature, register, require_int8, unsupported
from .conv import Padding, spatial_options, windows


@dataclass
class PoolParams:
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    padding: Padding
    act_min: int
    act_max: int
    input_shape: tuple[int, ...]  # NHWC
    output_shape: tuple[int, ...]  # NHWC


def _valid_counts(size: int, out: int, stride: int, pad: int, filt: int) -> np.ndarray:
    """Per output position: how many window taps fall inside [0, size)."""
    origin = np.arange(out, dtype=np.int64) * stride - pad
    start = np.maximum(0, -origin)
    end = np.minimum(filt, size - origin)
    return np.maximum(end - start, 0)


def pool_geometry(op, model, x, y):
    """(filter h, w, stride h, w, padding) of a pooling op, refusing what TFLite Micro
    cannot run. Shared by the int8 and int16 kernels."""
    fh, fw = int(op.options.get("filter_height", 1)), int(op.options.get("filter_width", 1))
    if fh < 1 or fw < 1:
        raise unsupported(op, model, f"filter size ({fh}, {fw})", "filters must be positive")
    _, sh, sw, _, _, pad = spatial_options(op, model, x, y, fh, fw, dilation=False)
    if x.shape[3] != y.shape[3]:
        raise unsupported(op, model, f"input channels {x.shape[3]} != output {y.shape[3]}",
                          "re-convert the model")
    ch = _valid_counts(x.shape[1], pad.out_h, sh, pad.pad_h, fh)
    cw = _valid_counts(x.shape[2], pad.out_w, sw, pad.pad_w, fw)
    if (ch == 0).any() or (cw == 0).any():
        raise unsupported(op, model, "a pooling window lies entirely in the padding",
                          "TFLite Micro fails on such windows; change filter/stride/padding")
    return fh, fw, sh, sw, pad


def _prepare(op, model) -> PoolParams:
    (x,) = model.op_inputs(op)[:1]
    (y,) = model.op_outputs(op)
    require_int8(op, model, (x, y))
    if (abs(float(np.float32(x.scale)) - float(np.float32(y.scale))) > 1e-6
            or x.zero_point != y.zero_point):
        raise unsupported(op, model, f"input scale/zero point ({x.scale}, {x.zero_point}) "
                          f"differ from the output's ({y.scale}, {y.zero_point})",
                          "TFLite Micro requires equal input and output quantization for "
                          "pooling; re-convert the model")
    fh, fw, sh, sw, pad = pool_geometry(op, model, x, y)
    lo, hi = fp.activation_range(op.options.get("fused_activation_function", "NONE"),
                                 y.scale, y.zero_point)
    return PoolParams(fh, fw, sh, sw, pad, lo, hi, tuple(x.shape), tuple(y.shape))


def _windows(p: PoolParams, x: np.ndarray, fill: int) -> np.ndarray:
    batch = x.shape[0]
    n, h, w, c = p.input_shape
    return windows(x.reshape(batch * n, h, w, c), fill, p.filter_h, p.filter_w,
                   p.stride_h, p.stride_w, 1, 1, p.padding)


def round_div_away(acc: np.ndarray, count: np.ndarray) -> np.ndarray:
    """TFLM's average rounding: acc > 0 ? (acc + n/2) / n : (acc - n/2) / n, C division."""
    half = count // 2
    return np.where(acc > 0, (acc + half) // count, -((-acc + half) // count))


@register("AVERAGE_POOL_2D")
class AveragePool2D:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model) -> PoolParams:
        return _prepare(op, model)

    @staticmethod
    def run(p: PoolParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        win = _windows(p, x, 0)  # padding adds 0 to the sum and is not counted
        acc = win[..., 0, 0].astype(np.int64)  # (N, OH, OW, C), tap by tap (see MaxPool2D)
        for i in range(win.shape[4]):
            for j in range(win.shape[5]):
                if i or j:
                    acc += win[..., i, j]
        h, w = p.input_shape[1:3]
        ch = _valid_counts(h, p.padding.out_h, p.stride_h, p.padding.pad_h, p.filter_h)
        cw = _valid_counts(w, p.padding.out_w, p.stride_w, p.padding.pad_w, p.filter_w)
        count = (ch[:, None] * cw[None, :])[None, :, :, None]
        out = np.clip(round_div_away(acc, count), p.act_min, p.act_max).astype(np.int8)
        return [out.reshape(batch, *p.output_shape)]


@register("MAX_POOL_2D")
class MaxPool2D:
    SIGNATURE = Signature(("input",))

    @staticmethod
    def prepare(op, model) -> PoolParams:
        return _prepare(op, model)

    @staticmethod
    def run(p: PoolParams, inputs):
        x = inputs[0]
        batch = x.shape[0]
        win = _windows(p, x, -128)  # padding never beats the int8 lowest start value
        # tap by tap: elementwise maxima of strided views (a reduction over the two small
        # window axes of the 6-D view is several times slower)
        out = win[..., 0, 0].copy()
        for i in range(win.shape[4]):
            for j in range(win.shape[5]):
                if i or j:
                    np.maximum(out, win[..., i, j], out=out)
        out = np.clip(out, p.act_min, p.act_max).astype(np.int8)
        return [out.reshape(batch, *p.output_shape)]
