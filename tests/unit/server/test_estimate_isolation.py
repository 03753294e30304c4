"""The scheduler's estimate of a submitted protocol runs the protocol's code in a process of its
own, with time and memory limits: user code can stall, spin, exhaust memory or end its process,
and the server keeps answering (a real `labwright serve`, real protocols)."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge, process_alive

pytestmark = pytest.mark.cpython

SCHEDULE = "api/v1/schedule"
SCALE = "simulator:pylabrobot.scales.chatterbox.ScaleChatterboxBackend"
PROTOCOL = '''
import os, subprocess, time
from pylabrobot.heating_shaking import HeaterShaker
from browser_runtime.protocols import protocol_function

@protocol_function(name="User code", version="1.0.0")
async def user_code(hs: HeaterShaker):
    await hs.lock_plate()
    {body}
    await hs.unlock_plate()
'''


def submit(server: Bridge, body: str, timeout: float = 60):
    source = PROTOCOL.format(body=body)
    return server.post(f"{SCHEDULE}/requests", {"requests": [{"source": source}]}, timeout=timeout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path) -> Iterator[Bridge]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("estimates")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_ESTIMATE_TIME_LIMIT": "4", "LABWRIGHT_ESTIMATE_MEMORY_MB": "512"}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        yield bridge
        bridge.close()


def test_a_good_protocol_is_estimated_out_of_process(server: Bridge):
    response = submit(server, "time.sleep(0)")
    assert response.status_code == 201, response.text
    run = server.http.get(SCHEDULE).json()["runs"][-1]
    assert run["protocol"] == "User code" and run["request"]["duration_s"] > 0
    assert run["request"]["machines"] == [{"parameter": "hs", "kind": "heater_shaker",
                                           "capabilities": ["plate_lock"]}]


def test_heartbeats_answer_while_an_estimate_sleeps(server: Bridge):
    assert server.post(f"{HARDWARE}/connect", {"device_id": SCALE}, client="holder").status_code == 200
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        estimate = pool.submit(submit, server, "time.sleep(3)")
        time.sleep(0.5)  # the estimate is under way: its protocol is sleeping
        beats = []
        for _ in range(3):
            beats.append(server.post(f"{HARDWARE}/heartbeat", {"device_id": SCALE}, client="holder",
                                     timeout=30).status_code)
            # every heartbeat is answered while the protocol still sleeps in its own process
            beats.append("estimate still running" if not estimate.done() else "estimate done")
        assert beats == [200, "estimate still running"] * 3
        assert estimate.result().status_code == 201
    server.post(f"{HARDWARE}/disconnect", {"device_id": SCALE}, client="holder")


def test_a_spinning_protocol_is_stopped_at_the_time_limit(server: Bridge):
    response = submit(server, "while True: pass", timeout=30)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["limit"] == "time" and problem["limit_value"] == 4
    assert "time limit of 4 s" in problem["detail"] and problem["detail"].startswith("requests[0]")
    assert server.http.get("api/v1/health").status_code == 200


def test_os_exit_in_a_protocol_leaves_the_server_up(server: Bridge):
    response = submit(server, "os._exit(7)", timeout=30)
    assert response.status_code == 422, response.text
    assert "exit code 7" in response.json()["detail"]
    assert server.http.get("api/v1/health").status_code == 200
    assert submit(server, "time.sleep(0)").status_code == 201  # and estimates still work


def test_an_estimate_beyond_the_memory_limit_is_refused(server: Bridge):
    response = submit(server, "hog = bytearray(3 * 2**30)", timeout=30)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["limit"] == "memory" and "512 MiB" in problem["detail"]


def test_processes_a_protocol_starts_end_with_its_estimate(server: Bridge, tmp_path: Path):
    pid_file = tmp_path / "child.pid"
    body = f"open({str(pid_file)!r}, 'w').write(str(subprocess.Popen(['sleep', '300']).pid))"
    assert submit(server, body).status_code == 201
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid), f"the protocol's child {pid} outlived its estimate"

