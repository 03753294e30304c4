"""The duration model: defaults by command kind, per-backend tables, refined by run history."""

from __future__ import annotations

import pytest

from browser_runtime.runner.history import RunHistory
from browser_runtime.scheduler import DurationModel

STAR = "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"


def ops(*volumes, flow_rate=None):
    return {"ops": [{"volume": v, "flow_rate": flow_rate} for v in volumes]}


def test_liquid_commands_take_longer_with_volume_and_the_slowest_channel_sets_the_pace():
    model = DurationModel()
    small, large = model.duration("aspirate", ops(10, 10)), model.duration("aspirate", ops(10, 200))
    assert large - small == pytest.approx((200 - 10) / 100)  # 100 uL/s default aspiration rate
    assert model.duration("aspirate", ops(200, flow_rate=50)) == pytest.approx(4 + 200 / 50)
    assert model.duration("aspirate96", {"aspiration": {"volume": 100, "flow_rate": None}}) == pytest.approx(7)


def test_reads_temperature_and_unknown_commands():
    model = DurationModel()
    assert model.duration("read_absorbance", {"wells": ["A1"] * 8}) < model.duration("read_absorbance", {})
    assert model.duration("set_temperature", {"temperature": 72.0}) == pytest.approx(1 + 50 / 0.5)
    assert model.duration("frobnicate") == 1.0
    assert model.duration("get_current_temperature") == 0.2


def test_a_backend_table_overrides_the_defaults_for_that_backend_only():
    model = DurationModel(backends={STAR: {"pick_up_tips": {"base_s": 3.0}}})
    assert model.duration("pick_up_tips", {}, STAR) == 3.0
    assert model.duration("pick_up_tips", {}, "other.Backend") == 8.0


@pytest.mark.parametrize("table", [{"aspirate": {"base_s": -1}}, {"aspirate": {"base_s": "fast"}},
                                   {"set_temperature": {"ramp_c_per_s": 0}}])
def test_a_bad_table_entry_is_named(table):
    with pytest.raises(ValueError, match=r"timings\[.*\]\["):
        DurationModel(timings=table)


def _hardware_run(history: RunHistory, run_id: str, seconds: float, simulate: bool = False) -> None:
    plan = {"parameters": {"lh": {"kind": "machine", "backend": STAR}}}
    history.started(run_id, protocol="p", function="f", filename="p.py", source="", parameters={},
                    plan=plan, simulate=simulate)
    events = [{"seq": 0, "type": "command", "t_ms": 1000.0, "machine": "lh", "command": "pick_up_tips",
               "args": {}},
              {"seq": 1, "type": "progress", "t_ms": 1000.0 + seconds * 1000, "commands": 1}]
    history.finished(run_id, {"status": "completed", "duration_ms": seconds * 1000, "error": None,
                              "events": events})


def test_history_of_hardware_runs_refines_the_estimate(tmp_path):
    history = RunHistory(tmp_path / "runs.sqlite")
    for index in range(10):
        _hardware_run(history, f"hw-{index}", 16.0)  # twice the default 8 s
    _hardware_run(history, "sim", 0.001, simulate=True)  # a simulation teaches nothing
    model = DurationModel()
    learned = model.learn_from_history(history.get(r["run_id"]) for r in history.list())
    assert learned == 10
    estimate = model.duration("pick_up_tips", {}, STAR)
    assert 8.0 < estimate < 16.0
    assert estimate == pytest.approx(8.0 * (10 * 2 + 3) / (10 + 3))  # blended with the default
    assert model.learned()[f"{STAR}/pick_up_tips"]["observations"] == 10
    assert model.duration("drop_tips", {}, STAR) == 6.0  # other commands untouched
