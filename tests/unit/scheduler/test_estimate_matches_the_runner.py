"""The discrete-event estimate runs the real runner: same commands in the same order, on virtual time."""

from __future__ import annotations

import json

import pytest

from browser_runtime.runner import ProtocolRun
from browser_runtime.runner.materialize import materialize
from browser_runtime.runner.planner import Planner
from browser_runtime.runner.plans import PlanInputs
from browser_runtime.runner.run import load_protocol_function
from browser_runtime.scheduler import DurationModel, EstimateError, estimate_protocol

from .conftest import DEMOS

INDEX = json.loads((DEMOS / "index.json").read_text())["protocols"]
PARAMETERS = {"incubation.py": {"seconds": 0.01}}

PARALLEL = '''
import asyncio
from pylabrobot.heating_shaking import HeaterShaker
from pylabrobot.plate_reading import PlateReader
from browser_runtime.protocols import protocol_function

@protocol_function(name="Heat while the reader door cycles", version="1.0.0")
async def parallel(hs: HeaterShaker, reader: PlateReader):
    async def heat():
        await hs.set_temperature(60.0)
        await asyncio.sleep(100)

    async def door():
        await reader.open()
        await asyncio.sleep(50)
        await reader.close()

    await asyncio.gather(heat(), door())
'''

FOREVER = '''
import asyncio
from pylabrobot.heating_shaking import HeaterShaker
from browser_runtime.protocols import protocol_function

@protocol_function(name="Never done", version="1.0.0")
async def forever(hs: HeaterShaker):
    while True:
        await asyncio.sleep(3600)
'''


@pytest.mark.parametrize("demo", [entry["file"] for entry in INDEX])
def test_estimate_has_the_commands_of_a_simulated_run_in_order(run_async, plr_catalog, demo):
    source = (DEMOS / demo).read_text()
    parameters = PARAMETERS.get(demo, {})
    plan = Planner(plr_catalog).plan(PlanInputs(source=source, filename=demo, parameters=parameters))
    built = materialize(plan, plr_catalog)
    function = load_protocol_function(source, demo, plan.function)
    actual = run_async(ProtocolRun(function, built.arguments, built.machines, built.deck).execute())
    assert actual.status == "completed", actual.error
    ran = [(e["machine"], e["command"]) for e in actual.events if e["type"] == "command"]

    estimate = run_async(estimate_protocol(source, plr_catalog, filename=demo, parameters=parameters))
    assert estimate.status == "completed", estimate.error
    assert [(s.machine, s.command) for s in estimate.commands] == ran
    assert len(estimate.commands) == len(ran)
    # Commands follow each other on the clock, and the run lasts as long as its last one.
    model = DurationModel()
    assert estimate.duration_s == pytest.approx(max(s.end_s for s in estimate.commands))
    assert estimate.duration_s >= sum(model.default_duration(c) for _, c in ran if c in ("setup", "stop"))
    for span in estimate.commands:
        assert 0 <= span.start_s <= span.end_s <= estimate.duration_s
    # Per-machine busy intervals cover exactly that machine's commands.
    for machine, intervals in estimate.busy().items():
        spans = [s for s in estimate.commands if s.machine == machine]
        assert intervals[0][0] == min(s.start_s for s in spans)
        assert intervals[-1][1] == max(s.end_s for s in spans)


def test_an_hour_of_incubation_is_an_hour_of_virtual_time(run_async, plr_catalog):
    source = (DEMOS / "incubation.py").read_text()
    short = run_async(estimate_protocol(source, plr_catalog, parameters={"seconds": 60}))
    long = run_async(estimate_protocol(source, plr_catalog, parameters={"seconds": 3600}))
    assert long.command_names() == short.command_names()
    assert long.duration_s - short.duration_s == pytest.approx(3540)
    hot = run_async(estimate_protocol(source, plr_catalog, parameters={"seconds": 60, "temperature": 72.0}))
    # Heating further takes longer: (72 - 37) C at 0.5 C/s is 70 s more.
    assert hot.duration_s - short.duration_s == pytest.approx(70)


def test_concurrent_commands_overlap_on_the_virtual_clock(run_async, plr_catalog):
    estimate = run_async(estimate_protocol(PARALLEL, plr_catalog, filename="parallel.py"))
    assert estimate.status == "completed", estimate.error
    model = DurationModel()
    heat = model.duration("set_temperature", {"temperature": 60.0}) + 100
    door = model.duration("open") + 50 + model.duration("close")
    spans = {(s.machine, s.command): s for s in estimate.commands}
    branches_start = max(s.end_s for s in estimate.commands if s.command == "setup")
    # Both branches of the gather start together; the door's cycle ends long before the heating.
    assert spans["reader", "open"].start_s == spans["hs", "get_current_temperature"].start_s == branches_start
    assert spans["reader", "close"].end_s - spans["reader", "open"].start_s == pytest.approx(door)
    query = model.duration("get_current_temperature")  # PLR's frontend asks before it sets
    assert spans["hs", "deactivate"].start_s - branches_start == pytest.approx(query + heat)
    # Stopping: the heater-shaker deactivates and stops shaking, then each machine stops.
    stopping = sum(model.duration(c) for c in ("deactivate", "stop_shaking", "stop", "stop"))
    assert estimate.duration_s == pytest.approx(branches_start + query + max(heat, door) + stopping)
    busy = estimate.busy()
    hs, reader = busy["hs"], busy["reader"]
    assert any(a < d and c < b for a, b in hs for c, d in reader)  # the two machines overlap


def test_a_protocol_that_never_ends_is_stopped_at_the_virtual_limit(run_async, plr_catalog):
    estimate = run_async(estimate_protocol(FOREVER, plr_catalog, filename="forever.py", limit_s=10 * 3600))
    assert estimate.status == "failed"
    assert estimate.error["type"] == EstimateError.__name__
    assert "virtual time" in estimate.error["message"]


def test_sleep_outside_an_estimate_is_the_real_one(run_async, plr_catalog):
    # The protocol module's asyncio is patched for the estimate; a normal run of the same
    # source (fresh module) and the patched PLR modules still sleep for real outside it.
    import asyncio
    import time

    from browser_runtime.scheduler import simulation

    run_async(estimate_protocol((DEMOS / "incubation.py").read_text(), plr_catalog))

    async def nap() -> float:
        started = time.perf_counter()
        await simulation._sleep(0.05)
        return time.perf_counter() - started

    assert run_async(nap()) >= 0.04
    assert simulation._ASYNCIO.Lock is asyncio.Lock
