"""QUANTIZE / DEQUANTIZE C kernels == reference, byte for byte: float32 inputs with exact .5
ties and out-of-range values, every int8/uint8 input value (host ASan+UBSan build, and a
smaller batch on Cortex-M4 under QEMU, whose single-precision FPU must give the same bytes)."""
from hypothesis import strategies as st

from mcuq.model import load_model
from mcuq.testing.cbatch import run_batch
from tests.exactness import EXAMPLES
from tests.firmware.test_c_activations import collect
from tests.reference.test_quantize import (all_int_inputs, dequantize_models,
                                           float_inputs, float_quantize_models,
                                           requantize_models)

QUANTIZE_MODELS = st.one_of(float_quantize_models(), requantize_models(), dequantize_models())


def inputs_for(model, seed):
    t = load_model(model).input_tensors()[0]
    return (float_inputs if t.type_name == "FLOAT32" else all_int_inputs)(model, seed)


def check(target: str, examples: int) -> int:
    cases = collect(QUANTIZE_MODELS, inputs_for, examples)
    kinds = {load_model(c.model).input_tensors()[0].type_name for c in cases}
    failures = run_batch(cases, target)
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures[:10])
    return len(kinds)


def test_quantize_c_host(host_cc):
    assert check("host", 2 * EXAMPLES) >= 2


def test_quantize_c_cortex_m4(cortex_m4):
    assert check("cortex-m4", 6) >= 1
