"""Hand-written C99 kernels and platform ports (shipped in the wheel as mcuq.firmware)."""
