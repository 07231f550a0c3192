"""C arrays and firmware projects rendered from templates/."""
