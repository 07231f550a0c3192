"""DEPTHWISE_CONV_2D on one input channel x multiplier with filters too long for the taps kernel
(micro_speech's 10x8 x 8 on a spectrogram) runs as the CONV_2D it equals on conv mode 3 (the
ring of padded input rows + the packed channel loop, conv.py: as_ring_conv): bit-exact against
the reference on the host (ASan + UBSan) and on Cortex-M4 (QEMU; and with -DMCUQ_NO_ASM), in
both requantizations, in place in one call ("ring"/"ring-reverse", the order the arena plan
replays) and not (batch 2), with exotic requantization channels."""
import pytest

from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.test_c_taps import taps_cases

#: (batch, h, w, k_h, k_w, in_c, out_c, stride_h, stride_w, padding, depthwise)
GEOMETRIES = [
    (1, 25, 20, 10, 8, 1, 8, 2, 2, "SAME", True),   # micro_speech's tiny_conv, smaller
    (2, 9, 7, 5, 4, 1, 4, 1, 1, "VALID", True),
    (1, 12, 10, 4, 4, 1, 12, 1, 2, "SAME", True),
    (1, 11, 9, 3, 5, 1, 6, 2, 1, "SAME", True),
    (1, 13, 13, 4, 4, 1, 4, 3, 3, "VALID", True),  # narrowing: in place forward
]
PER_GEOMETRY = max(2, EXAMPLES // 8)
REQUIRED = {"depthwise/as-conv-ring", "conv/ring", "conv/ring:in-place-forward",
            "conv/ring:in-place-reverse"}


@pytest.fixture(scope="module")
def cases():
    return taps_cases(PER_GEOMETRY, GEOMETRIES, exotic_every=2)


def _check(cases: list[Case], failures: list[str]) -> None:
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(
        failures[:10])
    ring = sum("depthwise/as-conv-ring" in c.paths for c in cases)
    assert ring == len(cases), f"only {ring} of {len(cases)} cases ran the conv ring"
    missing = sorted(REQUIRED - {p for c in cases for p in c.paths})
    assert not missing, f"paths never taken: {missing}"


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_one_channel_ring_exact_on_host_sanitized(host_cc, cases, rounding):
    _check(cases, run_batch(cases, "host", rounding=rounding))


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_depthwise_one_channel_ring_exact_on_cortex_m4(cortex_m4, cases, rounding):
    _check(cases, run_batch(cases, "cortex-m4", rounding=rounding))


def test_depthwise_one_channel_ring_without_assembly_exact_on_cortex_m4(cortex_m4, cases):
    _check(cases, run_batch(cases, "cortex-m4", extra_cflags=("-DMCUQ_NO_ASM",)))
