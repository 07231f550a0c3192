"""Random small graphs of the zoo's ops (hypothesis), for the arena planner's property tests and
the in-place kernels' exactness tests: convolutions, depthwise convolutions, pooling, residual
ADDs, standalone activations, channel concatenations, then a head (MEAN or RESHAPE, FULLY_CONNECTED,
SOFTMAX). Tensors get several consumers (a branch, a residual, a second model output), so an
op's input is sometimes still needed after the op and must not be overwritten.

    from mcuq.testing.graphs import zoo_graphs
    @given(zoo_graphs())
    def test(model_bytes): ...
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..reference.ops.conv import compute_padding
from .builder import ModelBuilder


class _Graph:
    def __init__(self, draw):
        self.draw = draw
        self.b = ModelBuilder("mcuq random zoo graph")
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        self.tensors: list[tuple[int, tuple[int, ...], float, int]] = []  # (index, shape, s, zp)
        self.n = 0

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def quant(self) -> tuple[float, int]:
        return float(self.rng.uniform(0.02, 0.12)), int(self.rng.integers(-20, 21))

    def new(self, kind: str, shape, scale=None, zp=None) -> tuple[int, tuple, float, int]:
        if scale is None:
            scale, zp = self.quant()
        t = self.b.tensor(self.name(kind), shape, scale=scale, zero_point=zp)
        entry = (t, tuple(shape), scale, zp)
        self.tensors.append(entry)
        return entry

    def pick(self, cond=lambda e: True):
        """Mostly the newest tensor (a chain), sometimes an older one (a branch)."""
        options = [e for e in self.tensors if len(e[1]) == 4 and cond(e)]
        if not options:
            return None
        if self.draw(st.integers(0, 3)) == 0:
            return options[self.draw(st.integers(0, len(options) - 1))]
        return options[-1]

    # -- ops -------------------------------------------------------------------------------
    def conv(self, depthwise: bool):
        x, (n, h, w, c), s_x, zp_x = self.pick()
        k = self.draw(st.integers(1, 3))
        stride = self.draw(st.sampled_from([1, 1, 2]))
        padding = self.draw(st.sampled_from(["SAME", "SAME", "VALID"]))
        pad = compute_padding(padding, stride, stride, 1, 1, h, w, k, k)
        if pad.out_h < 1 or pad.out_w < 1:
            padding, pad = "SAME", compute_padding("SAME", stride, stride, 1, 1, h, w, k, k)
        cout = c if depthwise else self.draw(st.integers(1, 12))
        s_y, zp_y = self.quant()
        w_scales = self.rng.uniform(0.005, 0.02, cout).astype(np.float32)
        shape = (1, k, k, cout) if depthwise else (cout, k, k, c)
        wt = self.b.const(self.name("w"), self.rng.integers(-127, 128, shape, dtype=np.int8),
                          scale=w_scales, zero_point=0, axis=3 if depthwise else 0)
        bias = self.b.const(self.name("b"), self.rng.integers(-500, 500, cout).astype(np.int32),
                            scale=(s_x * w_scales).astype(np.float32), zero_point=0)
        y = self.new("conv", (n, pad.out_h, pad.out_w, cout), s_y, zp_y)
        act = self.draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
        common = dict(padding=padding, stride_h=stride, stride_w=stride,
                      fused_activation_function=act)
        if depthwise:
            self.b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y[0]], version=3,
                      depth_multiplier=1, **common)
        else:
            self.b.op("CONV_2D", [x, wt, bias], [y[0]], version=3, **common)

    def pool(self):
        x, (n, h, w, c), s_x, zp_x = self.pick()
        f = self.draw(st.integers(1, 3))
        stride = self.draw(st.integers(1, 3))
        padding = self.draw(st.sampled_from(["SAME", "VALID"]))
        pad = compute_padding(padding, stride, stride, 1, 1, h, w, f, f)
        if pad.out_h < 1 or pad.out_w < 1:
            padding, pad = "SAME", compute_padding("SAME", stride, stride, 1, 1, h, w, f, f)
        if pad.pad_h >= f or pad.pad_w >= f:  # a window entirely in the padding: refused
            return
        kind = self.draw(st.sampled_from(["MAX_POOL_2D", "AVERAGE_POOL_2D"]))
        y = self.new("pool", (n, pad.out_h, pad.out_w, c), s_x, zp_x)
        self.b.op(kind, [x], [y[0]], padding=padding, stride_h=stride, stride_w=stride,
                  filter_height=f, filter_width=f)

    def relu(self):
        x, shape, s_x, zp_x = self.pick()
        kind = self.draw(st.sampled_from(["RELU", "RELU6"]))
        y = self.new("act", shape, s_x, zp_x)  # same quantization: TFLM's RELU6 requirement
        self.b.op(kind, [x], [y[0]])

    def add(self):
        a = self.pick()
        same = [e for e in self.tensors if e[1] == a[1]]
        bt = same[self.draw(st.integers(0, len(same) - 1))]
        y = self.new("add", a[1])
        self.b.op("ADD", [a[0], bt[0]], [y[0]],
                  fused_activation_function=self.draw(st.sampled_from(["NONE", "RELU"])))

    def concat(self):
        a = self.pick()
        same = [e for e in self.tensors if len(e[1]) == 4 and e[1][:3] == a[1][:3]
                and e[2:] == a[2:]]  # TFLite Micro concatenates equal quantizations only
        bt = same[self.draw(st.integers(0, len(same) - 1))]
        y = self.new("cat", (*a[1][:3], a[1][3] + bt[1][3]), a[2], a[3])
        self.b.op("CONCATENATION", [a[0], bt[0]], [y[0]], axis=3)

    def head(self):
        x, (n, h, w, c), s_x, zp_x = self.tensors[-1]
        if self.draw(st.booleans()):
            axes = self.b.const(self.name("axes"), np.array([1, 2], np.int32))
            v = self.new("mean", (1, c), s_x, zp_x)
            self.b.op("MEAN", [x, axes], [v[0]], keep_dims=False)
        else:
            shape = self.b.const(self.name("shape"), np.array([1, h * w * c], np.int32))
            v = self.new("flat", (1, h * w * c), s_x, zp_x)
            self.b.op("RESHAPE", [x, shape], [v[0]])
        units = self.draw(st.integers(2, 10))
        w_scales = np.full(units, 0.01, np.float32)
        wt = self.b.const(self.name("fc_w"),
                          self.rng.integers(-127, 128, (units, v[1][1]), dtype=np.int8),
                          scale=w_scales, zero_point=0, axis=0)
        logits = self.new("fc", (1, units))
        self.b.op("FULLY_CONNECTED", [v[0], wt, -1], [logits[0]], version=4)
        if self.draw(st.booleans()):
            probs = self.new("softmax", (1, units), 1.0 / 256, -128)
            self.b.op("SOFTMAX", [logits[0]], [probs[0]], beta=1.0)
            return probs[0]
        return logits[0]


@st.composite
def zoo_graphs(draw, max_ops: int = 8, head: bool | None = None) -> bytes:
    """A random model of the zoo's op types (see the module docstring), as .tflite bytes."""
    g = _Graph(draw)
    h, w = draw(st.integers(3, 12)), draw(st.integers(3, 12))
    c = draw(st.integers(1, 8))
    s, zp = g.quant()
    x = g.b.input("x", (1, h, w, c), scale=s, zero_point=zp)
    g.tensors.append((x, (1, h, w, c), s, zp))
    steps = draw(st.lists(st.sampled_from(["conv", "conv", "dw", "dw", "pool", "relu", "add",
                                           "concat"]), min_size=1, max_size=max_ops))
    for step in steps:
        {"conv": lambda: g.conv(False), "dw": lambda: g.conv(True), "pool": g.pool,
         "relu": g.relu, "add": g.add, "concat": g.concat}[step]()
    if not g.b.operators:
        g.relu()
    outputs = []
    if head if head is not None else draw(st.booleans()):
        outputs.append(g.head())
    else:
        outputs.append(g.tensors[-1][0])
    if len(g.tensors) > 2 and draw(st.integers(0, 3)) == 0:  # an intermediate as an output
        extra = g.tensors[draw(st.integers(1, len(g.tensors) - 2))][0]
        if extra not in outputs:
            outputs.append(extra)
    for t in outputs:
        g.b.output(t)
    return g.b.build()
