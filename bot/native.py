"""The scan engine compiled with mypyc: the same source, built once per version of it.

`scripts/setup` runs `python -m bot.native build`, which compiles `ENGINE` (the modules every
scanned message runs through) with mypyc into a folder of the environment named by a hash of
their source and of the modules they import. When `bot` is imported, `enable()` loads those
compiled modules if a build of the current source exists; otherwise (no compiler, an edited
source not rebuilt yet) or with FTPCODE_NATIVE=0, the plain Python modules run. Both give the
same answers: tests/test_native.py scans the corpora with each and compares.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent
# Compiled, in this order of import.
ENGINE = ("bot.text", "bot.context", "bot.detect")
# The modules the engine imports: a change to one rebuilds the engine too (a test checks the
# list against the engine's imports).
DEPENDS = ("bot.models", "bot.knowledge", "bot.cache")
GROUP = "ftpcode_engine"  # mypyc's shared library: GROUP + "__mypyc"
_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
_DONE = "complete"  # written last: a folder without it is a build that did not finish


def source(module: str, root: Path = PACKAGE.parent) -> Path:
    """The file of one of the project's modules ("bot.detect") under `root`."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def build_id(root: Path = PACKAGE.parent) -> str:
    """What a build is for: the engine's source and its imports, and this interpreter."""
    import hashlib  # here, like the other imports below: importing `bot` stays quick

    digest = hashlib.blake2b(digest_size=10)
    digest.update(_SUFFIX.encode())
    for module in ENGINE + DEPENDS:
        digest.update(module.encode() + b"\0" + source(module, root).read_bytes() + b"\0")
    return digest.hexdigest()


def builds_dir() -> Path:
    """Where builds live: beside the environment's packages ($FTPCODE_NATIVE_DIR overrides)."""
    override = os.environ.get("FTPCODE_NATIVE_DIR")
    return Path(override) if override else Path(sys.prefix) / "ftpcode-native"


def _libraries(folder: Path) -> dict[str, Path]:
    """Module name -> compiled file, for a finished build in `folder`."""
    found = {name: folder / f"{name.rsplit('.', 1)[-1]}{_SUFFIX}" for name in ENGINE}
    found[f"{GROUP}__mypyc"] = folder / f"{GROUP}__mypyc{_SUFFIX}"
    return found


class _Finder:
    """An import finder (sys.meta_path) that serves the engine's modules from a current build.

    Whether there is one is worked out at the first import of an engine module, so that a
    command that never scans (a lookup) does not read the sources to find out.
    """

    def __init__(self) -> None:
        self.libraries: dict[str, Path] | None = None

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _SERVED:
            return None
        if self.libraries is None:
            self.libraries = _current_build()
        location = self.libraries.get(fullname)
        if location is None:
            return None
        import importlib.util

        loader = importlib.machinery.ExtensionFileLoader(fullname, str(location))
        return importlib.util.spec_from_file_location(fullname, location, loader=loader)


_SERVED = frozenset([*ENGINE, f"{GROUP}__mypyc"])


def _current_build() -> dict[str, Path]:
    """The compiled files of a finished build of the current source, or none."""
    if any(name in sys.modules for name in ENGINE):
        return {}  # part of the engine already runs as Python: never mix the two
    try:
        folder = builds_dir() / build_id()
    except OSError:
        return {}
    return _libraries(folder) if (folder / _DONE).exists() else {}


def enable() -> None:
    """Serve the engine compiled from now on, if a build of the current source exists."""
    if os.environ.get("FTPCODE_NATIVE", "1") == "0":
        return
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def active() -> bool:
    """Whether the scan engine in use is the compiled one."""
    detect = sys.modules.get("bot.detect")
    if detect is None:
        from bot import detect
    return str(getattr(detect, "__file__", "")).endswith(_SUFFIX)


# Run in a child process: mypyc through setuptools, C sources and objects kept in the work folder.
_BUILD = """
import sys
from mypyc.build import mypycify
from setuptools import setup

work, group, *files = sys.argv[1:]
setup(
    name="ftpcode-engine",
    packages=[],
    py_modules=[],
    # Installed elsewhere than the repository, mypy has no configuration for the third-party
    # packages that the engine's imports import (jsonschema): their types do not matter here.
    ext_modules=mypycify(
        ["--ignore-missing-imports", *files], group_name=group, target_dir=work + "/c"
    ),
    script_args=["build_ext", "--build-lib", work + "/lib", "--build-temp", work + "/tmp"],
)
"""


def build(*, quiet: bool = False) -> Path:
    """Compile the engine for the current source (nothing to do if built); the build folder."""
    import shutil
    import subprocess
    import tempfile

    target = builds_dir() / build_id()
    if (target / _DONE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".building-") as work:
        # The package's modules, copied where nothing else sits beside them: installed, the
        # package's neighbours in site-packages would look to mypy like the project's own.
        sources = Path(work) / "src"
        (sources / "bot").mkdir(parents=True)
        for module in PACKAGE.glob("*.py"):
            shutil.copyfile(module, sources / "bot" / module.name)
        files = [str(source(module, sources).relative_to(sources)) for module in ENGINE]
        output = subprocess.run(
            [sys.executable, "-c", _BUILD, work, GROUP, *files],
            cwd=sources,
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode != 0:
            tail = (output.stdout + output.stderr).strip().splitlines()[-12:]
            raise RuntimeError("mypyc failed:\n" + "\n".join(tail))
        staged = Path(work) / "out"
        staged.mkdir()
        built = Path(work) / "lib"
        for name, location in _libraries(staged).items():
            compiled = built.joinpath(*name.split(".")).with_suffix(_SUFFIX)
            shutil.move(compiled, location)
        (staged / _DONE).write_text(" ".join(ENGINE) + "\n", encoding="utf-8")
        for old in target.parent.iterdir():
            if old.is_dir() and not old.name.startswith(".") and old != target:
                shutil.rmtree(old, ignore_errors=True)  # builds of older sources
        try:
            os.replace(staged, target)
        except OSError:
            if not (target / _DONE).exists():
                raise
            return target  # another set-up built the same source meanwhile
    if not quiet:
        print(f"ftpcode: compiled the scan engine into {target}", file=sys.stderr)
    return target


def main(args: Sequence[str]) -> int:
    """`build` or `status`, for scripts/setup and for people: an exit status."""
    if list(args) == ["build"]:
        try:
            build()
        except (RuntimeError, OSError) as error:
            print(f"ftpcode: could not compile the scan engine ({error}); it runs as Python")
            return 1
        return 0
    if list(args) == ["status"]:
        print("compiled with mypyc" if active() else "Python")
        return 0
    print("usage: bot.native.main(['build']) or (['status'])", file=sys.stderr)
    return 2
