"""Offline answers to what PLR downloads at call time: Opentrons labware definitions.

PLR's opentrons factories (``opentrons_96_tiprack_300ul()``, tube racks, adapters) fetch the
labware's JSON definition from GitHub at a pinned Opentrons commit the first time they are
called (``pylabrobot.resources.opentrons.load._download_file``, cached under ``/tmp``). A lab
is often offline and the page can reach nothing beyond its own origin, so ``install()`` answers
those URLs from the definitions set-up fetched (the data-only package
``labwright_opentrons_labware``, repacked from the pinned PyPI ``opentrons-shared-data``; see
wheels/manifest.json), byte for byte as the file would have been downloaded, and writes PLR's
cache file as PLR would. Anything else still goes to the network through PLR's own download.
The page installs it at boot; CPython callers install it where they run PLR.
"""

from __future__ import annotations

import importlib.resources
import re
import urllib.error
from typing import Any, Callable, Optional

__all__ = ["PLR_OPENTRONS_COMMIT", "definition_bytes", "install", "installed", "uninstall"]

#: The Opentrons commit PLR 0.2.2 downloads definitions from. URLs of any other commit are not
#: answered here: their definitions may differ from the ones set-up fetched.
PLR_OPENTRONS_COMMIT = "5b51a98ce736b2bb5aff780bf3fdf91941a038fa"
_URL = re.compile(
    r"https://raw\.githubusercontent\.com/Opentrons/opentrons/(?P<commit>[0-9a-f]{40})"
    r"/shared-data/labware/definitions/2/(?P<name>[A-Za-z0-9_.\-]+)/(?P<version>\d+)\.json"
)
_DATA_PACKAGE = "labwright_opentrons_labware"
_MODULE = "pylabrobot.resources.opentrons.load"
_state: dict[str, Any] = {"original": None}


def _definitions() -> Optional[Any]:
    try:
        return importlib.resources.files(_DATA_PACKAGE) / "definitions" / "2"
    except ModuleNotFoundError:
        return None


def source() -> Optional[str]:
    """Where the offline definitions come from (``opentrons-shared-data 8.0.0``), if present."""
    try:
        return str(importlib.import_module(_DATA_PACKAGE).SOURCE)
    except ModuleNotFoundError:
        return None


def definition_bytes(name: str, version: int = 1) -> Optional[bytes]:
    """The definition file ``name/version.json`` as set-up fetched it, or None."""
    folder = _definitions()
    if folder is None or "/" in name or name in ("", ".", ".."):
        return None
    path = folder / name / f"{int(version)}.json"
    return path.read_bytes() if path.is_file() else None


def _answer(url: str) -> Optional[bytes]:
    match = _URL.fullmatch(url)
    if match is None or match["commit"] != PLR_OPENTRONS_COMMIT:
        return None
    return definition_bytes(match["name"], int(match["version"]))


def _offline_download(original: Callable[[str, str], bytes]) -> Callable[[str, str], bytes]:
    def _download_file(url: str, local_path: str) -> bytes:
        data = _answer(url)
        if data is None:
            try:
                return original(url, local_path)
            except urllib.error.URLError as error:
                match = _URL.fullmatch(url)
                if match is None or isinstance(error, urllib.error.HTTPError):
                    raise
                raise urllib.error.URLError(
                    f"Opentrons labware {match['name']!r} (definition {match['version']}) is not among "
                    f"the offline definitions ({source() or 'none installed: run scripts/setup.py'}) "
                    f"and downloading {url} failed: {error.reason}"
                ) from error
        with open(local_path, "wb") as cache:  # PLR's own cache, as its download writes it
            cache.write(data)
        return data

    _download_file.__wrapped__ = original  # type: ignore[attr-defined]
    _download_file.__plr_offline__ = True  # type: ignore[attr-defined]
    return _download_file


def install() -> bool:
    """Answer PLR's Opentrons labware downloads offline. Idempotent; False if the definitions
    are not installed (PLR then downloads as usual)."""
    module = importlib.import_module(_MODULE)
    current = module._download_file
    if getattr(current, "__plr_offline__", False):
        return _definitions() is not None
    _state["original"] = current
    module._download_file = _offline_download(current)
    return _definitions() is not None


def installed() -> bool:
    import sys

    module = sys.modules.get(_MODULE)
    return bool(module is not None and getattr(module._download_file, "__plr_offline__", False))


def uninstall() -> None:
    """Put PLR's own download back (tests share one interpreter)."""
    import sys

    module = sys.modules.get(_MODULE)
    if module is not None and _state["original"] is not None and installed():
        module._download_file = _state["original"]
    _state["original"] = None
