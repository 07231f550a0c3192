"""One module per op family; each registers its kernels with mcuq.reference.registry."""
