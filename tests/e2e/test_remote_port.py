"""A page drives a scale plugged into the lab PC: the bridge server's remote serial port, real pyserial."""

from __future__ import annotations

import termios
import textwrap
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import open_dock
from tests.pty_devices import PtyInstrument, PtyScale
from tests.serving import ROOT, running_server

TOKEN = "remote-port-token-0123456789"


@pytest.fixture(scope="module")
def lab_pc() -> Iterator[str]:
    """A bridge server that lists ptys as serial ports (the scale's end is one)."""
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_SERIAL_GLOBS": "/dev/pts/[0-9]*", "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_CATALOG": str(ROOT / "build" / "catalog" / "catalog.json")}
    with running_server(env=env) as url:
        yield url


@pytest.fixture
def scale() -> Iterator[PtyScale]:
    with PtyScale(serial_number="B424242") as device:
        yield device


@pytest.fixture
def remote_page(browser, lab_pc: str):
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{lab_pc}#token={TOKEN}")
    page.evaluate("window.labwright.ready")
    open_dock(page, "devices-dock")
    page.wait_for_function("() => document.querySelector('#device-picker')?.dataset.state === 'ready'")
    yield page
    context.close()


def run(page, code: str) -> str:
    return page.evaluate("(code) => window.labwright.runPython(code)", textwrap.dedent(code))


def run_error(page, code: str) -> str:
    return page.evaluate("(code) => window.labwright.runPython(code).then(() => 'no error', (e) => e.message)",
                         textwrap.dedent(code))


def test_the_workers_scale_backend_drives_a_pty_scale_on_the_server(remote_page, scale: PtyScale) -> None:
    page = remote_page
    page.fill("#device-picker .remote-path", scale.path)
    page.click("#device-picker .remote-port button")
    name = f"bridge:{scale.path}"
    row = page.locator(f"#device-picker li[data-name='{name}']")
    row.wait_for()
    assert "MettlerToledoWXS205SDUBackend" in row.get_attribute("data-backends").split()
    scale.place(12.5)
    run(page, f"""
        from pylabrobot.scales import Scale
        from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
        backend = MettlerToledoWXS205SDUBackend(port={name!r})
        scale = Scale(name="scale", backend=backend, size_x=1, size_y=1, size_z=1)
        await scale.setup()
        await scale.zero()
        """)
    scale.place(20.25)
    run(page, "await scale.tare()")
    scale.place(21.0)
    assert run(page, "(backend.serial_number, await scale.get_weight())") == "('B424242', 0.75)"
    assert scale.received == ["M21 0 0", "I4", "Z", "T", "S"]
    assert page.evaluate(f"() => labwrightPorts.states.get({name!r}).state") == "connected"
    run(page, "await scale.stop()")
    assert page.evaluate(f"() => labwrightPorts.states.get({name!r}).state") == "closed"
    # closed on the server too: set up again at once
    run(page, "await scale.setup()")
    assert run(page, "await scale.get_weight()") == "0.75"
    # the instrument goes away mid-session: a clear error, no hang
    scale.unplug()
    message = run_error(page, "await scale.get_weight()")
    assert "DeviceDisconnectedError" in message
    assert page.evaluate(f"() => labwrightPorts.states.get({name!r}).state") == "disconnected"


def test_a_port_the_server_does_not_list_is_a_clear_error(remote_page) -> None:
    page = remote_page
    name = page.evaluate("() => labwrightPorts.addBridgePort('/dev/not-a-port')")
    message = run_error(page, f"""
        from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
        await MettlerToledoWXS205SDUBackend(port={name!r}).setup()
        """)
    assert "no serial port '/dev/not-a-port' on this server" in message
    wrong = page.evaluate("""() => { const name = labwrightPorts.addBridgePort('/dev/ptmx', {token: 'wrong', name: 'bad-token'});
                                    return name; }""")
    message = run_error(page, f"""
        await MettlerToledoWXS205SDUBackend(port={wrong!r}).setup()
        """)
    assert "could not open bad-token" in message and "refused the connection" in message


def test_the_lab_pcs_serial_ports_are_suggested(scale: PtyScale, remote_page) -> None:
    # The scale's pty exists before the page loads, so the server's discovery lists it.
    options = remote_page.locator("#device-picker datalist#bridge-serial-ports option")
    options.first.wait_for(state="attached")
    assert scale.path in [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert remote_page.get_attribute("#device-picker .remote-path", "list") == "bridge-serial-ports"


def test_the_masterflex_pump_on_the_server_gets_its_line_settings_and_frames(remote_page) -> None:
    """The page's own pump emulator, behind a pty on the lab PC: PLR's backend opens 4800 7O1."""
    page = remote_page
    with PtyInstrument("MasterflexPump") as pump:
        name = page.evaluate("(path) => labwrightPorts.addBridgePort(path)", pump.path)
        run(page, f"""
            from pylabrobot.pumps import Pump
            from pylabrobot.pumps.cole_parmer.masterflex_backend import MasterflexBackend
            pump = Pump(backend=MasterflexBackend(com_port={name!r}))
            await pump.setup()
            await pump.backend.run_revolutions(2.5)  # PLR 0.2.2's Pump does not await its backend
            await pump.backend.halt()
            """)
        # the backend does not wait for the pump's ACK (its send_command returns io.read()
        # unawaited), so the last frame may still be on its way through the server
        expected = ["\x05P02", "\x02P02V2.5G", "\x02P02H"]
        deadline = time.monotonic() + 10
        while pump.received != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        # what the tty keeps of 4800 7O1 (a Linux pty forces CS8 and clears PARENB)
        _, _, cflag, _, ispeed, ospeed, _ = termios.tcgetattr(pump.device)
        assert (ispeed, ospeed, bool(cflag & termios.PARODD)) == (termios.B4800, termios.B4800, True)
        assert pump.received == expected
        assert (pump.get("enquiries"), pump.get("revolutions"), pump.get("running")) == (1, 2.5, False)
        run(page, "await pump.stop()")


def test_a_page_served_by_one_lab_pc_drives_a_scale_on_another(browser, postgres_cluster, tmp_path, scale: PtyScale):
    """Two lab PCs on one PostgreSQL: the page comes from PC B (B's token only), leases the scale
    attached to PC A through B, and its worker drives it through A's remote port with a ticket."""
    if postgres_cluster.startswith("unavailable: "):
        pytest.skip(f"PostgreSQL: {postgres_cluster.removeprefix('unavailable: ')}")
    from tests.postgres import fresh_database

    database = fresh_database(postgres_cluster, f"e2e_lab_{int(time.time() * 1000)}")
    common = {"LABWRIGHT_MDNS": "0", "LABWRIGHT_DATABASE_URL": database,
              "LABWRIGHT_CATALOG": str(ROOT / "build" / "catalog" / "catalog.json")}
    with running_server(env={**common, "LABWRIGHT_TOKEN": "pc-a-only-token-0123", "LABWRIGHT_NODE": "pc-a",
                             "LABWRIGHT_DATA_DIR": str(tmp_path / "a"), "LABWRIGHT_SERIAL_GLOBS": scale.path}), \
            running_server(env={**common, "LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_NODE": "pc-b",
                                "LABWRIGHT_DATA_DIR": str(tmp_path / "b")}) as pc_b:
        context = browser.new_context(service_workers="block")
        try:
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{pc_b}#token={TOKEN}")
            page.evaluate("window.labwright.ready")
            name = page.evaluate("""async (path) => {
              const bridge = labwrightPorts.bridge;  // the page's own client of PC B (its token, its client id)
              let device = null;
              for (let i = 0; i < 100 && !device; i++) {  // PC A announces its devices every 2 s
                const {devices} = await bridge.get('/hardware/discover/serial');
                device = devices.find(d => d.port === path && d.node === 'pc-a');
                if (!device) await new Promise(r => setTimeout(r, 200));
              }
              await bridge.post('/hardware/connect', {device_id: device.id, node: 'pc-a',
                backend: 'pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend'});
              return labwrightPorts.addLabPort('pc-a', device.id, path);
            }""", scale.path)
            assert name == f"bridge:pc-a:{scale.path}"
            scale.place(4.5)
            run(page, f"""
                from pylabrobot.scales import Scale
                from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
                backend = MettlerToledoWXS205SDUBackend(port={name!r})
                scale = Scale(name="scale", backend=backend, size_x=1, size_y=1, size_z=1)
                await scale.setup()
                """)
            assert run(page, "(backend.serial_number, await scale.get_weight())") == "('B424242', 4.5)"
            run(page, "await scale.stop()")
        finally:
            context.close()
