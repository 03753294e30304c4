// A serial port plugged into the lab PC, driven through the bridge server's remote serial socket
// (WS /api/v1/hardware/ws/serial/{path}, real pyserial there): the SerialPort surface the serial
// transport uses (open, close, readable, writable, setSignals, getSignals, "disconnect" events),
// as JSON control messages and bytes in binary frames (bridge_server/remote_serial.py).
export class RemoteSerialPort extends EventTarget {
  // `bridge`: the bridge server's client (client/bridge-client.js), whose token opens the socket;
  // `ticket()`, when given, is asked before every open for {url, protocols}: another lab PC's port.
  constructor(path, { bridge, ticket = null }) {
    super();
    this.path = path;
    this.bridge = bridge;
    this.ticket = ticket;
    this.url = bridge.socketURL(`/hardware/ws/serial/${encodeURIComponent(path)}`);
    this.socket = null;
    this.readable = null;
    this.writable = null;
    this.pending = new Map(); // request id -> {resolve, reject}
    this.nextId = 1;
  }

  getInfo() {
    return { remote: true, path: this.path };
  }

  async open(options) {
    if (this.socket) throw new DOMException(`${this.path} is already open`, "InvalidStateError");
    const grant = this.ticket ? await this.ticket() : null;
    const socket = grant ? this.bridge.openSocket(grant.url, grant.protocols) : this.bridge.openSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    let controller;
    this.readable = new ReadableStream({ start: (c) => (controller = c) });
    this.controller = controller;
    const opened = new Promise((resolve, reject) => {
      this.opening = { resolve, reject };
    });
    this.whenClosed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(event));
    socket.addEventListener("error", () => {}); // the close event that follows says why
    const { baudRate, dataBits, parity, stopBits, flowControl } = options;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "open", id: 0, baudRate, dataBits, parity, stopBits, flowControl })), { once: true });
    await opened;
    this.writable = new WritableStream({
      write: async (chunk) => {
        if (socket.readyState !== WebSocket.OPEN) {
          // Closing already: let the close event say why (a lost device is a disconnect) first.
          await this.whenClosed;
          throw new DOMException(`${this.path}: the bridge server connection is closed`, "NetworkError");
        }
        socket.send(chunk);
      },
    });
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      try {
        this.controller?.enqueue(new Uint8Array(data));
      } catch {}
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "ready") {
      this.authenticated = true;
      return;
    }
    if (message.type === "opened") {
      this.opening?.resolve();
      this.opening = null;
      return;
    }
    const waiter = message.id != null ? this.pending.get(message.id) : null;
    if (message.type === "error") {
      const error = new DOMException(`${this.path} on the bridge server: ${message.message}`, message.code === "lost" ? "NetworkError" : "InvalidStateError");
      this.lastError = error;
      if (this.opening) {
        this.opening.reject(error);
        this.opening = null;
      } else if (waiter) {
        this.pending.delete(message.id);
        waiter.reject(error);
      }
      return;
    }
    if (waiter) {
      this.pending.delete(message.id);
      waiter.resolve(message);
    }
  }

  // The socket is gone: a close we asked for, a refusal, or the device or server lost.
  closed(event) {
    const asked = this.closing;
    // Browsers hide why a WebSocket handshake failed: before "ready", say what it can be.
    const why = this.authenticated
      ? `the bridge server closed the connection (${event.code}${event.reason ? ` ${event.reason}` : ""})`
      : `the bridge server at ${this.url.split("/api/")[0]} refused the connection or is unreachable (wrong token, or this page's origin is not allowed)`;
    const error = this.lastError ?? new DOMException(`${this.path}: ${why}`, "NetworkError");
    this.authenticated = false;
    this.opening?.reject(error);
    this.opening = null;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    const controller = this.controller;
    this.socket = null;
    this.controller = null;
    this.lastError = null;
    if (asked) {
      try {
        controller?.close();
      } catch {}
      this.resolveClosed?.();
      return;
    }
    try {
      controller?.error(new DOMException(error.message, "NetworkError"));
    } catch {}
    this.dispatchEvent(new Event("disconnect"));
    this.resolveClosed?.();
  }

  request(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new DOMException(`${this.path} is not open`, "InvalidStateError"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ ...message, id }));
    });
  }

  async setSignals(signals) {
    await this.request({ type: "signals", ...signals });
  }

  async getSignals() {
    const { clearToSend, dataSetReady, ringIndicator, dataCarrierDetect } = await this.request({ type: "get-signals" });
    return { clearToSend, dataSetReady, ringIndicator, dataCarrierDetect };
  }

  async close() {
    const socket = this.socket;
    if (!socket) return;
    this.closing = true;
    const gone = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
    try {
      if (socket.readyState === WebSocket.OPEN) await this.request({ type: "close" });
    } catch {}
    socket.close();
    await gone;
    this.closing = false;
  }
}
