"""The build never opens a socket: the geometry child blocks and records every attempt."""

from __future__ import annotations

from browser_runtime.catalog.geometry import measure


def test_socket_attempt_in_a_factory_is_blocked_and_recorded(tmp_path):
    root = tmp_path / "netlab"
    root.mkdir()
    (root / "__init__.py").write_text("")
    # The socket use is hidden behind getattr so static analysis cannot see it; the runtime block must.
    (root / "sneaky.py").write_text(
        "import importlib\n"
        "def sneaky_plate(name):\n"
        "  mod = importlib.import_module('soc' + 'ket')\n"
        "  getattr(mod, 'create_connection')(('example.com', 80), timeout=1)\n"
    )
    results, attempts = measure(
        [{"fqn": "netlab.sneaky.sneaky_plate", "module": "netlab.sneaky", "name": "sneaky_plate"}],
        [str(tmp_path)],
        jobs=1,
    )
    assert attempts and attempts[0]["call"] == "socket.create_connection"
    assert "network access is blocked" in results["netlab.sneaky.sneaky_plate"]["error"]


def test_hanging_factory_is_bounded(tmp_path):
    root = tmp_path / "slowlab"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "slow.py").write_text("import time\ndef slow_plate(name):\n  time.sleep(60)\n")
    results, _ = measure(
        [{"fqn": "slowlab.slow.slow_plate", "module": "slowlab.slow", "name": "slow_plate"}],
        [str(tmp_path)],
        timeout=0.5,
        jobs=1,
    )
    assert "TimeoutError" in results["slowlab.slow.slow_plate"]["error"]


def test_full_build_attempts_no_socket(built):
    assert built[0].report.socket_attempts == []
