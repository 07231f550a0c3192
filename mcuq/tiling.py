"""Patch-based execution of a CNN's first layers (MCUNetV2) for the standalone C target.

A CNN's peak memory is usually in its first, high-resolution layers. Tiling runs the first N
ops (the *stage*) patch by patch: the stage's output tensors (same height and width, e.g. the
output of a strided convolution or a pooling) are cut into an R x C grid of cells; for each
cell, the region of every tensor of the stage that the cell depends on is computed backwards
through the ops (a convolution's receptive field: the halo, recomputed by neighbouring patches),
and the ops run on those regions only. Only one patch's regions are live at a time (plus the
stage's input and its full output), so the arena shrinks; the halos cost extra MACs.

The result is exact by construction: every op computes each element of its region from the same
input values as the whole op would (a region is clipped to the image only where the image ends,
so what a kernel treats as padding is padding), with the same parameters. `run_tiled` replays
the tiled graph through the reference kernels, and the tests compare the generated C on the host
(ASan) and Cortex-M4 with the reference.

The tiled graph is an ordinary Model (`TiledModel.model`): the original tensors, one local tensor
per (tensor, patch) shaped like its region, and ops in patch order: a crop of each stage input
(MCUQ_CROP), the stage's ops on local tensors (their params are the original op's with the
local shapes and padding), a paste of each stage output's cell into the full tensor
(MCUQ_PASTE), then the rest of the model. The memory planner, the in-place rules and the C
emitters work on it unchanged; `TiledModel.params(i)` stands in for the reference interpreter.

    spec = parse_tile("6:3x3")             # the first 6 ops, a 3 x 3 grid of their output
    tiled = tile_model(model, spec)        # or tile_model(model, "auto")
    tiled.figures()                        # peak (arena) tiled vs untiled, extra MACs
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, UnsupportedModelError
from .model import Model, Operator, Tensor

SPATIAL_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"}
POINTWISE_OPS = {"RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "LOGISTIC", "TANH", "QUANTIZE"}
BINARY_OPS = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"}
STAGE_OPS = SPATIAL_OPS | POINTWISE_OPS | BINARY_OPS | {"PAD"}
CROP, PASTE = "MCUQ_CROP", "MCUQ_PASTE"

#: `--tile auto`: the largest share of extra MACs (halo recomputation) a tiling may cost.
AUTO_MAX_EXTRA_MACS = 0.15
AUTO_GRIDS = tuple((g, g) for g in range(2, 9)) + tuple((g, 1) for g in range(2, 9))


@dataclass(frozen=True)
class TileSpec:
    ops: int  # the first `ops` operators form the stage
    rows: int  # grid over the stage output's rows ...
    cols: int  # ... and columns

    def __str__(self) -> str:
        return f"{self.ops}:{self.rows}x{self.cols}"


def parse_tile(text) -> TileSpec | str:
    """'auto' or 'N:RxC' (a TileSpec passes through)."""
    if isinstance(text, TileSpec):
        return text
    t = str(text).strip().lower()
    if t == "auto":
        return "auto"
    m = re.fullmatch(r"(\d+):(\d+)x(\d+)", t)
    if not m or min(int(g) for g in m.groups()) < 1:
        raise InputError(f"--tile '{text}' is not 'auto' or N:RxC",
                         "e.g. --tile 6:3x3 (the first 6 ops, a 3 x 3 grid of their output) "
                         "or --tile auto")
    return TileSpec(*(int(g) for g in m.groups()))


@dataclass(frozen=True)
class Region:
    """Rows [y0, y1) and columns [x0, x1) of an NHWC tensor."""
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    def union(self, o: "Region | None") -> "Region":
        if o is None:
            return self
        return Region(min(self.y0, o.y0), max(self.y1, o.y1), min(self.x0, o.x0),
                      max(self.x1, o.x1))

    def empty(self) -> bool:
        return self.h <= 0 or self.w <= 0


@dataclass
class CopyParams:
    """MCUQ_CROP / MCUQ_PASTE: a (h, w) window of an NHWC tensor (channels c, element size
    elem) from (sy, sx) in the source to (dy, dx) in the destination."""
    src_shape: tuple[int, ...]
    dst_shape: tuple[int, ...]
    sy: int
    sx: int
    dy: int
    dx: int
    h: int
    w: int


@dataclass
class TiledModel:
    model: Model  # the tiled graph (see the module docstring)
    source: Model
    spec: TileSpec
    stage_outputs: list[int]
    patches: int
    _params: list = field(repr=False, default_factory=list)
    untiled_macs: int = 0
    macs: int = 0
    arena_bytes: int | None = None  # filled by figures() / the search
    untiled_arena_bytes: int | None = None

    def params(self, op_index: int):
        return self._params[op_index]

    @property
    def extra_macs(self) -> int:
        return self.macs - self.untiled_macs

    def figures(self) -> dict:
        """Peak (arena) tiled and untiled, the MACs recomputed in the halos."""
        if self.arena_bytes is None or self.untiled_arena_bytes is None:
            from .codegen.inplace import c_plan

            self.arena_bytes = c_plan(self.model, self.params).size
            self.untiled_arena_bytes = c_plan(self.source).size
        out = self.source.tensors[self.stage_outputs[0]]
        return {"spec": str(self.spec), "ops": self.spec.ops,
                "grid": f"{self.spec.rows}x{self.spec.cols}", "patches": self.patches,
                "output": out.name, "output_shape": list(out.shape),
                "arena_bytes": self.arena_bytes, "untiled_arena_bytes": self.untiled_arena_bytes,
                "macs": self.macs, "untiled_macs": self.untiled_macs,
                "extra_macs": self.extra_macs,
                "extra_macs_fraction": self.extra_macs / max(self.untiled_macs, 1)}


# ---- which prefixes of a model can be a stage ------------------------------------------------

def _spatial(t: Tensor) -> bool:
    return len(t.shape) == 4 and t.shape[0] == 1 and t.data is None


def stage_problem(model: Model, n: int) -> str | None:
    """Why the first n ops cannot be tiled (None when they can)."""
    if not 1 <= n <= len(model.operators):
        return f"the model has {len(model.operators)} ops"
    ops = model.operators[:n]
    produced = {t for op in ops for t in op.outputs}
    for op in ops:
        if op.opcode not in STAGE_OPS:
            return f"{op.describe()} is not a spatial op that can run on a patch"
        acts = [t for t in op.inputs if t >= 0 and model.tensors[t].data is None]
        if any(not _spatial(model.tensors[t]) for t in (*acts, *op.outputs)):
            return f"{op.describe()}: tensors are not NHWC with batch 1"
        if op.opcode in BINARY_OPS:
            if len(acts) != 2 or any(model.tensors[t].shape != model.tensors[op.outputs[0]].shape
                                     for t in acts):
                return f"{op.describe()}: operands are not two activations of the output's shape"
        if op.opcode == "PAD":
            pads = np.asarray(model.tensors[op.inputs[1]].data).reshape(-1, 2)
            if pads[0].any() or pads[3].any() or len(op.inputs) > 2:
                return f"{op.describe()}: pads other axes than height and width"
        for t in acts:
            if t not in produced and t not in model.inputs:
                return f"{op.describe()} reads a tensor from outside the stage"
    later = {t for op in model.operators[n:] for t in op.inputs}
    outs = sorted(t for t in produced if t in later or t in model.outputs)
    if not outs:
        return "nothing after the stage reads its results"
    hw = {tuple(model.tensors[t].shape[1:3]) for t in outs}
    if len(hw) != 1:
        return f"the stage's results have different sizes {sorted(hw)}"
    return None


def stage_outputs(model: Model, n: int) -> list[int]:
    produced = {t for op in model.operators[:n] for t in op.outputs}
    later = {t for op in model.operators[n:] for t in op.inputs}
    return sorted(t for t in produced if t in later or t in model.outputs)


def stage_candidates(model: Model) -> list[int]:
    """Stage lengths worth trying: valid prefixes whose results are smaller (in height x width)
    than the stage's input, ending at a stride/pooling point or right after one."""
    out = []
    for n in range(1, len(model.operators) + 1):
        if stage_problem(model, n) is not None:
            if any(op.opcode not in STAGE_OPS for op in model.operators[:n]):
                break
            continue
        res = model.tensors[stage_outputs(model, n)[0]].shape
        biggest = max(model.tensors[t].shape[1] * model.tensors[t].shape[2]
                      for op in model.operators[:n] for t in op.inputs
                      if t >= 0 and model.tensors[t].data is None)
        if res[1] * res[2] < biggest:
            out.append(n)
    return out


# ---- regions ----------------------------------------------------------------------------------

def _axis_need(o0: int, o1: int, stride: int, pad: int, k_eff: int, size: int) -> tuple[int, int]:
    lo = max(0, o0 * stride - pad)
    hi = min(size, (o1 - 1) * stride - pad + k_eff)
    return lo, hi


def needed(model: Model, op: Operator, p, r: Region) -> dict[int, Region]:
    """Input tensor -> the region of it that output region `r` of `op` reads."""
    acts = [t for t in op.inputs if t >= 0 and model.tensors[t].data is None]
    if op.opcode in SPATIAL_OPS:
        x = model.tensors[acts[0]]
        if hasattr(p, "weights"):
            kh, kw = p.weights.shape[1], p.weights.shape[2]
            eh, ew = (kh - 1) * p.dilation_h + 1, (kw - 1) * p.dilation_w + 1
        else:
            eh, ew = p.filter_h, p.filter_w
        y0, y1 = _axis_need(r.y0, r.y1, p.stride_h, p.padding.pad_h, eh, x.shape[1])
        x0, x1 = _axis_need(r.x0, r.x1, p.stride_w, p.padding.pad_w, ew, x.shape[2])
        return {acts[0]: Region(y0, y1, x0, x1)}
    if op.opcode == "PAD":
        x = model.tensors[acts[0]]
        bh, bw = p.before[1], p.before[2]
        return {acts[0]: Region(max(0, r.y0 - bh), min(x.shape[1], r.y1 - bh),
                                max(0, r.x0 - bw), min(x.shape[2], r.x1 - bw))}
    return {t: r for t in acts}


def _cells(size: int, parts: int) -> list[tuple[int, int]]:
    edges = [round(k * size / parts) for k in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def patch_regions(model: Model, spec: TileSpec, params_of) -> list[tuple[Region, dict[int, Region]]]:
    """Per patch: (its cell of the stage results, tensor -> region) over the stage's tensors."""
    outs = stage_outputs(model, spec.ops)
    _, h, w, _ = model.tensors[outs[0]].shape
    ops = model.operators[:spec.ops]
    result = []
    for ry in _cells(h, spec.rows):
        for rx in _cells(w, spec.cols):
            cell = Region(ry[0], ry[1], rx[0], rx[1])
            regions: dict[int, Region] = {t: cell for t in outs}
            for op in reversed(ops):
                r = regions.get(op.outputs[0])
                if r is None:
                    continue
                for t, need in needed(model, op, params_of(op.index), r).items():
                    if need.empty():
                        raise UnsupportedModelError(
                            f"{model.source}: tiling {spec}: a patch of {op.describe()} reads "
                            "nothing of its input (it lies in the padding)",
                            "use fewer patches (a smaller grid)")
                    regions[t] = need.union(regions.get(t))
            result.append((cell, regions))
    return result


# ---- the tiled graph ---------------------------------------------------------------------------

def _local_params(model: Model, op: Operator, p, r: Region, need: dict[int, Region]):
    """The op's params for output region r computed from exactly the input regions `need`."""
    y = model.tensors[op.outputs[0]]
    out_shape = (1, r.h, r.w, y.shape[3])
    if op.opcode in SPATIAL_OPS:
        x = model.tensors[op.inputs[0]]
        n = need[op.inputs[0]]
        pad = dataclasses.replace(p.padding, out_h=r.h, out_w=r.w,
                                  pad_h=n.y0 - (r.y0 * p.stride_h - p.padding.pad_h),
                                  pad_w=n.x0 - (r.x0 * p.stride_w - p.padding.pad_w))
        return dataclasses.replace(p, input_shape=(1, n.h, n.w, x.shape[3]),
                                   output_shape=out_shape, padding=pad)
    if op.opcode == "PAD":
        n = need[op.inputs[0]]
        before = (0, max(0, p.before[1] - r.y0), max(0, p.before[2] - r.x0), 0)
        in_shape = (1, n.h, n.w, p.input_shape[3])
        after = tuple(o - i - b for o, i, b in zip(out_shape, in_shape, before))
        return dataclasses.replace(p, input_shape=in_shape, output_shape=out_shape,
                                   before=before, after=after)
    if op.opcode in BINARY_OPS:
        return dataclasses.replace(p, shape1=out_shape, shape2=out_shape, output_shape=out_shape)
    return p  # pointwise: sizes come from the tensors


class _Builder:
    def __init__(self, model: Model):
        self.src = model
        self.tensors = list(model.tensors)
        self.ops: list[Operator] = []
        self.params: list = []

    def tensor(self, like: Tensor, tag: str, h: int, w: int) -> int:
        t = Tensor(index=len(self.tensors), name=f"{like.name}@{tag}",
                   shape=(1, h, w, like.shape[3]), type_name=like.type_name, buffer=0,
                   quant=like.quant)
        self.tensors.append(t)
        return t.index

    def op(self, opcode: str, inputs, outputs, params, like: Operator | None = None) -> None:
        self.ops.append(Operator(len(self.ops), opcode, like.version if like else 1,
                                 tuple(inputs), tuple(outputs),
                                 dict(like.options) if like else {}))
        self.params.append(params)


def _copy(b: _Builder, src: int, dst: int, src_region: Region, dst_region: Region,
          window: Region, opcode: str) -> None:
    """Copy `window` (global coordinates) from src (holding src_region) to dst (dst_region)."""
    b.op(opcode, [src], [dst], CopyParams(
        tuple(b.tensors[src].shape), tuple(b.tensors[dst].shape),
        window.y0 - src_region.y0, window.x0 - src_region.x0,
        window.y0 - dst_region.y0, window.x0 - dst_region.x0, window.h, window.w))


def build_tiled(model: Model, spec: TileSpec, params_of) -> TiledModel:
    """The tiled graph of `model` for `spec` (see the module docstring)."""
    from .costs import op_macs

    problem = stage_problem(model, spec.ops)
    if problem is not None:
        raise UnsupportedModelError(f"{model.source}: cannot tile the first {spec.ops} ops: "
                                    f"{problem}", "choose another N in --tile N:RxC, or "
                                    "--tile auto")
    outs = stage_outputs(model, spec.ops)
    _, h, w, _ = model.tensors[outs[0]].shape
    if spec.rows > h or spec.cols > w:
        raise InputError(f"--tile {spec}: the stage's results are {h} x {w}, fewer than "
                         f"{spec.rows} x {spec.cols} cells", "choose a smaller grid")
    b = _Builder(model)
    stage = model.operators[:spec.ops]
    patches = patch_regions(model, spec, params_of)
    stage_inputs = sorted({t for op in stage for t in op.inputs
                           if t >= 0 and model.tensors[t].data is None} - {
                               t for op in stage for t in op.outputs})
    full = lambda t: Region(0, model.tensors[t].shape[1], 0, model.tensors[t].shape[2])
    for k, (cell, regions) in enumerate(patches):
        local: dict[int, int] = {}
        for t in stage_inputs:
            if t in regions:
                local[t] = b.tensor(model.tensors[t], f"p{k}", regions[t].h, regions[t].w)
                _copy(b, t, local[t], full(t), regions[t], regions[t], CROP)
        for op in stage:
            y = op.outputs[0]
            r = regions.get(y)
            if r is None:
                continue
            p = params_of(op.index)
            need = needed(model, op, p, r)
            inputs = []
            for t in op.inputs:
                if t < 0 or model.tensors[t].data is not None:
                    inputs.append(t)
                elif regions[t] == need[t]:
                    inputs.append(local[t])
                else:  # a wider region (another consumer's halo): crop what this op reads
                    c = b.tensor(model.tensors[t], f"p{k}.op{op.index}", need[t].h, need[t].w)
                    _copy(b, local[t], c, regions[t], need[t], need[t], CROP)
                    inputs.append(c)
            local[y] = b.tensor(model.tensors[y], f"p{k}", r.h, r.w)
            b.op(op.opcode, inputs, [local[y]], _local_params(model, op, p, r, need), op)
        for t in outs:
            _copy(b, local[t], t, regions[t], full(t), cell, PASTE)
    for op in model.operators[spec.ops:]:
        b.op(op.opcode, op.inputs, op.outputs, params_of(op.index), op)
    tiled = Model(data=model.data, version=model.version, description=model.description,
                  tensors=b.tensors, operators=b.ops, inputs=list(model.inputs),
                  outputs=list(model.outputs), subgraph_count=1,
                  source=f"{model.source} (tiled {spec})")
    _check_tiled(tiled, b.params, len(b.ops) - (len(model.operators) - spec.ops))
    return TiledModel(tiled, model, spec, outs, len(patches), b.params,
                      untiled_macs=sum(op_macs(model, op) for op in model.operators),
                      macs=sum(op_macs(tiled, op) for op in tiled.operators))


def _check_tiled(tiled: Model, params: list, stage_ops: int) -> None:
    """The tiled graph passes the loader's graph checks (mcuq.validate: order, arity,
    quantization, shapes; the patch ops' shapes are their local params' instead of their
    options'); a failure is a bug in the tiling."""
    from .validate import check_model

    for op in tiled.operators[:stage_ops]:
        want = getattr(params[op.index], "output_shape", None)
        got = tuple(tiled.tensors[op.outputs[0]].shape)
        if want is not None and tuple(want) != got:
            raise RuntimeError(f"{tiled.source}: {op.describe()}: local params give "
                               f"{list(want)}, the patch tensor is {list(got)}")
    check_model(tiled, local_ops=frozenset(range(stage_ops)))


def tile_model(model, tile, interpreter=None, external_io: bool = False,
               max_extra_macs: float = AUTO_MAX_EXTRA_MACS) -> TiledModel:
    """The tiled graph for `tile` ("auto", "N:RxC" or a TileSpec). "auto" tries every stage
    candidate and grid, keeps those within `max_extra_macs` extra MACs, and returns the one
    with the smallest arena; an UnsupportedModelError when none is smaller than the untiled
    plan."""
    from .codegen.cmodel import io_storage
    from .codegen.inplace import c_plan
    from .model import load_model
    from .reference import Interpreter

    model = load_model(model)
    interpreter = interpreter or Interpreter(model)
    spec = parse_tile(tile)
    external = (lambda m: set(io_storage(m))) if external_io else (lambda m: set())
    if spec != "auto":
        return build_tiled(model, spec, interpreter.params)
    base = c_plan(model, interpreter.params, external=external(model)).size
    best: TiledModel | None = None
    misses = 0
    for n in stage_candidates(model):
        h, w = model.tensors[stage_outputs(model, n)[0]].shape[1:3]
        within = False
        for rows, cols in sorted(AUTO_GRIDS, key=lambda g: (g[0] * g[1], g)):
            if rows > h or cols > w:
                continue
            try:
                t = build_tiled(model, TileSpec(n, rows, cols), interpreter.params)
            except UnsupportedModelError:
                continue
            if t.extra_macs > max_extra_macs * t.untiled_macs:
                continue
            within = True
            t.arena_bytes = c_plan(t.model, t.params, external=external(t.model), effort=0).size
            t.untiled_arena_bytes = base
            if best is None or (t.arena_bytes, t.extra_macs) < (best.arena_bytes, best.extra_macs):
                best = t
        # deeper stages only widen the halos: stop once two in a row fit no grid in the budget
        misses = 0 if within else misses + 1
        if misses >= 2:
            break
    if best is None or best.arena_bytes >= base:
        raise UnsupportedModelError(
            f"{model.source}: no tiling of its first layers makes the arena smaller than "
            f"{base:,} B within {max_extra_macs:.0%} extra MACs",
            "generate without --tile (its peak is not in the first layers), or choose a "
            "stage and grid with --tile N:RxC")
    best.arena_bytes = None  # the final plan (full effort) is made by the code generator
    return best


# ---- the proof on the host: the tiled graph through the reference kernels ---------------------

def run_tiled(tiled: TiledModel, inputs) -> list[np.ndarray]:
    """Outputs of the tiled graph computed op by op with the reference kernels (batched)."""
    from .reference import Interpreter
    from .reference.registry import kernel_for

    m = tiled.model
    inputs = Interpreter(tiled.source).normalize_inputs(inputs)
    batch = inputs[0].shape[0]
    values: dict[int, np.ndarray] = dict(zip(m.inputs, inputs))
    for t in m.tensors:
        if t.data is not None:
            values[t.index] = np.broadcast_to(t.data, (batch, *t.shape))
    for op in m.operators:
        p = tiled.params(op.index)
        if op.opcode in (CROP, PASTE):
            src = values[op.inputs[0]]
            dst_t = m.tensors[op.outputs[0]]
            dst = values.get(op.outputs[0])
            if dst is None:
                dst = values[op.outputs[0]] = np.zeros((batch, *dst_t.shape), dst_t.dtype)
            dst[:, :, p.dy:p.dy + p.h, p.dx:p.dx + p.w] = \
                src[:, :, p.sy:p.sy + p.h, p.sx:p.sx + p.w]
            continue
        k = kernel_for(op, m)
        outs = k.run(p, [values[i] if i >= 0 else None for i in op.inputs])
        for i, v in zip(op.outputs, outs):
            values[i] = v
    return [values[i] for i in m.outputs]
