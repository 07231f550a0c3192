"""CONCATENATION in place (shape.c: mcuq_concatenation_inplace, method "concat-reverse") and its
word-copy loops, bit-exact against the reference on the host (ASan + UBSan, each kernel fenced
to its own tensors) and on Cortex-M4 (QEMU): branches of RELUs (arena tensors that die at the
concat) of 3..16 channels (rows of whole words: 8 bytes, pairs and a last word; and of odd
bytes), concatenated along the channels or a spatial axis, a constant operand first now and
then (the output then goes over input 1 or 2)."""
import dataclasses

import numpy as np
from hypothesis import strategies as st

from mcuq.codegen.inplace import c_plan
from mcuq.model import load_model
from mcuq.testing.builder import ModelBuilder
from tests.firmware.cases import collect_cases
from mcuq.testing.cbatch import run_batch


@st.composite
def concat_branch_models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s, zp = float(np.float32(10 ** rng.uniform(-2, 0))), int(rng.integers(-128, 128))
    shape = [1, draw(st.integers(1, 4)), draw(st.integers(1, 4)),
             draw(st.sampled_from([8, 4, 3]))]
    axis = draw(st.sampled_from([3, 3, 3, -1, 1, 2]))
    pos = axis % 4
    b = ModelBuilder()
    ins = []
    const_first = draw(st.integers(0, 3)) == 0
    for k in range(draw(st.integers(2, 3))):
        shp = list(shape)
        shp[pos] = draw(st.sampled_from([8, 8, 4, 12, 16, 3, 5])) if pos == 3 else \
            draw(st.integers(1, 3))
        if k == 0 and const_first:
            ins.append(b.const("c0", rng.integers(-128, 128, shp, dtype=np.int8), scale=s,
                               zero_point=zp))
            continue
        x = b.input(f"x{k}", shp, scale=s, zero_point=zp)
        r = b.tensor(f"r{k}", shp, scale=s, zero_point=zp)
        b.op("RELU", [x], [r])
        ins.append(r)
    out = list(shape)
    out[pos] = sum(b.tensors[i].shape[pos] for i in ins)
    y = b.tensor("y", out, scale=s, zero_point=zp)
    b.op("CONCATENATION", ins, [y], axis=axis)
    b.output(y)
    return b.build()


def _cases(n: int):
    cases = collect_cases(concat_branch_models(), n)
    ops = []
    for c in cases:
        m = load_model(c.model)
        plan = c_plan(m)
        concat = next(op.index for op in m.operators if op.opcode == "CONCATENATION")
        ops.append(plan.inplace.get(concat))
    # the output over input 0 and over a later input (a constant input 0), both seen
    operands = {c.operand for c in ops if c is not None}
    assert {0} < operands | {0} and 0 in operands and len(operands) > 1, operands
    assert all(c is not None and c.method == "concat-reverse" for c in ops)
    return cases


def _check(cases, target):
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:6])
    assert all("shape/concat:in-place" in c.paths for c in cases)
    assert all("concat-reverse" in c.inplace.values() for c in cases)


def test_concat_in_place_c_host(host_cc):
    _check(_cases(24), "host")


def test_concat_in_place_c_cortex_m4(cortex_m4):
    _check(_cases(10), "cortex-m4")


def _off_place(n: int, target: str):
    """The kernel off place on the same models, its output the caller's buffer (--external-io:
    the concat writes straight into it)."""
    cases = [dataclasses.replace(c, external_io=True) for c in collect_cases(
        concat_branch_models(), n)]
    failures = run_batch(cases, target)
    assert not failures, "\n".join(failures[:6])
    assert all("concat-reverse" not in c.inplace.values() for c in cases)


def test_concat_not_in_place_c_host(host_cc):
    _off_place(12, "host")


def test_concat_not_in_place_c_cortex_m4(cortex_m4):
    _off_place(6, "cortex-m4")
