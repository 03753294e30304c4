"""Heartbeat throughput and p99 latency (100 clients each holding a lease, on loopback) and the lease
race, on SQLite and on PostgreSQL with one and with two servers, in the same run.

Run: ``.venv/bin/python -m tests.bench.bench_heartbeats [--clients 100] [--seconds 20]
[--engines sqlite,postgresql]``. Real ``labwright serve`` processes (on PostgreSQL: one server,
then two on the same database, clients split between them) and a real PostgreSQL (the one in
``LABWRIGHT_TEST_POSTGRES``, else one started by ``tests/postgres.py``); the load generator speaks
raw HTTP/1.1 keep-alive over asyncio streams so that the client side costs little of the 2
cores. At the end every lease is checked: held by its client, with exactly as many heartbeats as
answered 200. The lease race: 50 clients (split across the servers) connect to one device at
once, ``--rounds`` times; each round must have exactly one winner. Ratios are against SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


async def _client(index: int, ports: list[int], deadline: float, latencies: list[float],
                  counts: dict[str, int], errors: list[str], interval: float) -> None:
    client, device = f"bench-client-{index}", f"bench-device-{index}"
    port = ports[index % len(ports)]
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


async def _run(ports: list[int], clients: int, seconds: float, rate: float) -> dict:
    latencies: list[float] = []
    counts: dict[str, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    interval = clients / rate if rate else 0.0
    await asyncio.gather(*(_client(i, ports, deadline, latencies, counts, errors, interval)
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


async def _race(ports: list[int], rounds: int, node: str) -> dict:
    """50 clients, split across the servers, connect to one device at once; one must win each round."""
    durations, wrong = [], []
    for round_number in range(rounds):
        connections = []
        for index in range(50):
            port = ports[index % len(ports)]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            connections.append((port, reader, writer, f"racer-{round_number}-{index}"))
        start = asyncio.Event()

        async def one(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str):
            await start.wait()
            writer.write(_request(f"{HARDWARE}/connect", {"device_id": "bench-race", "node": node}, client,
                                  f"127.0.0.1:{port}"))
            status, _ = await _read_response(reader)
            return client, status

        tasks = [asyncio.create_task(one(*c)) for c in connections]
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        start.set()
        outcome = await asyncio.gather(*tasks)
        durations.append(time.perf_counter() - began)
        winners = [client for client, status in outcome if status == 200]
        if len(winners) != 1 or sorted(s for _, s in outcome) != [200] + [409] * 49:
            wrong.append((round_number, sorted(s for _, s in outcome)))
        port, reader, writer, _ = next(c for c in connections if c[3] == winners[0]) if winners else connections[0]
        if winners:
            writer.write(_request(f"{HARDWARE}/disconnect", {"device_id": "bench-race", "node": node}, winners[0],
                                  f"127.0.0.1:{port}"))
            await _read_response(reader)
        for _, _, w, _ in connections:
            w.close()
    return {"rounds": rounds, "one_winner_rounds": rounds - len(wrong), "wrong": wrong[:3],
            "median_round_ms": round(statistics.median(durations) * 1000, 1)}


def _catalog(scratch: str) -> Path:
    catalog = Path(__file__).resolve().parents[2] / "build" / "catalog" / "catalog.json"
    if not catalog.exists():
        from browser_runtime.catalog import build_catalog
        from tests.serving import CATALOG_CACHE

        catalog = Path(scratch) / "catalog.json"
        catalog.write_text(json.dumps(build_catalog(cache_dir=CATALOG_CACHE, geometry=False)))
    return catalog


def scenario(database: str | None, servers: int, clients: int, seconds: float, rate: float,
             rounds: int) -> dict:
    """Heartbeats and the race against ``servers`` servers sharing ``database`` (None: SQLite)."""
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        urls = []
        for index in range(servers):
            env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": f"{scratch}/server-{index}",
                   "LABWRIGHT_CONNECTION_TTL": "600", "LABWRIGHT_MDNS": "0", "LABWRIGHT_NODE": f"bench-{index}",
                   "LABWRIGHT_CATALOG": str(_catalog(scratch))}
            if database:
                env["LABWRIGHT_DATABASE_URL"] = database
            urls.append(stack.enter_context(running_server(env=env, timeout=30)))
        https = [stack.enter_context(httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}))
                 for url in urls]
        for i in range(clients + 1):
            device = "bench-race" if i == clients else f"bench-device-{i}"
            registered = https[0].post(f"{HARDWARE}/register", headers={"X-Labwright-Client": "setup"}, json={
                "device_id": device, "name": device, "backend": BACKEND, "connection_type": "simulator"})
            assert registered.status_code == 201, registered.text
        for i in range(clients):  # each client's lease on the server it will heartbeat through
            connected = https[i % servers].post(f"{HARDWARE}/connect", headers={"X-Labwright-Client": f"bench-client-{i}"},
                                                json={"device_id": f"bench-device-{i}"})
            assert connected.status_code == 200, connected.text
        ports = [int(url.rstrip("/").rpartition(":")[2]) for url in urls]
        result = asyncio.run(_run(ports, clients, seconds, rate))
        leases = {c["device_id"]: c for c in https[0].get(
            f"{HARDWARE}/connections", headers={"X-Labwright-Client": "x"}).json()["connections"]}
        wrong = []
        for i in range(clients):
            lease = leases.get(f"bench-device-{i}")
            expected = result["counts"].get(f"bench-client-{i}")
            if lease is None or lease["client_id"] != f"bench-client-{i}" or lease["heartbeats"] != expected:
                wrong.append((i, lease and lease["client_id"], lease and lease["heartbeats"], expected))
        result["race"] = asyncio.run(_race(ports, rounds, "bench-0"))
    counts = result.pop("counts")
    result["leases_correct"] = f"{clients - len(wrong)}/{clients}"
    result["min_per_client"] = min(counts.values()) if counts else 0
    result["wrong_leases"] = wrong[:10]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="heartbeats/s offered in total (open loop); 0: each client back to back")
    parser.add_argument("--rounds", type=int, default=10, help="lease race rounds per configuration")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    results: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        if "sqlite" in engines:
            results["sqlite, 1 server"] = scenario(None, 1, args.clients, args.seconds, args.rate, args.rounds)
        if "postgresql" in engines:
            from tests.postgres import cluster, fresh_database

            base = stack.enter_context(cluster())
            for servers in (1, 2):
                url = fresh_database(base, f"bench_{servers}")
                results[f"postgresql, {servers} server{'s' if servers > 1 else ''}"] = scenario(
                    url, servers, args.clients, args.seconds, args.rate, args.rounds)
    baseline = results.get("sqlite, 1 server")
    for name, result in results.items():
        if baseline:
            result["throughput_x_sqlite"] = round(result["throughput_per_s"] / baseline["throughput_per_s"], 2)
            result["p99_x_sqlite"] = round(result["p99_ms"] / baseline["p99_ms"], 2)
        print(f"== {name}")
        print(json.dumps(result, indent=2))
    print("\n| configuration | heartbeats/s | p99 ms | × SQLite throughput | race: one winner | race round ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, result in results.items():
        print(f"| {name} | {result['throughput_per_s']} | {result['p99_ms']} | "
              f"{result.get('throughput_x_sqlite', '-')} | {result['race']['one_winner_rounds']}/{result['race']['rounds']} "
              f"| {result['race']['median_round_ms']} |")
    failed = [name for name, result in results.items()
              if result["wrong_leases"] or result["error_count"] or result["race"]["wrong"]]
    if failed:
        print(f"WRONG: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
