"""run_cell: the semantics of the page's runPython, on CPython and inside Pyodide."""

from __future__ import annotations

import pytest

from browser_runtime.evaluate import CellError, new_namespace, run_cell


def test_returns_repr_of_last_expression(run_async):
    namespace = new_namespace()
    assert run_async(run_cell("x = 6\nx * 7", namespace)) == "42"
    assert run_async(run_cell("'text'", namespace)) == "'text'"


def test_statement_only_cell_returns_none_and_keeps_state(run_async):
    namespace = new_namespace()
    assert run_async(run_cell("value = [1, 2]", namespace)) == "None"
    assert run_async(run_cell("value + [3]", namespace)) == "[1, 2, 3]"


def test_top_level_await(run_async):
    namespace = new_namespace()
    code = "import asyncio\nawait asyncio.sleep(0)\nawait asyncio.sleep(0, result='slept')"
    assert run_async(run_cell(code, namespace)) == "'slept'"


def test_exception_carries_user_traceback_with_source_lines(run_async):
    namespace = new_namespace()
    with pytest.raises(CellError) as caught:
        run_async(run_cell("def f():\n    raise ValueError('bad volume')\nf()", namespace))
    error = caught.value
    assert error.type == "ValueError"
    assert error.message == "bad volume"
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert "raise ValueError('bad volume')" in error.traceback
    assert error.traceback.rstrip().endswith("ValueError: bad volume")
    assert "evaluate.py" not in error.traceback


def test_syntax_error_reports_line(run_async):
    with pytest.raises(CellError) as caught:
        run_async(run_cell("x = 1\ny = (", new_namespace()))
    assert caught.value.type == "SyntaxError"
    assert "line 2" in caught.value.traceback


def test_plr_runs_in_a_cell(run_async):
    namespace = new_namespace()
    code = (
        "from pylabrobot.resources import cor_96_wellplate_360uL_Fb\n"
        "plate = cor_96_wellplate_360uL_Fb('plate')\n"
        "(plate.num_items_x, plate.num_items_y, round(plate.get_size_x(), 2))"
    )
    assert run_async(run_cell(code, namespace)) == "(12, 8, 127.76)"
