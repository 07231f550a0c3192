"""Every code path of the C conv/depthwise/fully-connected kernels, reached on purpose and proved
identical to the reference: one batch of cases aimed at each kernel target
(mcuq.testing.strategies), built once under ASan + UBSan (-fno-sanitize-recover: any report
fails the case) and once for Cortex-M4 (QEMU), in both requantization roundings (double vs the
tflm profile, single -- -DMCUQ_SINGLE_ROUNDING=1 -- vs the single-rounding profile). The
emitters record the path each op took (CCall.paths); the test prints the coverage table and
fails if a path was never taken.

MCUQ_EXAMPLES=N draws N // 8 cases per target instead of 3 (MCUQ_RANDOM=1: new ones)."""
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from mcuq.model import load_model
from mcuq.testing import strategies as S
from mcuq.testing.cbatch import Case, run_batch
from mcuq.testing.coverage import case_features, coverage_table
from mcuq.vectors import random_inputs
from tests.exactness import EXAMPLES
from tests.reference.test_conv import wide_wrap_conv_model

PER_TARGET = max(3, EXAMPLES // 8)

#: Paths of firmware/kernels/conv.c and fully_connected.c (labels of mcuq/codegen/c_ops/conv.py
#: and fully_connected.py) and case features (mcuq.testing.coverage) every run must reach.
REQUIRED = {
    "conv/direct-1x1", "conv/im2col", "conv/im2col:border", "conv/im2col:interior",
    "conv/im2col:dilated-w", "conv/im2col:first-layer", "conv/packed:odd-out",
    "conv/packed:odd-pixels", "conv/generic:grouped", "conv/generic:col-max",
    "conv/generic:border", "conv/generic:rows", "conv/generic:taps",
    "depthwise/fast", "depthwise/fast:4-channels", "depthwise/fast:channel-tail",
    "depthwise/fast:padding", "depthwise/fast:taps-x3", "depthwise/multiplier-x4",
    "depthwise/multiplier-x4:padding", "depthwise/multiplier-x4:paired",
    "depthwise/generic:multiplier", "depthwise/generic:taps", "depthwise/generic:channels",
    "depthwise/generic:rows", "depthwise/generic:padding",
    "fully_connected/rows4", "fully_connected/row-tail", "fully_connected/depth-tail",
    "fully_connected/depth-x4", "fully_connected/unpacked-row", "fully_connected/deep-row",
    "conv/as-depthwise-x4",
    "conv/requant:dead-channel", "conv/requant:left-shift", "conv/requant:shift-1-or-0",
    "conv/requant:shift-31", "conv/requant:exotic", "conv/requant:mixed",
    "depthwise/requant:shift-31", "depthwise/requant:dead-channel",
    "depthwise/requant:left-shift", "depthwise/requant:exotic", "depthwise/requant:mixed",
    "fully_connected/requant:dead-channel", "fully_connected/requant:left-shift",
    "fully_connected/requant:exotic", "fully_connected/requant:mixed",
    "conv/acc-wraps", "depthwise/acc-wraps", "fully_connected/acc-wraps",
    "zero-point:-128", "zero-point:127", "zero-point:0",
}


def _targets():
    yield from (S.conv_models(t) for t in S.CONV_TARGETS)
    yield from (S.depthwise_models(t) for t in S.DEPTHWISE_TARGETS)
    yield from (S.fully_connected_models(t) for t in S.FC_TARGETS)


def path_cases(per_target: int = PER_TARGET) -> list[Case]:
    """per_target cases for every kernel target, plus the reference tests' wrap model."""
    cases: list[Case] = []
    for strategy in _targets():
        @settings(max_examples=per_target, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(S.cases(strategy))
        def collect(case):
            cases.append(Case(*case))

        collect()
    wide = wide_wrap_conv_model()
    cases.append(Case(wide, random_inputs(load_model(wide), 6, 5)))
    return cases


def _coverage(cases: list[Case]) -> Counter:
    hits: Counter = Counter()
    for c in cases:
        hits.update(set(c.paths) | case_features(c.model, c.inputs))
    return hits


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_every_c_kernel_path_is_taken_and_exact_on_host_sanitized(host_cc, rounding):
    cases = path_cases()
    # -fsanitize=address,undefined -fno-sanitize-recover
    failures = run_batch(cases, "host", rounding=rounding)
    hits = _coverage(cases)
    print(f"\nC kernel path coverage, {len(cases)} cases (host, ASan + UBSan, {rounding} "
          "rounding):\n" + coverage_table(hits, REQUIRED))
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    missing = sorted(REQUIRED - {k for k, n in hits.items() if n})
    assert not missing, f"kernel paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_every_c_kernel_path_is_exact_on_cortex_m4(cortex_m4, rounding):
    cases = path_cases(per_target=1)
    failures = run_batch(cases, "cortex-m4", rounding=rounding)
    hits = _coverage(cases)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    for fam in ("conv", "depthwise", "fully_connected"):  # the wrap cases ran on the M4 too
        assert hits[f"{fam}/acc-wraps"], f"no {fam} case with a wrapping accumulator"


def test_python_limits_are_the_c_headers_values(tmp_path, host_cc):
    """The emitters' limits (mcuq/codegen/climits.py reads the headers) against what the C
    preprocessor itself makes of the headers: one source of truth, checked end to end."""
    import subprocess

    from mcuq.codegen.c_ops import conv, elementwise, fully_connected, reduce, shape
    from mcuq.codegen.render import firmware_dir

    from mcuq.codegen.c_ops import requant

    python = {"MCUQ_CONV_COL_MAX": conv.COL_MAX, "MCUQ_DW_TAPS_MAX": conv.DW_TAPS_MAX,
              "MCUQ_DW_CH_MAX": conv.DW_CH_MAX, "MCUQ_DW_ROWS_MAX": conv.DW_ROWS_MAX, "MCUQ_RQ_WORDS": requant.RQ_WORDS,
              "MCUQ_FC_SCRATCH_MAX": fully_connected.SCRATCH_MAX,
              "MCUQ_ELEMENTWISE_MAX_RANK": elementwise.MAX_RANK,
              "MCUQ_MEAN_MAX_KEPT": reduce.MAX_KEPT, "MCUQ_COPY_MAX_RANK": shape.MAX_RANK}
    src = tmp_path / "limits.c"
    src.write_text('#include <stdio.h>\n#include "conv.h"\n#include "elementwise.h"\n'
                   '#include "mcuq_fixedpoint.h"\n#include "fully_connected.h"\n'
                   '#include "reduce.h"\n#include "shape.h"\nint main(void) {\n'
                   + "".join(f'  printf("{k} %ld\\n", (long)({k}));\n' for k in python)
                   + "  return 0;\n}\n")
    exe = tmp_path / "limits"
    subprocess.run(["cc", "-std=c99", "-DMCUQ_SINGLE_ROUNDING=0",  # (a project's mcuq_config.h)
                    f"-I{firmware_dir() / 'kernels'}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    c = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert c == python
    # the stack buffers' header in firmware/ holds those maxima (a generated project's copy
    # holds what its layers need)
    from mcuq.codegen.climits import header_defines

    buffers = header_defines("mcuq_buffers.h")
    assert buffers == {"MCUQ_CONV_COL_BUF": conv.COL_MAX, "MCUQ_DW_TAPS_BUF": conv.DW_TAPS_MAX,
                       "MCUQ_DW_CH_BUF": conv.DW_CH_MAX, "MCUQ_DW_ROWS_BUF": conv.DW_ROWS_MAX,
                       "MCUQ_FC_SCRATCH_BUF": fully_connected.SCRATCH_MAX}
