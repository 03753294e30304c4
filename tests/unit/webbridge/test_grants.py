"""A simulation, a plan or an estimate never touches hardware: device IO needs a grant it never holds."""

from __future__ import annotations

import pytest

from browser_runtime import webbridge
from browser_runtime.page import runs, schedule
from browser_runtime.runner.plans import PlanError
from browser_runtime.webbridge.grants import DeviceAccessDenied, Grant, holding

# A "simulated" protocol that builds a real scale backend in its body and reads it (the defect
# this guards against: it used to read the live weight of a granted scale).
SNEAKY = '''
from pylabrobot.scales import Scale
from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    real = MettlerToledoWXS205SDUBackend(port="0403:6001")
    await real.setup()
    return await real.get_weight()
'''
# The same at import time of the protocol module (it runs when planning loads nothing, and when
# a run starts).
SNEAKY_AT_IMPORT = '''
import asyncio
from pylabrobot.scales import Scale
from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
from browser_runtime.protocols import protocol_function

asyncio.ensure_future(MettlerToledoWXS205SDUBackend(port="0403:6001").setup())

@protocol_function
async def weigh(scale: Scale) -> float:
    await asyncio.sleep(0.01)
    return await scale.get_weight()
'''


class RecordingTransport:
    """The port manager's place: records every request that would reach a device (none must)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []

    async def request(self, op, args, timeout):  # noqa: ANN001
        self.requests.append((op, args))
        return {"handle": 1, "name": "webserial-0"}

    def request_sync(self, op, args, timeout):  # noqa: ANN001
        self.requests.append((op, args))


@pytest.fixture
def transport():
    recorder = RecordingTransport()
    webbridge.install(transport=recorder)
    yield recorder
    webbridge.uninstall()


def test_a_simulated_run_cannot_open_a_device_its_code_builds(page_session, transport, run_async):
    async def scenario():
        # Even started from a context that holds the console's grant (the REPL), the run has none.
        with holding(Grant("console-token", "console")):
            started = runs.start(page_session, source=SNEAKY)
        return await runs.wait(page_session, started["runId"])

    result = run_async(scenario())
    assert result["status"] == "failed"
    assert result["error"]["type"] == "DeviceAccessDenied"
    message = result["error"]["message"]
    assert "serial port 0403:6001" in message and "simulated run" in message and "never touches hardware" in message
    assert transport.requests == []  # nothing reached the port manager


def test_code_a_protocol_runs_at_import_has_no_grant_either(page_session, transport, run_async):
    async def scenario():
        started = runs.start(page_session, source=SNEAKY_AT_IMPORT)
        return await runs.wait(page_session, started["runId"])

    result = run_async(scenario())
    assert result["status"] == "completed", result["error"]
    assert transport.requests == []


def test_planning_runs_none_of_the_protocols_code(page_session, transport):
    plan = runs.plan(page_session, SNEAKY_AT_IMPORT)
    assert plan["parameters"]["scale"]["kind"] == "machine"
    assert transport.requests == []


def test_an_estimate_cannot_open_a_device(page_session, transport, run_async):
    estimate = run_async(schedule.estimate(page_session, SNEAKY))
    assert estimate["status"] == "failed" and estimate["error"]["type"] == "DeviceAccessDenied"
    assert transport.requests == []


def test_with_a_grant_the_request_carries_its_token(transport, run_async):
    from browser_runtime.webbridge.transport import get_transport

    async def scenario():
        with holding(Grant("t0k3n", "console")):
            return await get_transport().request("serial.open", {"port": "webserial-0"}, timeout=1)

    run_async(scenario())
    assert transport.requests == [("serial.open", {"port": "webserial-0", "grant": "t0k3n"})]
    with pytest.raises(DeviceAccessDenied, match="serial port webserial-0: access denied: this code holds no hardware grant"):
        run_async(get_transport().request("serial.open", {"port": "webserial-0"}, timeout=1))


def test_a_hardware_run_needs_the_grant_of_its_caller(page_session):
    backends = {"scale": {"backend": "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend",
                          "kwargs": {"port": "webserial-0"}}}
    source = SNEAKY.replace("real = MettlerToledoWXS205SDUBackend(port=\"0403:6001\")\n    await real.setup()\n"
                            "    return await real.get_weight()", "return await scale.get_weight()")
    with pytest.raises(PlanError, match="needs its devices granted"):
        runs.start(page_session, source=source, simulate=False, backends=backends)
    assert page_session.history.list() == []
