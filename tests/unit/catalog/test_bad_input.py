"""Bad sources become errors entries; a missing --source is a clear error, not a traceback."""

from __future__ import annotations

import json

from browser_runtime.catalog import build_catalog
from browser_runtime.catalog.cli import main


def _lab_package(tmp_path):
    root = tmp_path / "labware_pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "plates.py").write_text(
        "from pylabrobot.resources.plate import Plate\n"
        "from pylabrobot.resources.corning.plates import cor_96_wellplate_360uL_Fb\n\n"
        "def lab_plate(name: str) -> Plate:\n"
        "  return cor_96_wellplate_360uL_Fb(name)\n"
    )
    (root / "broken.py").write_text("def ok():\n  return 1\n\nvalue = (1 +\n  = 2)\n")
    return root


def test_syntax_error_becomes_an_errors_entry(tmp_path):
    root = _lab_package(tmp_path)
    document = build_catalog([root], tmp_path / "cache", geometry=False)
    errors = [e for e in document["errors"] if e["file"] and e["file"].endswith("broken.py")]
    assert len(errors) == 1
    assert errors[0]["file"] == "labware_pkg/broken.py"
    # LibCST stops at the stray "=" on line 5, column 1.
    assert (errors[0]["line"], errors[0]["column"]) == (5, 1) and "parser error" in errors[0][
        "message"
    ]
    # The rest is still built: PLR itself and the lab's good module.
    assert len(document["machines"]) == 28
    lab = [r for r in document["resources"] if r["fqn"] == "labware_pkg.plates.lab_plate"]
    assert lab and lab[0]["category"] == "plate" and lab[0]["manufacturer"] == "labware_pkg"


def test_missing_source_is_exit_2(tmp_path, capsys):
    assert main(["build", "--source", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_cli_writes_json_to_stdout_and_summary_to_stderr(tmp_path, capsys):
    root = _lab_package(tmp_path)
    assert (
        main(["build", "--source", str(root), "--no-geometry", "--cache-dir", str(tmp_path / "c")])
        == 0
    )
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (
        document["schema_version"] and "machines: 28" in captured.err and "errors:" in captured.err
    )
