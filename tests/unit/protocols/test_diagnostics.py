"""The editor's diagnostics: every kind of mistake at its line and column, none of the code run."""

from __future__ import annotations

from browser_runtime.page import protocols

SOURCE = '''import os
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack, Cos_96_wellplate
from browser_runtime.protocols import protocol_function

raise SystemExit("module-level code must not run while diagnosing")

@protocol_function(param_metadata={"volume": {"constraints": {"max": 5}}})
async def dilute(lh: LiquidHandler, tips: TipRack, plate: Plate, volume: float = 10):
    await lh.pick_up_tips(tips["A1"])
    await lh.aspirate(plate["A1"], vols=[volume])
    print(undefined_thing)
'''


def _at(diagnostics, code):
    return [(d["line"], d["column"], d["end_column"], d["severity"], d["message"]) for d in diagnostics
            if d["code"] == code]


def test_each_problem_is_at_its_line_and_column(page_session):
    found = protocols.diagnose(page_session, SOURCE, "dilute.py")
    assert _at(found, "unused-import") == [(1, 7, 9, "warning", "'os' imported but unused"),
                                           (3, 49, 65, "warning",
                                            "'pylabrobot.resources.Cos_96_wellplate' imported but unused")]
    unknown = _at(found, "unknown-plr-name")
    assert unknown and unknown[0][:4] == (3, 49, 65, "error")
    assert "pylabrobot.resources has no 'Cos_96_wellplate'; did you mean" in unknown[0][4]
    assert "Cor_96_wellplate_360ul_Fb" in unknown[0][4]
    assert _at(found, "undefined-name") == [(12, 10, 25, "error", "undefined name 'undefined_thing'")]
    plan = _at(found, "plan")
    assert plan == [(9, 65, 78, "warning", "dilute: volume: parameter 'volume' is 10, above its maximum 5")]


def test_a_syntax_error_is_the_interpreters_own_at_its_place(page_session):
    found = protocols.diagnose(page_session, "x = 1\ndef broken(:\n    pass\n", "broken.py")
    assert [(d["line"], d["column"], d["severity"], d["source"]) for d in found] == [(2, 11, "error", "syntax")]


def test_top_level_await_is_fine_in_a_script(page_session):
    script = "from pylabrobot.resources import Coordinate\nawait foo()\nc = Coordinate(1, 2, 3)\n"
    found = protocols.diagnose(page_session, script, "script.py")
    assert [d["message"] for d in found] == ["undefined name 'foo'"]
