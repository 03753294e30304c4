"""The LibCST the page uses: pure-Python in Pyodide, byte-exact, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import libcst
import pytest

import pylabrobot

PLR_ROOT = Path(pylabrobot.__file__).parent
SAMPLE = [
    "liquid_handling/liquid_handler.py",
    "resources/plate.py",
    "resources/corning/plates.py",
    "liquid_handling/backends/hamilton/STAR_backend.py",
    "scales/mettler_toledo_backend.py",
]


@pytest.mark.pyodide
def test_pyodide_uses_the_pure_python_native_module():
    import libcst.native

    assert sys.platform == "emscripten"
    assert libcst.native.__file__.endswith("native.py")


@pytest.mark.parametrize("relative", SAMPLE)
def test_plr_sources_round_trip_byte_exactly(relative: str):
    path = PLR_ROOT / relative
    if not path.exists():
        pytest.fail(f"{relative} is not in the installed PLR; update the sample")
    source = path.read_bytes()
    module = libcst.parse_module(source)
    assert module.bytes == source
    assert any(isinstance(statement, libcst.ClassDef) for statement in module.body) or relative.endswith(
        "plates.py"
    )


@pytest.mark.pyodide
def test_syntax_beyond_the_pure_grammar_is_a_parser_syntax_error():
    source = "x = 1\nmatch x:\n    case 1:\n        pass\n"
    with pytest.raises(libcst.ParserSyntaxError) as caught:
        libcst.parse_module(source)
    assert caught.value.raw_line == 2
    assert caught.value.raw_column >= 0


def test_broken_source_is_a_parser_syntax_error_with_position():
    with pytest.raises(libcst.ParserSyntaxError) as caught:
        libcst.parse_module("def f(:\n    pass\n")
    # The native and pure parsers blame the bad token or the line after it.
    assert caught.value.raw_line in (1, 2)
    assert "Syntax Error @" in str(caught.value)
