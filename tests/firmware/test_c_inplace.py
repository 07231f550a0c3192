"""The C target with its default arena plan (inputs/outputs inside, ops in place), with the
caller's I/O (--external-io) and tiled (--tile), bit-exact against the reference on the host
(ASan + UBSan, with each kernel fenced to its own tensors) and on Cortex-M4 (QEMU): random
graphs of the zoo's ops and the zoo itself, each batch in one build."""
import re
import subprocess

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from mcuq.codegen import generate_project
from mcuq.testing.cbatch import Case, run_batch
from mcuq.testing.graphs import zoo_graphs
from mcuq.testing.strategies import inputs_for

#: tiled zoo models compiled in the batches (see tests/test_tiling.py for the reference replay)
TILED = [("cnn", "4:3x3"), ("ds_cnn", "2:3x1"), ("mobilenet_v1", "4:3x3"), ("resnet8", "8:2x2"),
         ("two_in_two_out", "auto")]


def graph_cases(n: int) -> list[Case]:
    cases: list[Case] = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data):
        model = data.draw(zoo_graphs())
        cases.append(Case(model, data.draw(inputs_for(model, 2))))

    collect()
    return cases


def zoo_cases(zoo, tiled, external) -> list[Case]:
    rng = np.random.default_rng(3)

    def inputs(data):
        from mcuq.model import load_model

        m = load_model(data)
        return [rng.integers(-128, 128, (2, *t.shape), dtype=np.int8) for t in m.input_tensors()]

    cases = [Case(data, inputs(data)) for data in zoo.values()]
    cases += [Case(zoo[name], inputs(zoo[name]), tile=tile) for name, tile in tiled]
    cases += [Case(zoo[name], inputs(zoo[name]), external_io=True) for name in external]
    from tests.test_arena_plan import wide_depthwise  # in place by channels (TinyEngine's)

    cases.append(Case(wide_depthwise(), inputs(wide_depthwise())))
    return cases


def pointwise_cases(n: int, seed: int = 17) -> list[Case]:
    """1x1 convs in place by pixels (forward and reverse), odd and even pixel counts, batch 1
    and 2, a single pixel: tests/test_arena_plan.py's pointwise chain with random channel
    counts (a multiple of 4 into each conv that runs in place)."""
    from mcuq.model import load_model
    from tests.test_arena_plan import pointwise_chain

    rng = np.random.default_rng(seed)
    shapes = [(8, 16, 4, (3, 5), 1), (12, 4, 8, (1, 1), 1), (4, 12, 8, (2, 3), 2)]
    while len(shapes) < n:
        c0, c1 = 4 * int(rng.integers(1, 5)), 4 * int(rng.integers(1, 5))
        hw = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        shapes.append((c0, c1, int(rng.integers(1, 20)), hw, int(rng.integers(1, 3))))
    cases = []
    for c0, c1, c2, hw, batch in shapes[:n]:
        data = pointwise_chain(c0, c1, c2, hw, batch)
        m = load_model(data)
        cases.append(Case(data, [rng.integers(-128, 128, (2, *t.shape), dtype=np.int8)
                                 for t in m.input_tensors()]))
    return cases


def _check(cases: list[Case], target: str) -> None:
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures[:6])
    methods = {m for c in cases for m in c.inplace.values()}
    assert methods == {"direct", "rows", "channels", "planar", "pixels", "pixels-reverse",
                       "ring", "ring-reverse", "taps", "taps-reverse", "concat-reverse"}, methods
    paths = {p for c in cases for p in c.paths}
    assert {"conv/direct-1x1:in-place-forward", "conv/direct-1x1:in-place-reverse",
            "conv/ring:in-place-forward", "conv/ring:in-place-reverse"} <= paths


def test_inplace_and_tiled_c_is_exact_on_host_sanitized(zoo, host_cc):
    _check(graph_cases(14) + zoo_cases(zoo, TILED, ["two_in_two_out", "resnet8"])
           + pointwise_cases(8), "host")


def test_inplace_and_tiled_c_is_exact_on_cortex_m4(zoo, cortex_m4):
    _check(graph_cases(6) + zoo_cases(zoo, TILED[:3], ["mlp"]) + pointwise_cases(4),
           "cortex-m4")


def test_asan_fence_reports_a_kernel_touching_another_tensor(zoo, tmp_path, host_cc):
    """While a kernel runs only its own tensors are addressable: a call whose output pointer is
    moved onto bytes that belong to no operand of the op fails the sanitized self-test."""
    out = tmp_path / "p"
    generate_project(zoo["cnn"], out, target="c", name="cnn", vectors=1)
    src = (out / "model.c").read_text()
    fences = re.findall(r"MCUQ_FENCE\(\);((?: MCUQ_OPEN\(\d+u, \d+u\);)+)", src)
    assert fences and all(f for f in fences)
    ok = subprocess.run(["make", "-C", str(out), "run-sanitize"], capture_output=True, text=True)
    assert ok.returncode == 0 and "PASS" in ok.stdout, ok.stdout + ok.stderr
    # the FULLY_CONNECTED call: send its output past the end of its own regions
    m = re.search(r"(mcuq_fully_connected_s8\(.*?\(\(int8_t \*\)\(s_arena \+ )(\d+)(\)\)\);)", src)
    arena = int(re.search(r"static uint8_t s_arena\[(\d+)\]", src).group(1))
    regions = [tuple(map(int, r)) for r in re.findall(
        r"MCUQ_OPEN\((\d+)u, (\d+)u\)", src[:m.start()].rsplit("MCUQ_FENCE", 1)[1])]
    free = next(o for o in range(0, arena - 16, 8)
                if all(o + 16 <= a or o >= a + n for a, n in regions))
    (out / "model.c").write_text(src[:m.start(2)] + str(free) + src[m.end(2):])
    bad = subprocess.run(["make", "-C", str(out), "run-sanitize"], capture_output=True,
                         text=True)
    assert bad.returncode != 0
    assert "use-after-poison" in bad.stderr, bad.stderr[-2000:]
