"""16x8 C kernels (firmware/kernels/linear16.c, pooling16.c, quantize16.c) == reference on
hypothesis-drawn one-op models: one host build under ASan + UBSan and one Cortex-M4 build
(QEMU), each covering every int16 op and kernel path."""
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings

from mcuq.testing import strategies16 as S16
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.reference.test_int16_ops import _mean_models, _move_models

PATHS = {"fully_connected16/fast", "fully_connected16/fast-direct",
         "fully_connected16/wide", "fully_connected16/wide-direct", "conv16/wide",
         "conv16/bias32", "conv16/generic", "conv16/fast", "conv16/fast-direct",
         "depthwise16/generic", "depthwise16/fast", "depthwise16/fast-multiplier",
         "depthwise16/fast-multiplier4", "linear16/rq-wrap", "linear16/rq-post",
         "linear16/int64-sums",
         "pooling16/average", "pooling16/max",
         "quantize16/dequantize", "quantize16/affine", "quantize16/requantize-s16_s8",
         "quantize16/requantize-s8_s16", "quantize16/requantize-s16_s16",
         "elementwise16/add", "elementwise16/sub", "elementwise16/mul",
         "elementwise16/broadcast", "elementwise16/folded", "elementwise16/maximum", "elementwise16/minimum",
         "activations16/relu", "activations16/relu6", "activations16/leaky_relu",
         "softmax16/lut", "sigmoid_tanh16/tanh", "sigmoid_tanh16/logistic",
         "reduce16/mean"}


def collect_cases16(strategies, per_kind: int, cases: list[Case] | None = None) -> list[Case]:
    """`per_kind` cases (S16.cases16) drawn from each model strategy, appended to `cases`."""
    cases = [] if cases is None else cases
    for strategy in strategies:
        @settings(max_examples=per_kind, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(S16.cases16(strategy))
        def collect(case):
            cases.append(Case(*case))

        collect()
    return cases


def int16_cases(per_kind: int) -> list[Case]:
    return collect_cases16((S16.fully_connected16_models(), S16.conv16_models(),
                     S16.conv16_models(depthwise=True), S16.conv16_models(wide_channels=True),
                     S16.conv16_models(pointwise=True),
                     *(S16.fully_connected16_models(limit=k) for k in ("edge", "over")),
                     S16.conv16_models(limit="over"), S16.conv16_models(depthwise=True, limit="over"),
                     S16.conv16_models(limit="edge") | S16.conv16_models(depthwise=True, limit="edge")
                     | S16.conv16_models(limit="wide") | S16.fully_connected16_models(limit="wide"),
                     S16.pool16_models(),
                     *(S16.quantize16_models(k) for k in S16.QUANTIZE_KINDS),
                     S16.reshape16_models(),
                     *(S16.elementwise16_models(o)
                       for o in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM")),
                     S16.elementwise16_models(broadcast=True),
                     *(S16.activation16_models(o) for o in ("RELU", "RELU6", "LEAKY_RELU")),
                     S16.softmax16_models(),
                     *(S16.sigmoid_tanh16_models(o) for o in ("TANH", "LOGISTIC")),
                     _move_models(), _mean_models()), per_kind)


def _check(target: str, per_kind: int) -> None:
    cases = int16_cases(per_kind)
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    hits = Counter(p for c in cases for p in set(c.paths))
    missing = PATHS - set(hits)
    assert not missing or per_kind < 4, f"paths never taken: {sorted(missing)}"


def test_int16_kernels_c_host(host_cc):
    _check("host", max(EXAMPLES // 6, 4))


def test_int16_kernels_c_cortex_m4(cortex_m4):
    _check("cortex-m4", max(EXAMPLES // 12, 2))
