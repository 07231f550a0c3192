"""Session fixtures shared by whole-model tests: the converted zoo and saved Keras files."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hypothesis import settings

from tests.tools import missing_tool

# Property tests draw the same cases on every run (CI stays reproducible); MCUQ_RANDOM=1 draws
# new ones, and MCUQ_EXAMPLES=N draws more (tests/exactness.py).
settings.register_profile("mcuq", derandomize=not os.environ.get("MCUQ_RANDOM"),
                          print_blob=True)
settings.load_profile("mcuq")


@pytest.fixture(scope="session")
def zoo() -> dict[str, bytes]:
    """{name: full-int8 .tflite bytes} for every model in mcuq.testing.zoo (disk-cached)."""
    from mcuq.testing.zoo import zoo_models

    start = time.perf_counter()
    models = zoo_models()
    print(f"\nzoo: {len(models)} models ready in {time.perf_counter() - start:.1f} s")
    return models


@pytest.fixture(scope="session")
def streaming_model() -> bytes:
    """A streaming model with its ring-buffer state in two int8 resource variables
    (mcuq.testing.streaming; TFLiteConverter with resource variables, disk-cached)."""
    from mcuq.testing.streaming import streaming_model as build

    return build()


@pytest.fixture(scope="session")
def zoo_keras_dir(tmp_path_factory):
    """A folder with saved float models and calibration data, written once per session:
    mlp.keras, mlp.h5, mlp_savedmodel/, cnn.keras, two_in_two_out.keras, mlp_calib.npy (100),
    cnn_calib.npy (100), two_calib.npz (80, named like the inputs)."""
    from mcuq.native import quiet_native_output
    from mcuq.testing.zoo import build_keras, calibration

    d = tmp_path_factory.mktemp("zoo_keras")
    mlp = build_keras("mlp")
    with quiet_native_output():
        mlp.save(d / "mlp.keras")
        mlp.save(d / "mlp.h5")
        mlp.export(str(d / "mlp_savedmodel"), verbose=False)
    build_keras("cnn").save(d / "cnn.keras")
    build_keras("two_in_two_out").save(d / "two_in_two_out.keras")
    np.save(d / "mlp_calib.npy", calibration("mlp", n=100)[0])
    np.save(d / "cnn_calib.npy", calibration("cnn", n=100)[0])
    vec, img = calibration("two_in_two_out", n=80)
    np.savez(d / "two_calib.npz", vector=vec, image=img)
    return d


@pytest.fixture
def host_cc():
    """A host C compiler, or skip with the line that installs it."""
    from mcuq.toolchain import missing_tools

    missing = missing_tools("host")
    if missing:
        missing_tool(f"no host C compiler ({', '.join(missing)}); install gcc")


@pytest.fixture
def cortex_m4():
    """Debian's Cortex-M toolchain and QEMU (`make test` installs them as root with apt-get),
    or skip with the line that installs them."""
    from mcuq.toolchain import APT_LINE, missing_tools

    missing = missing_tools("cortex-m4")
    if missing:
        missing_tool(f"{', '.join(missing)} missing; install with: {APT_LINE}")
