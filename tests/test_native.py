"""mcuq.native.call_in_child: what a crash, a hang, an error or a result in the child becomes."""
from __future__ import annotations

import time

from mcuq.errors import UnsupportedModelError
from mcuq.native import call_in_child


def test_a_result_comes_back():
    out = call_in_child("math:factorial", 10)
    assert out.ok and out.value == 3628800 and out.signal is None


def test_a_signal_is_an_outcome_not_a_crash():
    out = call_in_child("os:abort")
    assert not out.ok and out.signal == "SIGABRT" and out.describe() == "crashed (SIGABRT)"


def test_an_mcuq_error_crosses_with_its_class_and_hint():
    out = call_in_child("mcuq.model:load_model", b"\x00" * 16)
    assert isinstance(out.error, Exception) and out.error.exit_code == 2
    assert "not a .tflite flatbuffer" in out.error.message and out.error.hint
    out = call_in_child("mcuq.errors:UnsupportedModelError", "x")  # returns, not raises
    assert out.ok and isinstance(out.value, UnsupportedModelError)


def test_other_exceptions_are_named_with_their_traceback():
    out = call_in_child("json:loads", "{")
    assert out.exception[0] == "JSONDecodeError" and "Traceback" in out.exception[2]


def test_a_silent_child_is_killed_after_the_idle_timeout():
    t0 = time.perf_counter()
    out = call_in_child("time:sleep", 60, timeout=120, idle_timeout=3)
    assert out.timed_out and not out.ok and time.perf_counter() - t0 < 30
