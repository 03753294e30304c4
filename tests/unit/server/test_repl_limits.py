"""REPL processes have limits: memory, how many run at once, how much output a statement may
produce; ending a session ends every process its code started (a real `labwright serve`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import running_server
from tests.unit.server.bridge_client import TOKEN, Bridge, process_alive, repl_socket, run_code

pytestmark = pytest.mark.cpython


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path) -> Iterator[Bridge]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("repl-limits")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_REPL_TIME_LIMIT": "20", "LABWRIGHT_REPL_MEMORY_MB": "512",
           "LABWRIGHT_REPL_MAX_SESSIONS": "2"}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        yield bridge
        bridge.close()


def test_a_statement_beyond_the_memory_limit_fails_and_the_session_goes_on(server: Bridge, run_async):
    async def main():
        socket_ = await repl_socket(server.url, "hungry")
        try:
            _, kept = await run_code(socket_, "kept = 7", 1)
            _, hog = await run_code(socket_, "hog = bytearray(3 * 2**30)", 2)
            _, after = await run_code(socket_, "kept", 3)
            return kept, hog, after
        finally:
            await socket_.close()

    kept, hog, after = run_async(main())
    assert kept["error"] is None
    assert hog["type"] == "result" and hog["error"]["type"] == "MemoryError"
    assert after["result"] == "7"


def test_seventeen_megabytes_of_output_are_truncated_with_a_note(server: Bridge, run_async):
    async def main():
        socket_ = await repl_socket(server.url, "loud")
        try:
            streamed, result = await run_code(socket_, "print('x' * 17_000_000)\n'done'", 1, timeout=60)
            _, after = await run_code(socket_, "1 + 1", 2)
            return streamed, result, after
        finally:
            await socket_.close()

    streamed, result, after = run_async(main())
    assert result["type"] == "result" and result["error"] is None and result["result"] == "'done'"
    note = "[output truncated: the statement wrote more than 1,000,000 characters; the rest was dropped]"
    text = "".join(m["text"] for m in streamed if m["type"] == "stream")
    assert text.startswith("x" * 1000) and text.rstrip().endswith(note) and len(text) < 1_000_200
    assert result["output"].rstrip().endswith(note) and len(result["output"]) < 1_000_200
    assert after["result"] == "2"


def test_processes_the_code_started_end_with_the_session(server: Bridge, run_async):
    async def main():
        socket_ = await repl_socket(server.url, "spawner")
        _, started = await run_code(socket_, "import subprocess\nsubprocess.Popen(['sleep', '300']).pid", 1)
        await socket_.close()
        return int(started["result"])

    pid = run_async(main())
    deadline = time.monotonic() + 15
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid), f"process {pid} started in the REPL outlived its session"


def test_sessions_beyond_the_cap_are_refused_with_503(server: Bridge, run_async):
    async def main():
        one, two, three = [await repl_socket(server.url, name) for name in ("cap-1", "cap-2", "cap-3")]
        try:
            _, first = await run_code(one, "1", 1)
            _, second = await run_code(two, "2", 1)
            _, refused = await run_code(three, "3", 1)
            await one.close()  # a session ends: there is room again
            for attempt in range(100):  # the server ends it once it sees the socket close
                _, later = await run_code(three, "3", 2 + attempt)
                if later["type"] == "result":
                    break
                await asyncio.sleep(0.1)
            return first, second, refused, later
        finally:
            for socket_ in (two, three):
                await socket_.close()

    first, second, refused, later = run_async(main())
    assert first["result"] == "1" and second["result"] == "2"
    assert refused["type"] == "error" and refused["status"] == 503
    assert refused["kind"] == "repl-sessions-full" and "all 2 REPL sessions" in refused["detail"]
    assert later["type"] == "result" and later["result"] == "3"

