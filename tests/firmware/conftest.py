"""Firmware tests need a host C compiler; Cortex-M tests need Debian's cross toolchain and QEMU.
Without them the tests skip with the line that installs them (`make test` installs them itself
when it runs as root with apt-get, as CI does)."""
import pytest

from mcuq.runners.firmware import APT_LINE, missing_tools


@pytest.fixture
def host_cc():
    missing = missing_tools("host")
    if missing:
        pytest.skip(f"no host C compiler ({', '.join(missing)}); install gcc")


@pytest.fixture
def cortex_m4():
    missing = missing_tools("cortex-m4")
    if missing:
        pytest.skip(f"{', '.join(missing)} missing; install with: {APT_LINE}")
