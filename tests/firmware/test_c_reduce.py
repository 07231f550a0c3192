"""MEAN C kernel == reference on the property-test cases (any axes, keep_dims, equal or
different quantization; host ASan+UBSan build, and a smaller batch on Cortex-M4 under QEMU),
and both kernel paths on purpose: `mean/rows` (consecutive axes: halfword sums, 4 channels per
word) up to its bound of 256 rows with extreme inputs, `mean/generic` beyond it."""
import numpy as np
import pytest
from hypothesis import strategies as st

from mcuq.testing.cbatch import Case, run_batch
from tests.firmware.cases import assert_c_matches_reference
from tests.reference.test_reduce import global_average_pool_models, mean_model, mean_models


def test_mean_c_host(host_cc):
    assert assert_c_matches_reference(mean_models()) > 0


def test_global_average_pool_mean_c_host(host_cc):
    assert assert_c_matches_reference(global_average_pool_models()) > 0


def test_mean_c_cortex_m4(cortex_m4):
    models = st.one_of(mean_models(), global_average_pool_models())
    assert assert_c_matches_reference(models, target="cortex-m4", examples=6) > 0


#: (shape, axes, path): 16x16 = 256 rows is the halfword sums' bound, 257 rows goes generic
EDGES = [((1, 16, 16, 8), [1, 2], "mean/rows"), ((1, 16, 16, 7), [2, 1], "mean/rows"),
         ((2, 3, 5, 6), [2, 3], "mean/rows"), ((3, 1, 256, 3), [1, 2], "mean/rows"),
         ((1, 257, 1, 4), [1, 2], "mean/generic"), ((2, 3, 5, 6), [1, 3], "mean/generic")]


def _edge_cases() -> list[Case]:
    rng = np.random.default_rng(5)
    cases = []
    for shape, axes, _path in EDGES:
        model = mean_model(shape, axes, False, 0.02, -3, 0.015, 4)
        x = np.stack([np.full(shape, -128, np.int8), np.full(shape, 127, np.int8),
                      rng.integers(-128, 128, shape, dtype=np.int8)])
        cases.append(Case(model, [x]))
    return cases


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_mean_paths_at_their_bounds(target, request):
    request.getfixturevalue("host_cc" if target == "host" else "cortex_m4")
    cases = _edge_cases()
    failures = run_batch(cases, target)
    assert not failures, "\n".join(failures)
    for case, (_shape, _axes, path) in zip(cases, EDGES):
        assert path in case.paths, (case.paths, path)
