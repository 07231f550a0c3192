"""C emitters, one module per op family (mirrors mcuq/reference/ops/)."""
