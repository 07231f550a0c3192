"""The Jinja environment and atomic project output.

A project is rendered and copied into a temporary sibling of the destination, then renamed
into place, so a failure never leaves a half-written project. A non-empty destination is
refused unless `force`; with force it is replaced only after the new one is complete.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

from ..errors import InputError
from ..files import require_writable, write_error
from ..text import safe_text


def resource_dir(package: str) -> Path:
    """Filesystem path of mcuq.templates or mcuq.firmware (wheel or source checkout)."""
    return Path(str(resources.files(package)))


def templates_dir() -> Path:
    return resource_dir("mcuq.templates")


def firmware_dir() -> Path:
    return resource_dir("mcuq.firmware")


def environment() -> jinja2.Environment:
    """Templates print every name taken from the model through the `clean` filter
    (mcuq.text.safe_text): printable ASCII that cannot end a comment or a string."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never an empty string
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["clean"] = safe_text
    return env


class ProjectWriter:
    """Collects files in a temp dir next to `dest`; `commit()` moves them into place.

        with ProjectWriter(out, force) as w:
            w.render("c/model.c.j2", "model.c", data)
            w.copy(firmware_dir() / "kernels/conv.c", "mcuq/conv.c")
    """

    def __init__(self, dest: str | os.PathLike, force: bool = False):
        self.dest = Path(dest).resolve()
        self.force = force
        if self.dest.exists() and not self.dest.is_dir():
            raise InputError(f"{dest}: exists and is not a folder",
                             "choose another -o/--output folder")
        if self.dest.is_dir() and any(self.dest.iterdir()) and not force:
            raise InputError(f"{dest}: folder is not empty",
                             "choose an empty or new folder, or pass --force to replace it")
        parent = self.dest.parent
        if not parent.exists():
            raise InputError(f"{parent}: parent folder does not exist", "create it first")
        require_writable(parent, dest)  # before anything is measured or rendered
        self.env = environment()
        self.tmp: Path | None = None
        self.files: list[str] = []

    def __enter__(self) -> "ProjectWriter":
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.tmp-",
                                             dir=self.dest.parent))
        except OSError as e:
            raise write_error(self.dest, e) from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except OSError as e:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise write_error(self.dest, e) from None
        elif self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if exc_type is not None and issubclass(exc_type, OSError) and \
                not isinstance(exc, InputError):
            raise write_error(self.dest, exc) from None

    def _target(self, rel: str) -> Path:
        path = (self.tmp / rel).resolve()
        if not path.is_relative_to(self.tmp.resolve()):  # never write outside OUT_DIR
            raise InputError(f"refusing to write '{rel}' outside the project folder",
                             "this is a bug in a template target; please report it")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(rel)
        return path

    def render(self, template: str, rel: str, data: dict) -> None:
        text = self.env.get_template(template).render(**data)
        self._target(rel).write_text(text)

    def write_bytes(self, rel: str, data: bytes) -> None:
        self._target(rel).write_bytes(data)

    def write_text(self, rel: str, text: str) -> None:
        self._target(rel).write_text(text)

    def copy(self, src: Path, rel: str) -> None:
        shutil.copyfile(src, self._target(rel))

    def commit(self) -> None:
        assert self.tmp is not None
        old = None
        if self.dest.exists():
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}")
            os.rename(self.dest, old)
        try:
            os.rename(self.tmp, self.dest)
        except OSError:
            if old is not None:
                os.rename(old, self.dest)
            raise
        finally:
            if old is not None and old.exists():
                shutil.rmtree(old, ignore_errors=True)
        # mkdtemp creates 0700; a project folder should have the usual permissions.
        with contextlib.suppress(OSError):
            os.chmod(self.dest, 0o755)


def write_plan(plan, writer: ProjectWriter, data: dict) -> ProjectWriter:
    """Write every file of a layout plan (mcuq.codegen.layouts.Plan) atomically through
    `writer` (made before any slow work, so that a non-empty OUT_DIR fails first)."""
    fw = firmware_dir()
    with writer as w:
        for f in plan.files:
            if f.template is not None:
                w.render(f.template, f.dest, data)
            elif f.firmware is not None:
                w.copy(fw / f.firmware, f.dest)
            else:
                w.write_text(f.dest, f.text)
    return w
