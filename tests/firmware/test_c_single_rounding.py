"""The C kernels built with single rounding (MCUQ_SINGLE_ROUNDING 1, `generate --rounding
single`) == the reference's single-rounding profile, byte for byte: every requantizing kernel
family outside conv/depthwise/fully-connected (those are covered path by path in
test_c_paths.py) -- activations, QUANTIZE, LOGISTIC/TANH, ADD/SUB/MUL, MEAN/SUM, SOFTMAX,
PRELU, SQUARED_DIFFERENCE, RSQRT, L2_NORMALIZATION, TRANSPOSE_CONV, BATCH_MATMUL -- in one host
build under ASan + UBSan and one Cortex-M4 build under QEMU. The
cases are the per-op property tests' strategies, weighted to the edges (shift edges, ties,
zero points -128/127/0), so single and double rounding really differ on them (asserted)."""
import numpy as np
from hypothesis import strategies as st

from mcuq.model import load_model
from mcuq.reference import Interpreter
from mcuq.testing.cbatch import Case, run_batch
from tests.exactness import EXAMPLES
from tests.firmware.cases import collect_cases
from tests.firmware.test_c_activations import collect
from tests.reference.test_activations import all_int8_inputs, leaky_relu_models, relu_models
from tests.reference.test_elementwise import elementwise_models
from tests.reference.test_quantize import all_int_inputs, requantize_models
from tests.reference.test_reduce import mean_models
from tests.reference.test_sigmoid_tanh import every_value, sigmoid_tanh_models
from tests.firmware.test_c_arith import rsqrt_cases
from tests.reference.test_arith import l2norm_models, prelu_models, squared_difference_models
from tests.reference.test_batch_matmul import batch_matmul_models
from tests.reference.test_reductions import reduce_models
from tests.reference.test_softmax import extreme_inputs, softmax_models
from tests.reference.test_transpose_conv import transpose_conv_models


def single_rounding_cases(examples: int) -> list[Case]:
    """Cases for every requantizing kernel family but conv/depthwise/FC."""
    cases = collect(st.one_of(relu_models(), leaky_relu_models()), all_int8_inputs, examples)
    cases += collect(requantize_models(), all_int_inputs, max(2, examples // 2))
    cases += collect(sigmoid_tanh_models(), every_value, max(2, examples // 2))
    cases += collect_cases(st.one_of(elementwise_models(), mean_models()), examples)
    cases += [Case(c.model, extreme_inputs(c.model, 6, k))
              for k, c in enumerate(collect_cases(softmax_models(), max(2, examples // 2)))]
    few = max(2, examples // 3)
    cases += collect_cases(st.one_of(prelu_models(), squared_difference_models(),
                                     l2norm_models(), reduce_models("SUM"),
                                     transpose_conv_models(), batch_matmul_models()), examples)
    cases += rsqrt_cases(few)
    return cases


def _differs(cases: list[Case]) -> int:
    """Cases where the single-rounding profile gives other bytes than tflm (the test would be
    empty without them)."""
    n = 0
    for c in cases:
        m = load_model(c.model)
        a = Interpreter(m, "tflm").run(c.inputs).outputs
        b = Interpreter(m, "single-rounding").run(c.inputs).outputs
        n += any(not np.array_equal(x, y) for x, y in zip(a, b))
    return n


def test_single_rounding_c_kernels_host(host_cc):
    cases = single_rounding_cases(EXAMPLES)
    failures = run_batch(cases, "host", rounding="single")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])
    assert _differs(cases) > 0


def test_single_rounding_c_kernels_cortex_m4(cortex_m4):
    cases = single_rounding_cases(4)
    failures = run_batch(cases, "cortex-m4", rounding="single")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:10])
