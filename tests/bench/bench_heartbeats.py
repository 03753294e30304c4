"""Heartbeat throughput and p99 latency: 100 clients each holding a lease, on loopback, for 30 s.

Run: ``.venv/bin/python -m tests.bench.bench_heartbeats [--clients 100] [--seconds 30]``.
A real ``labwright serve`` process; the load generator speaks raw HTTP/1.1 keep-alive over
asyncio streams so that the client side costs little of the 2 cores. At the end every lease is
checked: held by its client, with exactly as many heartbeats as answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.serving import running_server

TOKEN = "bench-token-0123456789"
HARDWARE = "/api/v1/hardware"
BACKEND = "pylabrobot.scales.chatterbox.ScaleChatterboxBackend"


def _request(path: str, body: dict, client: str, host: str) -> bytes:
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"X-Labwright-Client: {client}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def _client(index: int, port: int, deadline: float, latencies: list[float],
                  counts: dict[str, int], errors: list[str], interval: float) -> None:
    client, device = f"bench-client-{index}", f"bench-device-{index}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request(f"{HARDWARE}/heartbeat", {"device_id": device}, client, f"127.0.0.1:{port}")
    ok = 0
    next_send = time.perf_counter() + interval * index / 100 if interval else 0.0
    try:
        while time.perf_counter() < deadline:
            if interval:
                # Open loop: each client sends on its own schedule, whatever the server's pace.
                await asyncio.sleep(max(next_send - time.perf_counter(), 0))
                next_send += interval
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status == 200:
                ok += 1
            else:
                errors.append(f"{client}: {status} {body[:200]!r}")
    finally:
        counts[client] = ok
        writer.close()


async def _run(port: int, clients: int, seconds: float, rate: float) -> dict:
    latencies: list[float] = []
    counts: dict[str, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    interval = clients / rate if rate else 0.0
    await asyncio.gather(*(_client(i, port, deadline, latencies, counts, errors, interval)
                           for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients, "offered_per_s": rate or "as fast as answered", "seconds": round(elapsed, 2), "heartbeats": len(latencies),
        "throughput_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2), "errors": errors[:5], "error_count": len(errors),
        "counts": counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="heartbeats/s offered in total (open loop); 0: each client back to back")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": data_dir,
               "LABWRIGHT_CONNECTION_TTL": "600", "LABWRIGHT_MDNS": "0"}
        catalog = Path(__file__).resolve().parents[2] / "build" / "catalog" / "catalog.json"
        if not catalog.exists():
            from browser_runtime.catalog import build_catalog
            from tests.serving import CATALOG_CACHE

            catalog = Path(data_dir) / "catalog.json"
            catalog.write_text(json.dumps(build_catalog(cache_dir=CATALOG_CACHE, geometry=False)))
        env["LABWRIGHT_CATALOG"] = str(catalog)
        with running_server(env=env, timeout=30) as url:
            http = httpx.Client(base_url=url, timeout=120,
                                headers={"Authorization": f"Bearer {TOKEN}"})
            for i in range(args.clients):
                headers = {"X-Labwright-Client": f"bench-client-{i}"}
                registered = http.post(f"{HARDWARE}/register", headers=headers, json={
                    "device_id": f"bench-device-{i}", "name": f"Scale {i}", "backend": BACKEND,
                    "connection_type": "simulator"})
                assert registered.status_code == 201, registered.text
                connected = http.post(f"{HARDWARE}/connect", headers=headers,
                                      json={"device_id": f"bench-device-{i}"})
                assert connected.status_code == 200, connected.text
            port = int(url.rstrip("/").rpartition(":")[2])
            result = asyncio.run(_run(port, args.clients, args.seconds, args.rate))
            leases = {c["device_id"]: c for c in
                      http.get(f"{HARDWARE}/connections", headers={"X-Labwright-Client": "x"}).json()["connections"]}
            wrong = []
            for i in range(args.clients):
                lease = leases.get(f"bench-device-{i}")
                expected = result["counts"].get(f"bench-client-{i}")
                if lease is None or lease["client_id"] != f"bench-client-{i}" or lease["heartbeats"] != expected:
                    wrong.append((i, lease and lease["client_id"], lease and lease["heartbeats"], expected))
            http.close()
    counts = result.pop("counts")
    result["leases_correct"] = f"{args.clients - len(wrong)}/{args.clients}"
    result["min_per_client"] = min(counts.values()) if counts else 0
    print(json.dumps(result, indent=2))
    if wrong:
        print(f"WRONG LEASES: {wrong[:10]}", file=sys.stderr)
        return 1
    return 0 if result["error_count"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
