"""Bad protocol files give errors with line and column, never a traceback."""

from __future__ import annotations

import json
import sys

import pytest

from browser_runtime.protocols import analyze_file, analyze_source
from browser_runtime.protocols.cli import main

IN_PYODIDE = sys.platform == "emscripten"


def test_syntax_error_gives_line_and_column(protocols_dir, catalog):
    result = analyze_file(protocols_dir / "syntax_error.py", catalog)
    assert result.protocols == []
    [error] = result.errors
    assert error.line in (5, 6) and error.column >= 1
    assert "syntax_error.py" in error.message and "cannot parse" in error.message


def test_match_statement(protocols_dir, catalog):
    result = analyze_file(protocols_dir / "match_statement.py", catalog)
    if IN_PYODIDE:
        # The page's pure-Python parser reads Python 3.8 statement syntax only.
        assert result.protocols == []
        [error] = result.errors
        assert error.line == 8 and error.column >= 1
        assert "newer Python syntax" in error.message
    else:
        assert [p.function for p in result.protocols] == ["choose"] and result.errors == []


@pytest.mark.parametrize("source", ["def f(:\n", "x = (1,\n", "\x00", "if True:\n\tx = 1\n        y = 2\n",
                                    "@protocol_function\n" * 3, "'''unterminated\n"])
def test_garbage_never_raises(catalog, source):
    result = analyze_source(source, "garbage.py", catalog)
    assert isinstance(result.errors, list)
    for error in result.errors:
        assert error.message


def test_non_literal_decorator_arguments_are_errors(protocols_dir, catalog):
    result = analyze_file(protocols_dir / "bad_decorator_args.py", catalog)
    messages = [(e.line, e.message) for e in result.errors]
    assert any(line == 9 and "version must be a literal" in m and "VERSION" in m
               for line, m in messages)
    assert any("data_views[0].source_type" in m for _, m in messages)
    assert any("param_metadata['speed'] names no parameter" in m for _, m in messages)
    assert all(e.line and e.column for e in result.errors)
    assert result.protocols[0].version == "0.1.0"


def test_cli_prints_json(protocols_dir, capsys):
    from tests.fixtures.catalog_fixture import FIXTURE

    code = main(["analyze", str(protocols_dir / "stamp_96_head.py"), "--catalog", str(FIXTURE)])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["protocols"][0]["requirements"]["machines"][0]["capabilities"] == ["head96"]


def test_cli_errors(protocols_dir, capsys):
    from tests.fixtures.catalog_fixture import FIXTURE

    assert main(["analyze", str(protocols_dir / "syntax_error.py"), "--catalog", str(FIXTURE)]) == 1
    assert json.loads(capsys.readouterr().out)["errors"][0]["line"]
    assert main(["analyze", str(protocols_dir / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


@pytest.mark.cpython
def test_cli_default_catalog(protocols_dir, capsys):
    assert main(["analyze", str(protocols_dir / "heater_shaker_incubation.py")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["protocols"][0]["parameters"][0]["machine_kind"] == "heater_shaker"
