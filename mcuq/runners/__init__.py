"""Runners: one interface, run(inputs) -> outputs (+ intermediates where the runner can)."""
from __future__ import annotations

from .base import Runner, RunResult

RUNNER_NAMES = ("reference", "tflite", "tflite-default", "tflm", "host", "host-sanitize",
                "cortex-m4")


def make_runner(name: str, model, **options) -> Runner:
    """Build a runner by its report name."""
    if name == "reference":
        from .reference import ReferenceRunner
        return ReferenceRunner(model, options.get("profile"))
    if name == "tflite":
        from .tflite import TfliteRunner
        return TfliteRunner(model, kernels=options.get("kernels", "ref"),
                            data=options.get("data"))
    if name == "tflite-default":
        from .tflite import TfliteRunner
        return TfliteRunner(model, kernels="default", data=options.get("data"))
    if name == "tflm":
        from .tflm import TflmRunner
        return TflmRunner(model, compress=options.get("compress", False),
                          data=options.get("data"))
    if name in ("host", "cortex-m4"):
        from .firmware import FirmwareRunner
        return FirmwareRunner(model, target=name, **options)
    if name == "host-sanitize":
        from .firmware import FirmwareRunner
        return FirmwareRunner(model, target="host", **{**options, "sanitize": True})
    from ..errors import InputError
    raise InputError(f"unknown runner '{name}'", f"choose from {', '.join(RUNNER_NAMES)}")


__all__ = ["Runner", "RunResult", "make_runner", "RUNNER_NAMES"]
