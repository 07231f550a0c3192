"""Jinja templates (shipped in the wheel as mcuq.templates)."""
