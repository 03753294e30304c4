"""Blocking calls work in the page however it booted: `time.sleep`, `run_sync`, `asyncio.run`.

PLR code sleeps and waits synchronously in places; in the page those calls suspend Python
through WebAssembly stack switching (JSPI) while the browser's event loop keeps running. The
heap snapshot set-up makes in Node must keep that working (Pyodide binds `run_sync` while it
initialises, and a snapshot keeps the binding), and so must the snapshot the page saves itself.
"""

from __future__ import annotations

import ast
import json

from tests.e2e.conftest import BOOT_TIMEOUT_MS

# A task scheduled before each blocking call records whether the event loop ran it during the
# call: true only if the call really suspended Python (a busy-wait would starve the loop).
BLOCKING_CALLS = """
import asyncio, json, time
from pyodide.ffi import can_run_sync, run_sync

ran = []
async def mark(label):
    ran.append(label)
async def answer(value):
    await asyncio.sleep(0.01)
    return value

report = {"can_run_sync": can_run_sync()}
asyncio.ensure_future(mark("sleep"))
started = time.monotonic()
time.sleep(0.05)
report["slept_s"] = time.monotonic() - started
report["loop_ran_during_sleep"] = "sleep" in ran
asyncio.ensure_future(mark("run_sync"))
report["run_sync"] = run_sync(answer(1))
report["loop_ran_during_run_sync"] = "run_sync" in ran
report["run_until_complete"] = asyncio.get_event_loop().run_until_complete(answer(2))
report["asyncio_run"] = asyncio.run(answer(3))
json.dumps(report)
"""

EXPECTED = {
    "can_run_sync": True,
    "loop_ran_during_sleep": True,
    "run_sync": 1,
    "loop_ran_during_run_sync": True,
    "run_until_complete": 2,
    "asyncio_run": 3,
}


def blocking_calls(page) -> dict:
    # A Pyodide that dies suspending (SuspendError) never answers: fail in a minute, not hang.
    reply = page.evaluate(
        """code => Promise.race([
            window.labwright.runPython(code),
            new Promise((_, reject) => setTimeout(() => reject(new Error("no answer in 60 s")), 60000)),
        ])""",
        BLOCKING_CALLS,
    )
    report = json.loads(ast.literal_eval(reply))  # runPython answers with the repr
    assert report.pop("slept_s") >= 0.05
    return report


def test_blocking_calls_work_after_the_prebuilt_snapshot_boot(page, server_url):
    page.goto(server_url)
    page.evaluate("window.labwright.ready")
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "prebuilt"
    assert blocking_calls(page) == EXPECTED


def test_blocking_calls_work_after_a_cold_boot_and_its_own_snapshot(context, server_url):
    context.route("**/wheels/snapshot/**", lambda route, request: route.fulfill(status=404, body=""))
    page = context.new_page()
    page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(server_url)
    page.evaluate("window.labwright.ready")
    assert page.evaluate("window.labwright.bootInfo.snapshot") is None
    assert blocking_calls(page) == EXPECTED
    page.reload()
    page.evaluate("window.labwright.ready")
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "local"
    assert blocking_calls(page) == EXPECTED
