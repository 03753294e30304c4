"""What the page's worker imports to become ready, and the versions it reports."""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from dataclasses import asdict, dataclass
from typing import Any

from browser_runtime import IN_PYODIDE

#: Imported before ``ready`` resolves; everything else in the page is imported lazily.
READY_MODULES: tuple[str, ...] = (
    "pylabrobot.liquid_handling",
    "pylabrobot.resources",
    "libcst",
    "browser_runtime",
)


@dataclass(frozen=True)
class Versions:
    python: str
    pylabrobot: str
    libcst: str
    labwright: str


def import_ready_modules() -> Versions:
    """Import what ``ready`` promises and report the versions actually imported."""
    _quiet_import("serial")
    with _without_pyserial_platform_notice():
        for name in READY_MODULES:
            importlib.import_module(name)
    # The page is offline: PLR's call-time labware downloads get the definitions set-up fetched.
    from browser_runtime import plr_offline

    plr_offline.install()
    import libcst
    import pylabrobot

    import browser_runtime

    return Versions(
        python=".".join(str(part) for part in sys.version_info[:3]),
        pylabrobot=pylabrobot.__version__,
        libcst=_libcst_version(libcst),
        labwright=browser_runtime.__version__,
    )


def versions_dict() -> dict[str, str]:
    return asdict(import_ready_modules())


def prepare_worker() -> None:
    """The rest of what the page's worker needs, done before ``ready`` and so held by its heap
    snapshot: every page API area imported (the first requests of a usable page would import
    them otherwise) and PLR's IO classes replaced by the web bridge's (which holds no JS object
    until a device is used). Only the worker calls this: in CPython it would rebind PLR's IO
    classes for the whole process."""
    import importlib.metadata  # noqa: F401 - see below

    from browser_runtime.page import door
    from browser_runtime.webbridge import install

    # importlib.invalidate_caches(), which the worker calls once the files are unpacked, imports
    # importlib.metadata (email, zipfile, csv ...): a third of a second after a restore without it.
    door.functions()  # imports every area
    import browser_runtime.inventory.demo  # noqa: F401 - the session seeds the demo inventory when it opens
    if IN_PYODIDE:
        import pyodide.http  # noqa: F401 - the catalog's first fetch, which every other request waits behind
    with _without_pyserial_platform_notice():
        install()


def _libcst_version(libcst_module: object) -> str:
    version = getattr(libcst_module, "__version__", None) or getattr(
        libcst_module, "LIBCST_VERSION", None
    )
    if version:
        return str(version)
    from importlib.metadata import version as dist_version

    return dist_version("libcst")


class _DropPyserialNotice(io.TextIOBase):
    """stderr minus pyserial's one "don't know how to enumerate ttys" paragraph.

    On emscripten pyserial's ``serial.tools.list_ports`` prints it and raises ImportError, so
    every importer (PLR's ``pylabrobot.io.serial`` among them) prints it again. PLR handles the
    ImportError; the page never lists ports through pyserial (the web bridge does), so the
    paragraph is noise. Everything else written to stderr passes through.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith("don't know how to enumerate ttys"):
            return len(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()


@contextlib.contextmanager
def _without_pyserial_platform_notice() -> Any:
    with contextlib.redirect_stderr(_DropPyserialNotice(sys.stderr)):
        yield


def _quiet_import(name: str) -> None:
    # pyserial prints a page of "no implementation for your platform" on emscripten; in the
    # page only its constants are used (the web bridge moves the bytes), so hush it.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
