"""Space/batch/depth rearrangements: SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (what TensorFlow
2.21 emits around every dilated CONV_2D / DEPTHWISE_CONV_2D / Conv1D of a Keras model),
DEPTH_TO_SPACE, SPACE_TO_DEPTH. Pure data movement on int8 (NHWC, or NHC for the *_ND ops,
which TFLite Micro extends to NH1C).

TFLite Micro semantics (reference_ops::SpaceToBatchND / BatchToSpaceND / DepthToSpace /
SpaceToDepth): output batch index = (shift_h * block_w + shift_w) * N + n; padded positions
of SPACE_TO_BATCH_ND hold the output zero point, and input and output must share one
quantization (upstream TFLM's SpaceToBatchNDPrepare: `params.output_offset =
output->params.zero_point` after checking both). NOTE: the tflite-micro build mcuq tests
against predates that fix and never initialises output_offset: its padded positions hold
whatever the persistent arena held (0 in a fresh process, stale bytes otherwise). mcuq
follows upstream TFLM and LiteRT (zero point); the property tests compare padded cases with
LiteRT's reference kernels and unpadded ones with TFLite Micro too
(tests/reference/test_space.py::test_tflm_space_to_batch_pad_value_is_uninitialized).
DEPTH_TO_SPACE/SPACE_TO_DEPTH: block_size > 0, 4-D, channel layout (b_h, b_w, C) as TF's DCR.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import Signature, check_signature, register, unsupported
from .select import check_same_quantization, check_types
from .shape import _check_nonempty


def _const_ints(op, model, t, what: str, shape: tuple[int, ...]) -> np.ndarray:
    if t.type_name != "INT32":
        raise unsupported(op, model, f"{what} '{t.name}' is {t.type_name}",
                          f"TFLite Micro reads {what} as int32; re-convert the model")
    v = np.asarray(t.data).astype(np.int64)
    if v.size != int(np.prod(shape)):
        raise unsupported(op, model, f"{what} '{t.name}' has shape {list(t.shape)}, expected "
                          f"{list(shape)}", "re-convert the model")
    return v.reshape(shape)


def _nhwc(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """3-D NHC is handled as NH1C (TFLM's ExtendShapeSpaceToBatch)."""
    if len(shape) == 3:
        return shape[0], shape[1], 1, shape[2]
    return tuple(shape)  # type: ignore[return-value]


@dataclass
class BatchSpaceParams:
    input_shape: tuple[int, int, int, int]  # NHWC (W = 1 for 3-D tensors)
    output_shape: tuple[int, int, int, int]
    block: tuple[int, int]  # (block_h, block_w)
    pads: tuple[int, int, int, int]  # S2B: (top, bottom, left, right); B2S: crops
    pad_value: int
    model_output_shape: tuple[int, ...]
    to_batch: bool  # SPACE_TO_BATCH_ND (else BATCH_TO_SPACE_ND)


def _prepare_batch_space(op, model, to_batch: bool) -> BatchSpaceParams:
    sig = BatchSpace.SIGNATURES[op.opcode]
    x, tb, tp = check_signature(op, model, sig)
    (y,) = model.op_outputs(op)
    check_types(op, model, [x, y], ("INT8",))
    rank = len(x.shape)
    if rank not in (3, 4) or len(y.shape) != rank:
        raise unsupported(op, model, f"input {list(x.shape)} / output {list(y.shape)}",
                          f"TFLite Micro's {op.opcode} handles 3-D (NHC) and 4-D (NHWC) "
                          "tensors")
    spatial = rank - 2
    block = _const_ints(op, model, tb, "block_shape", (spatial,))
    pads = _const_ints(op, model, tp, "paddings" if to_batch else "crops", (spatial, 2))
    if (block < 1).any():
        raise unsupported(op, model, f"block_shape {block.tolist()}",
                          "block sizes must be positive")
    if (pads < 0).any():
        raise unsupported(op, model, f"{'paddings' if to_batch else 'crops'} "
                          f"{pads.tolist()} are negative", "re-convert the model")
    check_same_quantization(op, model, x, [y])
    xs = _nhwc(tuple(x.shape))
    bh, bw = int(block[0]), int(block[1]) if spatial == 2 else 1
    p = pads.reshape(-1).tolist() + ([0, 0] if spatial == 1 else [])
    if to_batch:
        hp, wp = xs[1] + p[0] + p[1], xs[2] + p[2] + p[3]
        if hp % bh or wp % bw:
            raise unsupported(op, model, f"padded spatial dims {hp}x{wp} are not multiples "
                              f"of block {bh}x{bw}", "re-convert the model")
        expect = (xs[0] * bh * bw, hp // bh, wp // bw, xs[3])
    else:
        if xs[0] % (bh * bw):
            raise unsupported(op, model, f"batch {xs[0]} is not a multiple of block "
                              f"{bh}x{bw}", "re-convert the model")
        expect = (xs[0] // (bh * bw), xs[1] * bh - p[0] - p[1], xs[2] * bw - p[2] - p[3],
                  xs[3])
    if _nhwc(tuple(y.shape)) != expect:
        what = (f"output {list(y.shape)} does not match {op.opcode} of {list(x.shape)} with "
                f"block {block.tolist()} and {pads.tolist()}")
        sig = [t.shape_signature for t in (x, y)]
        if any(s is not None and len(s) and s[0] == -1 for s in sig) and \
                _nhwc(tuple(y.shape))[1:] == expect[1:]:
            raise unsupported(
                op, model, what + " (the batch dimension is dynamic)",
                "the model was converted with a dynamic batch: TensorFlow stored batch 1 for "
                f"tensors whose batch {op.opcode} multiplies or divides, which TFLite Micro "
                "cannot run; convert with a fixed batch (mcuq convert does; a dilated Keras "
                "convolution then becomes one CONV_2D with dilation factors)")
        raise unsupported(op, model, what, "the model file is inconsistent; re-convert it")
    _check_nonempty(op, model, y)
    return BatchSpaceParams(xs, expect, (bh, bw), tuple(int(v) for v in p),
                            y.zero_point, tuple(y.shape), to_batch)


@register("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
class BatchSpace:
    SIGNATURES = {
        "SPACE_TO_BATCH_ND": Signature(inputs=("input", "block_shape", "paddings"),
                                       constant=("block_shape", "paddings")),
        "BATCH_TO_SPACE_ND": Signature(inputs=("input", "block_shape", "crops"),
                                       constant=("block_shape", "crops")),
    }

    @staticmethod
    def prepare(op, model) -> BatchSpaceParams:
        return _prepare_batch_space(op, model, op.opcode == "SPACE_TO_BATCH_ND")

    @staticmethod
    def run(p: BatchSpaceParams, inputs):
        x = inputs[0]
        b = x.shape[0]
        n, h, w, c = p.input_shape
        bh, bw = p.block
        x = x.reshape(b, n, h, w, c)
        if p.to_batch:
            top, bottom, left, right = p.pads
            xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right), (0, 0)),
                        constant_values=p.pad_value)
            _, oh, ow, _ = p.output_shape
            v = xp.reshape(b, n, oh, bh, ow, bw, c).transpose(0, 3, 5, 1, 2, 4, 6)
            out = v.reshape(b, *p.output_shape)
        else:
            top, _, left, _ = p.pads
            on, oh, ow, _ = p.output_shape
            v = x.reshape(b, bh, bw, on, h, w, c).transpose(0, 3, 4, 1, 5, 2, 6)
            full = v.reshape(b, on, h * bh, w * bw, c)
            out = full[:, :, top:top + oh, left:left + ow, :]
        return [np.ascontiguousarray(out).reshape(b, *p.model_output_shape)]


# ---- DEPTH_TO_SPACE / SPACE_TO_DEPTH ---------------------------------------------------------


@dataclass
class DepthSpaceParams:
    block: int
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    to_space: bool  # DEPTH_TO_SPACE


@register("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
class DepthSpace:
    SIGNATURE = Signature(inputs=("input",))

    @staticmethod
    def prepare(op, model) -> DepthSpaceParams:
        (x,) = check_signature(op, model, DepthSpace.SIGNATURE)
        (y,) = model.op_outputs(op)
        check_types(op, model, [x, y], ("INT8",))
        if len(x.shape) != 4:
            raise unsupported(op, model, f"input {list(x.shape)} is not 4-D",
                              f"TFLite Micro's {op.opcode} handles NHWC tensors")
        bs = int(op.options.get("block_size", 0) or 0)
        if bs < 1:
            raise unsupported(op, model, f"block_size {bs}", "block_size must be positive")
        n, h, w, c = x.shape
        to_space = op.opcode == "DEPTH_TO_SPACE"
        if to_space:
            if c % (bs * bs):
                raise unsupported(op, model, f"{c} channels are not a multiple of "
                                  f"block_size^2 = {bs * bs}", "re-convert the model")
            expect = (n, h * bs, w * bs, c // (bs * bs))
        else:
            if h % bs or w % bs:
                raise unsupported(op, model, f"spatial dims {h}x{w} are not multiples of "
                                  f"block_size {bs}", "re-convert the model")
            expect = (n, h // bs, w // bs, c * bs * bs)
        if tuple(y.shape) != expect:
            raise unsupported(op, model, f"output {list(y.shape)}, expected {list(expect)}",
                              "the model file is inconsistent; re-convert it")
        check_same_quantization(op, model, x, [y])
        _check_nonempty(op, model, y)
        return DepthSpaceParams(bs, tuple(x.shape), expect, to_space)

    @staticmethod
    def run(p: DepthSpaceParams, inputs):
        x = inputs[0]
        b = x.shape[0]
        bs = p.block
        if p.to_space:
            n, h, w, c = p.input_shape
            co = c // (bs * bs)
            v = x.reshape(b, n, h, w, bs, bs, co).transpose(0, 1, 2, 4, 3, 5, 6)
        else:
            n, h, w, c = p.input_shape
            v = x.reshape(b, n, h // bs, bs, w // bs, bs, c).transpose(0, 1, 2, 4, 3, 5, 6)
        return [np.ascontiguousarray(v).reshape(b, *p.output_shape)]
