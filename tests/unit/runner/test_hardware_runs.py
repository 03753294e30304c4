"""Hardware runs: every machine on a real PLR backend the caller names; never a quiet simulation."""

from __future__ import annotations

import pytest

from browser_runtime.runner import page_api
from browser_runtime.runner.plan import PlanError, prepare_run

WEIGH = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    await scale.zero()
    return await scale.get_weight()
'''
METTLER = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"


def test_a_hardware_run_without_backends_is_refused_before_anything_runs(run_async):
    with pytest.raises(PlanError, match="needs `backends`"):
        run_async(page_api.start(WEIGH, simulate=False))
    with pytest.raises(PlanError, match="pass simulate: false"):
        run_async(page_api.start(WEIGH, simulate=True, backends={"scale": {"backend": METTLER}}))


def test_the_named_backend_drives_the_frontend_and_the_plan_says_so(plr_catalog):
    prepared = prepare_run(WEIGH, None, {}, plr_catalog, backends={"scale": {"backend": METTLER, "kwargs": {"port": "COM9"}}})
    scale = prepared.machines["scale"]
    assert type(scale.backend).__name__ == "MettlerToledoWXS205SDUBackend"
    entry = prepared.plan["parameters"]["scale"]
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
        prepare_run(WEIGH, None, {}, plr_catalog, backends=backends)
