"""The build cache is shared by every mcuq process: building the same project at once (two
shells, parallel CI jobs) takes turns under a lock per project and per make goal
(toolchain.cache_lock), and whoever comes second uses the first one's binary instead of
running make again in the same files."""
import threading
import time
from pathlib import Path

from mcuq.codegen.target_c import build_cached
from mcuq.toolchain import cache_lock


def _project(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "cache" / "abc" / "project"
    project.mkdir(parents=True)
    # make must not run: whoever holds the lock builds the binary first
    (project / "Makefile").write_text("host:\n\t@echo make ran; false\n")
    return project, project / "build" / "host" / "model"


def test_a_second_build_waits_for_the_first_and_uses_its_binary(tmp_path):
    project, binary = _project(tmp_path)
    locked = threading.Event()

    def first_builder():
        with cache_lock(project.parent, "host"):
            locked.set()
            time.sleep(0.5)  # the second caller arrives while this one builds
            binary.parent.mkdir(parents=True)
            binary.write_bytes(b"built")

    t = threading.Thread(target=first_builder)
    t.start()
    assert locked.wait(10)
    t0 = time.monotonic()
    assert build_cached(project, "host", binary) == binary  # without the lock: make ran, failed
    waited = time.monotonic() - t0
    t.join()
    assert binary.read_bytes() == b"built"
    assert waited > 0.2


def test_other_goals_and_projects_do_not_wait(tmp_path):
    project, _ = _project(tmp_path)
    other = project.parent.parent / "other"
    done = threading.Event()

    def elsewhere():
        with cache_lock(project.parent, "cortex-m4"), cache_lock(other, "host"):
            done.set()

    with cache_lock(project.parent, "host"):
        t = threading.Thread(target=elsewhere)
        t.start()
        assert done.wait(5), "a different goal or project waited for the lock"
    t.join()
