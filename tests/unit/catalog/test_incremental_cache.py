"""Per-file results are cached by content hash: a rebuild re-parses exactly the changed files."""

from __future__ import annotations

import shutil
from pathlib import Path

from browser_runtime.catalog import PLRSourceParser, build_catalog
from browser_runtime.catalog.build import installed_plr_root

FILES = [
    "__init__.py",
    "scales/__init__.py",
    "scales/scale.py",
    "scales/scale_backend.py",
    "scales/chatterbox.py",
    "scales/mettler_toledo_backend.py",
]


def _copy_plr_subset(tmp_path: Path) -> Path:
    root = tmp_path / "src" / "pylabrobot"
    plr = installed_plr_root()
    for rel in FILES:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(plr / rel, target)
    return root


def test_rebuild_reparses_only_the_changed_file(tmp_path):
    root = _copy_plr_subset(tmp_path)
    cache = tmp_path / "cache"
    first = PLRSourceParser(cache_dir=cache, jobs=1).parse_roots([root])
    assert sorted(first.parsed) == sorted(f"pylabrobot/{f}" for f in FILES) and first.cached == []

    # A fresh parser (a new process) reads everything back from the disk cache.
    warm = PLRSourceParser(cache_dir=cache, jobs=1).parse_roots([root])
    assert warm.parsed == [] and len(warm.cached) == len(FILES)
    assert warm.modules == first.modules

    changed = root / "scales" / "chatterbox.py"
    changed.write_text(
        changed.read_text() + "\n\nclass ExtraChatterbox(ScaleChatterboxBackend):\n  pass\n"
    )
    again = PLRSourceParser(cache_dir=cache, jobs=1).parse_roots([root])
    assert again.parsed == ["pylabrobot/scales/chatterbox.py"]
    assert "ExtraChatterbox" in again.modules["pylabrobot.scales.chatterbox"]["classes"]


def test_catalog_of_a_source_root_with_the_cache(tmp_path):
    root = _copy_plr_subset(tmp_path)
    document = build_catalog([root], tmp_path / "cache", geometry=False, include_installed=False)
    names = {b["name"]: b for b in document["backends"]}
    assert set(names) == {"ScaleChatterboxBackend", "MettlerToledoWXS205SDUBackend"}
    assert (
        names["ScaleChatterboxBackend"]["simulator"]
        and names["ScaleChatterboxBackend"]["frontend_kind"] == "scale"
    )
    assert [m["kind"] for m in document["machines"]] == ["scale"]
