"""Hardware runs: every machine on a real PLR backend the caller names; never a quiet simulation."""

from __future__ import annotations

import pytest

from browser_runtime.page import runs
from browser_runtime.runner.materialize import materialize
from browser_runtime.runner.planner import Planner
from browser_runtime.runner.plans import PlanError, PlanInputs

WEIGH = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    await scale.zero()
    return await scale.get_weight()
'''
METTLER = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"


def _hardware_plan(catalog, backends):
    return Planner(catalog).plan(PlanInputs(source=WEIGH, simulate=False, backends=backends))


def test_a_hardware_run_without_backends_is_refused_before_anything_runs(page_session):
    with pytest.raises(PlanError, match="needs `backends`"):
        runs.start(page_session, source=WEIGH, simulate=False)
    with pytest.raises(PlanError, match="pass simulate: false"):
        runs.start(page_session, source=WEIGH, simulate=True, backends={"scale": {"backend": METTLER}})
    assert page_session.history.list() == []


def test_a_hardware_run_without_a_grant_for_its_devices_is_refused(page_session):
    backends = {"scale": {"backend": METTLER, "kwargs": {"port": "COM9"}}}
    with pytest.raises(PlanError, match="needs its devices granted"):
        runs.start(page_session, source=WEIGH, simulate=False, backends=backends)
    assert runs.devices(page_session, backends) == {"scale": [{"port": "COM9"}]}
    # Without a port, the devices are the backend's own USB ids (from the catalog).
    assert runs.devices(page_session, {"scale": {"backend": METTLER}}) == {"scale": [{"vid": 0x0403, "pid": 0x6001}]}


def test_the_named_backend_drives_the_frontend_and_the_plan_says_so(plr_catalog):
    plan = _hardware_plan(plr_catalog, {"scale": {"backend": METTLER, "kwargs": {"port": "COM9"}}})
    scale = materialize(plan, plr_catalog).machines["scale"]
    assert type(scale.backend).__name__ == "MettlerToledoWXS205SDUBackend"
    entry = plan.to_dict()["parameters"]["scale"]
    assert entry["hardware"] is True and entry["backend"] == METTLER and entry["asset"] is None
    assert "MettlerToledoWXS205SDUBackend" in entry["reasons"][0]


@pytest.mark.parametrize(("backends", "message"), [
    ({}, "scale: a hardware run needs a backend for every machine"),
    ({"scale": {"backend": "pylabrobot.scales.chatterbox.ScaleChatterboxBackend"}}, "is a simulator"),
    ({"scale": {"backend": "pylabrobot.pumps.cole_parmer.masterflex_backend.MasterflexBackend"}},
     "is not a PLR backend for scale machines"),
    ({"scale": {"backend": METTLER, "kwargs": {"baud": 1}}}, r"backends\.scale\.kwargs: .*baud"),
    ({"scale": {"backend": METTLER, "extra": 1}}, "unknown field"),
    ({"scale": {"backend": METTLER}, "lh": {"backend": METTLER}}, "lh: is not a machine parameter"),
])
def test_bad_backends_are_refused_naming_the_parameter(plr_catalog, backends, message):
    with pytest.raises(PlanError, match=message):
        _hardware_plan(plr_catalog, backends)
