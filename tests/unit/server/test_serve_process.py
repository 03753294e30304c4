"""`labwright serve` as a real process: binds loopback, prints its URL, refuses a busy port."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest

from tests.serving import LABWRIGHT, ROOT, free_port, running_server

pytestmark = pytest.mark.cpython


def test_serve_answers_quickly_on_loopback():
    started = time.monotonic()
    with running_server(timeout=10) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            assert b"Labwright" in response.read()
    # The bound is behaviour, not speed: the server must answer within 10 s.
    assert time.monotonic() - started < 10


def test_serve_prints_its_url():
    port = free_port()
    process = subprocess.Popen(
        [str(LABWRIGHT), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_busy_port_is_reported_and_exits_non_zero():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        completed = subprocess.run(
            [str(LABWRIGHT), "serve", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert completed.returncode != 0
    assert f"port {port}" in completed.stderr and "already in use" in completed.stderr


def test_non_loopback_host_warns():
    port = free_port()
    process = subprocess.Popen(
        [str(LABWRIGHT), "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        assert "WARNING" in process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_second_server_on_the_same_data_dir_exits_with_a_clear_message(tmp_path):
    with running_server(env={"LABWRIGHT_DATA_DIR": str(tmp_path)}) as url:
        second = subprocess.Popen(
            [str(LABWRIGHT), "serve", "--port", str(free_port()), "--data-dir", str(tmp_path)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _, stderr = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            raise AssertionError("a second server started on a data dir that is in use") from None
        assert second.returncode != 0
        assert "another labwright server" in stderr and str(tmp_path) in stderr
        with urllib.request.urlopen(url + "api/v1/health", timeout=5) as response:
            assert response.status == 200  # the first one is untouched
    # once the first has stopped, the data dir is free again
    with running_server(env={"LABWRIGHT_DATA_DIR": str(tmp_path)}) as url:
        with urllib.request.urlopen(url + "api/v1/health", timeout=5) as response:
            assert response.status == 200
