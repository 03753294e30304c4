"""Remote serial ports: a serial port on the lab PC (real pyserial) driven by a page over a WebSocket.

``/api/v1/hardware/ws/serial/{port}`` (the port path URL-encoded, e.g. ``%2Fdev%2FttyUSB0``).
Authentication is the bridge's WebSocket model (Origin check, then the token as subprotocol
``bearer.<token>`` or a first ``{type: "auth", token}`` message); the server answers
``{type: "ready", client}``. Then, as JSON text frames (each request may carry an ``id``,
echoed in its answer):

    -> {type: "open", baudRate, dataBits, parity, stopBits, flowControl}   (Web Serial names)
    <- {type: "opened", port, settings}
    -> {type: "signals", dataTerminalReady?, requestToSend?, break?}      <- {type: "ok"}
    -> {type: "get-signals"}
    <- {type: "signals", clearToSend, dataSetReady, ringIndicator, dataCarrierDetect}
    -> {type: "close"}        <- {type: "closed"}, then the socket closes
    <- {type: "error", code, message}                                    (bad request, port lost, ...)

and binary frames carry the bytes, both ways, in order. Only ports the server itself lists
(pyserial's ports plus the configured globs) can be opened, one socket at a time, and not while
another client holds a lease on the port.

A page served by another PC of the lab opens a port here with a ticket instead of this server's
token (subprotocol ``ticket.<t>``, from ``POST /api/v1/hardware/io-tickets`` on its own server):
the ticket names the port and the client, which must hold the device's lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import serial
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server.bridge import Bridge
from bridge_server.routes.common import HARDWARE
from bridge_server.security import authenticate_ticket, authenticate_websocket, websocket_ticket
from browser_runtime.errors import LabwrightError

log = logging.getLogger("labwright")

#: Close codes (4000-4999 are the application's): the page shows the reason.
CLOSE_NOT_FOUND = 4404
CLOSE_IN_USE = 4409
CLOSE_BAD_REQUEST = 4400
CLOSE_LOST = 4410
#: Seconds the client has to send ``open`` after ``ready``.
OPEN_TIMEOUT = 10.0
#: How long the reader thread blocks in one read: bounds how late it notices a close.
_READ_POLL = 0.05

_PARITY = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD,
           "mark": serial.PARITY_MARK, "space": serial.PARITY_SPACE}
_STOP_BITS = {1: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE, 2: serial.STOPBITS_TWO}


class RemoteSerialError(LabwrightError, ValueError):
    """A request the socket cannot serve: ``code`` says which kind, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LineSettings:
    """Web Serial's ``SerialOptions``, checked, and in pyserial's terms."""

    baud_rate: int = 9600
    data_bits: int = 8
    parity: str = "none"
    stop_bits: float = 1
    flow_control: str = "none"

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> LineSettings:
        errors = []
        baud = message.get("baudRate", 9600)
        if not isinstance(baud, int) or isinstance(baud, bool) or not 0 < baud <= 12_000_000:
            errors.append(f"baudRate must be a positive integer up to 12000000, got {baud!r}")
        data_bits = message.get("dataBits", 8)
        if data_bits not in (5, 6, 7, 8) or isinstance(data_bits, bool):
            errors.append(f"dataBits must be 5, 6, 7 or 8, got {data_bits!r}")
        parity = message.get("parity", "none")
        if parity not in _PARITY:
            errors.append(f"parity must be one of {', '.join(_PARITY)}, got {parity!r}")
        stop_bits = message.get("stopBits", 1)
        if stop_bits not in _STOP_BITS or isinstance(stop_bits, bool):
            errors.append(f"stopBits must be 1, 1.5 or 2, got {stop_bits!r}")
        flow = message.get("flowControl", "none")
        if flow not in ("none", "hardware"):
            errors.append(f"flowControl must be 'none' or 'hardware', got {flow!r}")
        if errors:
            raise RemoteSerialError("bad-request", "; ".join(errors))
        return cls(baud, data_bits, parity, stop_bits, flow)

    def to_json(self) -> dict[str, Any]:
        return {"baudRate": self.baud_rate, "dataBits": self.data_bits, "parity": self.parity,
                "stopBits": self.stop_bits, "flowControl": self.flow_control}

    def open(self, path: str) -> serial.Serial:
        # timeout: the reader thread's poll; writes block until the OS took the bytes.
        # exclusive: an flock on the port, so no other program that asks the same (pyserial,
        # another server) talks to the instrument at the same time.
        return serial.Serial(path, baudrate=self.baud_rate, bytesize=self.data_bits,
                             parity=_PARITY[self.parity], stopbits=_STOP_BITS[self.stop_bits],
                             rtscts=self.flow_control == "hardware", timeout=_READ_POLL,
                             write_timeout=10, exclusive=True)


@dataclass
class RemotePorts:
    """Which port paths a socket has open right now (one socket per port)."""

    open: dict[str, str] = field(default_factory=dict)  # path -> client id

    @staticmethod
    def of(websocket: WebSocket) -> RemotePorts:
        state = websocket.app.state
        if not hasattr(state, "remote_serial_ports"):
            state.remote_serial_ports = RemotePorts()
        return state.remote_serial_ports  # type: ignore[no-any-return]


class _Reader(threading.Thread):
    """Reads the port until stopped; hands every chunk (or the error that ended it) to the loop."""

    def __init__(self, port: serial.Serial, loop: asyncio.AbstractEventLoop,
                 queue: asyncio.Queue[bytes | BaseException]) -> None:
        super().__init__(name=f"remote-serial {port.port}", daemon=True)
        self.port = port
        self.loop = loop
        self.queue = queue
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                data = self.port.read(max(1, self.port.in_waiting))
                if data:
                    self.loop.call_soon_threadsafe(self.queue.put_nowait, data)
        except Exception as error:  # noqa: BLE001 - a lost device: reported to the page
            if not self.stopping.is_set():
                self.loop.call_soon_threadsafe(self.queue.put_nowait, error)

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(Exception):
            self.port.cancel_read()
        self.join(timeout=2)


async def _listed_port(bridge: Bridge, path: str) -> dict[str, Any]:
    devices = await bridge.serial()
    device = next((d for d in devices if d["port"] == path), None)
    if device is None:
        listed = ", ".join(sorted(d["port"] for d in devices)) or "none"
        raise RemoteSerialError("not-found", f"no serial port {path!r} on this server; listed: {listed}")
    return device


async def _lab_origins(bridge: Bridge) -> set[str]:
    from bridge_server.bridge import NODE_ALIVE

    return {node["url"] for node in await bridge.store.nodes(NODE_ALIVE) if node["alive"]}


async def serial_socket(websocket: WebSocket) -> None:
    bridge: Bridge = websocket.app.state.bridge
    path = websocket.path_params["port"]
    ticket = websocket_ticket(websocket.scope)
    if ticket is not None:
        granted = await authenticate_ticket(websocket, ticket, bridge.store.redeem_ticket,
                                            lambda: _lab_origins(bridge))
        if granted is None:
            return
        if granted.port != path:
            await websocket.send_json({"type": "error", "code": "bad-ticket",
                                       "message": f"the ticket is for {granted.port}, not {path}"})
            await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad-ticket")
            return
        client = granted.client_id
    else:
        authenticated = await authenticate_websocket(websocket)
        if authenticated is None:
            return
        client = authenticated
    registry = RemotePorts.of(websocket)
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_json(message)

    async def refuse(code: int, error: RemoteSerialError, ident: Any = None) -> None:
        await send({"type": "error", "id": ident, "code": error.code, "message": str(error)})
        await websocket.close(code=code, reason=error.code)

    try:
        device = await _listed_port(bridge, path)
    except RemoteSerialError as error:
        await refuse(CLOSE_NOT_FOUND, error)
        return
    lease = await bridge.store.lease(device["id"])
    if ticket is not None and (lease is None or lease.client_id != client):
        await refuse(CLOSE_IN_USE, RemoteSerialError(
            "not-leased", f"{path}: client {client!r} no longer holds this device's lease"))
        return
    if lease is not None and lease.client_id != client:
        await refuse(CLOSE_IN_USE, RemoteSerialError(
            "in-use", f"{path} is leased to client {lease.client_id!r}; it must disconnect first"))
        return
    if path in registry.open:
        await refuse(CLOSE_IN_USE, RemoteSerialError(
            "in-use", f"{path} is already open by client {registry.open[path]!r} through another socket"))
        return

    try:
        first = json.loads(await asyncio.wait_for(websocket.receive_text(), OPEN_TIMEOUT))
        if not isinstance(first, dict) or first.get("type") != "open":
            raise RemoteSerialError("bad-request", "the first message must be {type: 'open', baudRate, ...}")
        settings = LineSettings.from_message(first)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect) as error:
        if isinstance(error, WebSocketDisconnect):
            return
        reason = error if isinstance(error, RemoteSerialError) else RemoteSerialError(
            "bad-request", f"expected an open message within {OPEN_TIMEOUT:g} s ({type(error).__name__})")
        await refuse(CLOSE_BAD_REQUEST, reason)
        return

    if path in registry.open:  # another socket won the race while this one waited for `open`
        await refuse(CLOSE_IN_USE, RemoteSerialError("in-use", f"{path} was just opened by another socket"))
        return
    registry.open[path] = client
    port: serial.Serial | None = None
    reader: _Reader | None = None
    forwarder: asyncio.Task[None] | None = None
    try:
        try:
            port = await asyncio.to_thread(settings.open, path)
        except (serial.SerialException, OSError, ValueError) as error:
            await refuse(CLOSE_NOT_FOUND, RemoteSerialError("open-failed", f"could not open {path}: {error}"),
                         first.get("id"))
            return
        incoming: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        reader = _Reader(port, asyncio.get_running_loop(), incoming)
        reader.start()
        await send({"type": "opened", "id": first.get("id"), "port": path, "settings": settings.to_json()})
        log.info("remote serial: %s opened %s at %s", client, path, settings.to_json())

        async def forward() -> None:
            while True:
                item = await incoming.get()
                if isinstance(item, BaseException):
                    await refuse(CLOSE_LOST, RemoteSerialError("lost", f"{path} was lost: {item}"))
                    return
                async with send_lock:
                    await websocket.send_bytes(item)

        forwarder = asyncio.create_task(forward())
        closing = await _serve(websocket, port, send)
    except WebSocketDisconnect:
        closing = None
    finally:
        if forwarder is not None:
            forwarder.cancel()
            await asyncio.gather(forwarder, return_exceptions=True)
        if reader is not None:
            await asyncio.to_thread(reader.stop)
        if port is not None:
            await asyncio.to_thread(port.close)
        registry.open.pop(path, None)
    if closing is not None:  # answered once the port is free again, so a reopen succeeds
        with contextlib.suppress(Exception):
            await send({"type": "closed", "id": closing.get("id")})
            await websocket.close(code=1000)


async def _serve(websocket: WebSocket, port: serial.Serial, send: Any) -> dict[str, Any] | None:
    """Bytes to the port, control messages answered, until ``close`` (returned) or the page goes."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("bytes") is not None:
            try:
                await asyncio.to_thread(port.write, message["bytes"])
            except (serial.SerialException, OSError) as error:
                await send({"type": "error", "code": "write-failed",
                            "message": f"writing to {port.port}: {error}"})
            continue
        ident = None
        try:
            request = json.loads(message.get("text") or "")
            if not isinstance(request, dict):
                raise RemoteSerialError("bad-request", "control messages are JSON objects")
            ident = request.get("id")
            kind = request.get("type")
            if kind == "close":
                return request
            if kind == "signals":
                await asyncio.to_thread(_set_signals, port, request)
                await send({"type": "ok", "id": ident})
            elif kind == "get-signals":
                signals = await asyncio.to_thread(lambda: {
                    "clearToSend": bool(port.cts), "dataSetReady": bool(port.dsr),
                    "ringIndicator": bool(port.ri), "dataCarrierDetect": bool(port.cd)})
                await send({"type": "signals", "id": ident, **signals})
            else:
                raise RemoteSerialError("bad-request", f"unknown message type {kind!r}: expected signals, "
                                                       "get-signals or close (bytes go as binary frames)")
        except ValueError as error:
            code = error.code if isinstance(error, RemoteSerialError) else "bad-request"
            await send({"type": "error", "id": ident, "code": code, "message": str(error)})
        except (serial.SerialException, OSError) as error:
            await send({"type": "error", "id": ident, "code": "device", "message": f"{port.port}: {error}"})


def _set_signals(port: serial.Serial, request: dict[str, Any]) -> None:
    for key in ("dataTerminalReady", "requestToSend", "break"):
        value = request.get(key)
        if value is not None and not isinstance(value, bool):
            raise RemoteSerialError("bad-request", f"{key} must be true or false, got {value!r}")
    if request.get("dataTerminalReady") is not None:
        port.dtr = request["dataTerminalReady"]
    if request.get("requestToSend") is not None:
        port.rts = request["requestToSend"]
    if request.get("break") is not None:
        port.break_condition = request["break"]


ROUTES = [
    WebSocketRoute(f"{HARDWARE}/ws/serial/{{port:path}}", serial_socket),
]
