// The page's one port manager: every serial port, USB and HID device Python uses is opened
// and driven here, on the main thread, through navigator.serial / usb / hid. The worker reaches
// it through the IO message protocol (io-protocol.js); the device picker asks it for state.
import { ERRORS, IOError, IO_OPS, serveIO } from "./io-protocol.js";
import { DeviceBroker } from "./device-broker.js";
import { tokenFromFragment } from "./page-token.js";

const EMPTY = new Uint8Array(0);

function hex4(n) {
  return (n ?? 0).toString(16).padStart(4, "0");
}

// Race `promise` against `ms` (null: no limit); the loser is not cancelled, callers that must
// not lose data (USB transferIn) keep the promise themselves.
function withTimeout(promise, ms, what) {
  if (ms === null || ms === undefined) return promise;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new IOError(ERRORS.timeout, `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Uint8Array.from(data);
  throw new IOError(ERRORS.badRequest, `expected bytes, got ${typeof data}`);
}

// Bytes that arrived from a serial port and were not read yet: reads take what they ask for
// and leave the rest, so nothing a device sends is ever dropped.
class ByteQueue {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }
  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  compact() {
    if (this.chunks.length <= 1) return this.chunks[0] ?? EMPTY;
    const all = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [all];
    return all;
  }
  take(n) {
    n = Math.min(n, this.length);
    if (n === 0) return new Uint8Array(0);
    const all = this.compact();
    const out = all.slice(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }
  // Index just past the first occurrence of `terminator`, or -1.
  find(terminator) {
    if (this.length < terminator.length) return -1;
    const all = this.compact();
    outer: for (let i = 0; i + terminator.length <= all.length; i++) {
      for (let j = 0; j < terminator.length; j++) if (all[i + j] !== terminator[j]) continue outer;
      return i + terminator.length;
    }
    return -1;
  }
  clear() {
    const dropped = this.length;
    this.chunks = [];
    this.length = 0;
    return dropped;
  }
}

// One open device (serial port, USB device or HID device) and the operations waiting on it.
class OpenDevice {
  constructor(kind, name, target) {
    this.kind = kind;
    this.name = name;
    this.target = target; // the SerialPort / USBDevice / HIDDevice (or remote port)
    this.closed = false;
    this.lostReason = null;
    this.waiters = new Set(); // functions called whenever data arrives or the device goes
  }
  notify() {
    for (const waiter of [...this.waiters]) waiter();
  }
  ensureUsable(op) {
    if (this.lostReason) throw new IOError(ERRORS.disconnected, `${op}: ${this.name} ${this.lostReason}`);
    if (this.closed) throw new IOError(ERRORS.invalidState, `${op}: ${this.name} is closed`);
  }
  // Wait until `ready()` is true, the device goes, or `ms` passes (then resolve false).
  waitFor(ready, ms, op) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const waiter = () => {
        if (this.lostReason || this.closed) {
          cleanup();
          reject(new IOError(this.lostReason ? ERRORS.disconnected : ERRORS.invalidState, `${op}: ${this.name} ${this.lostReason ?? "was closed"}`));
        } else if (ready()) {
          cleanup();
          resolve(true);
        }
      };
      const cleanup = () => {
        this.waiters.delete(waiter);
        if (timer !== null) clearTimeout(timer);
      };
      this.waiters.add(waiter);
      if (ms !== null && ms !== undefined) timer = setTimeout(() => (cleanup(), resolve(false)), ms);
      waiter();
    });
  }
  lose(reason) {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.notify();
  }
}

// Operations that open a device (checked against the grant once the device is known) and the
// one that touches none; every other operation names an open handle.
const OPENS = new Set([IO_OPS.serialOpen, IO_OPS.usbOpen, IO_OPS.hidOpen]);
const UNGUARDED = new Set([IO_OPS.list]);

export class PortManager {
  constructor({ serial, usb, hid, broker } = {}) {
    this.broker = broker ?? new DeviceBroker();
    const nav = globalThis.navigator ?? {};
    this.serial = serial === undefined ? nav.serial ?? null : serial;
    this.usb = usb === undefined ? nav.usb ?? null : usb;
    this.hid = hid === undefined ? nav.hid ?? null : hid;
    this.open = new Map(); // handle -> OpenDevice
    this.nextHandle = 1;
    this.names = new WeakMap(); // SerialPort / USBDevice / HIDDevice -> stable name
    this.counters = { serial: 0, usb: 0, hid: 0 };
    this.listeners = new Set();
    this.states = new Map(); // name -> {state, reason}
    this.remotes = new Map(); // name -> factory for remote ports (see addRemotePort)
    this.ftdiPorts = new WeakMap(); // USBDevice -> FtdiUsbPort
    this.ftdiUsbIds = new Set(); // "vvvv:pppp" of FTDI chips with an instrument maker's ids
    for (const [kind, api] of [["usb", this.usb], ["hid", this.hid]]) {
      api?.addEventListener?.("disconnect", (event) => this.deviceGone(event.device, kind));
    }
  }

  // Serve the worker's IO requests; returns a function that stops serving.
  attach(worker) {
    return serveIO(worker, (op, args, timeout) => this.handle(op, args, timeout));
  }

  // fn({name, kind, state, reason}) on every connection state change.
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setState(name, kind, state, reason = "") {
    this.states.set(name, { state, reason });
    for (const listener of this.listeners) listener({ name, kind, state, reason });
  }

  nameOf(kind, target) {
    let name = this.names.get(target);
    if (!name) {
      name = `web${kind}-${this.counters[kind]++}`;
      this.names.set(target, name);
    }
    return name;
  }

  async handle(op, args, timeout) {
    // Device IO only for holders of a grant (device-broker.js): opens are checked once the
    // device is found, everything else against the grant that opened the handle.
    if (!UNGUARDED.has(op) && !OPENS.has(op)) {
      this.broker.authorizeHandle(op, args.grant ?? null, args.handle, this.open.get(args.handle)?.name);
    }
    const handlers = {
      [IO_OPS.list]: () => this.list(),
      [IO_OPS.serialOpen]: () => this.serialOpen(args, timeout),
      [IO_OPS.serialClose]: () => this.close(args.handle),
      [IO_OPS.serialWrite]: () => this.serialWrite(args, timeout),
      [IO_OPS.serialRead]: () => this.serialRead(args, timeout),
      [IO_OPS.serialReadUntil]: () => this.serialReadUntil(args, timeout),
      [IO_OPS.serialSignals]: () => this.serialSignals(args, timeout),
      [IO_OPS.serialModem]: () => this.serialModem(args, timeout),
      [IO_OPS.serialDiscardInput]: () => this.device(args.handle, "serial", op).queue.clear(),
      [IO_OPS.serialReconfigure]: () => this.serialReconfigure(args, timeout),
      [IO_OPS.usbOpen]: () => this.usbOpen(args, timeout),
      [IO_OPS.usbClose]: () => this.close(args.handle),
      [IO_OPS.usbSelectConfiguration]: () => this.usbCall(args, timeout, op, (d) => d.configuration?.configurationValue === args.value ? null : d.selectConfiguration(args.value)),
      [IO_OPS.usbClaimInterface]: () =>
        this.usbCall(args, timeout, op, async (d) => {
          await d.claimInterface(args.number);
          if (args.alternate) await d.selectAlternateInterface(args.number, args.alternate);
        }),
      [IO_OPS.usbTransferOut]: () => this.usbTransferOut(args, timeout),
      [IO_OPS.usbTransferIn]: () => this.usbTransferIn(args, timeout),
      [IO_OPS.usbControlIn]: () => this.usbControl(args, timeout, true),
      [IO_OPS.usbControlOut]: () => this.usbControl(args, timeout, false),
      [IO_OPS.hidOpen]: () => this.hidOpen(args, timeout),
      [IO_OPS.hidClose]: () => this.close(args.handle),
      [IO_OPS.hidSendReport]: () => this.hidSendReport(args, timeout),
      [IO_OPS.hidRead]: () => this.hidRead(args, timeout),
    };
    const run = handlers[op];
    if (!run) throw new IOError(ERRORS.badRequest, `unknown IO operation ${op}`);
    return run();
  }

  device(handle, kind, op) {
    const device = this.open.get(handle);
    if (!device || device.kind !== kind) throw new IOError(ERRORS.invalidState, `${op}: no open ${kind} device with handle ${handle}`);
    device.ensureUsable(op);
    return device;
  }

  // The grant of `args` may open the device named `name`, or the open is refused.
  authorizeOpen(op, args, name) {
    this.broker.authorizeOpen(op, args.grant ?? null, name);
  }

  // A grant ends (its run finished): the devices go back, the handles it left open are closed.
  async endGrant(grant) {
    for (const handle of this.broker.revoke(grant)) await this.close(handle).catch(() => {});
  }

  register(device, grant) {
    const handle = this.nextHandle++;
    this.open.set(handle, device);
    this.broker.opened(handle, grant);
    this.setState(device.name, device.kind, "connected");
    return handle;
  }

  isOpen(target) {
    for (const device of this.open.values()) if (device.target === target && !device.closed) return true;
    return false;
  }

  async list() {
    const out = [];
    if (this.serial) {
      for (const port of await this.serial.getPorts()) {
        const info = port.getInfo?.() ?? {};
        const name = this.nameOf("serial", port);
        out.push({ name, kind: "serial", vendorId: info.usbVendorId ?? null, productId: info.usbProductId ?? null, serialNumber: null, productName: null, state: this.states.get(name)?.state ?? "available" });
      }
    }
    for (const name of this.remotes.keys()) out.push({ name, kind: "serial", remote: true, vendorId: null, productId: null, state: this.states.get(name)?.state ?? "available" });
    for (const [kind, api] of [["usb", this.usb], ["hid", this.hid]]) {
      if (!api) continue;
      for (const device of await api.getDevices()) {
        const name = this.nameOf(kind, device);
        out.push({ name, kind, vendorId: device.vendorId, productId: device.productId, serialNumber: device.serialNumber ?? null, productName: device.productName ?? null, state: this.states.get(name)?.state ?? "available" });
      }
    }
    return out;
  }

  // Names of the granted devices a hardware run's selectors name: [{port} | {vid, pid}], where a
  // port is a device's name or a "VVVV:PPPP" USB id.
  async resolve(selectors) {
    const devices = await this.list();
    const names = new Set();
    const matches = (device, vid, pid) => device.vendorId === vid && device.productId === pid;
    for (const selector of selectors) {
      const id = selector.port ? /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(selector.port) : null;
      for (const device of devices) {
        if (selector.port && !id ? device.name === selector.port
          : id ? matches(device, parseInt(id[1], 16), parseInt(id[2], 16)) : matches(device, selector.vid, selector.pid)) {
          names.add(device.name);
        }
      }
    }
    return [...names];
  }

  async close(handle) {
    const device = this.open.get(handle);
    if (!device) return null;
    this.open.delete(handle);
    this.broker.closed(handle);
    device.closed = true;
    device.notify();
    try {
      await device.shutdown?.();
    } finally {
      this.setState(device.name, device.kind, device.lostReason ? "disconnected" : "closed", device.lostReason ?? "");
    }
    return null;
  }

  deviceGone(target, kind) {
    for (const device of this.open.values()) {
      if (device.target === target) {
        device.lose("was disconnected (unplugged)");
        this.setState(device.name, kind, "disconnected", "unplugged");
      }
    }
  }

  // ---------------------------------------------------------------- serial

  async findSerialPort(args) {
    if (args.port && this.remotes.has(args.port)) return { port: this.remotes.get(args.port)(), name: args.port };
    if (!this.serial) throw new IOError(ERRORS.notFound, "this browser has no Web Serial (navigator.serial); use Chrome or Edge");
    const ports = (await this.serial.getPorts()).map((port) => {
      const info = port.getInfo?.() ?? {};
      return { port, name: this.nameOf("serial", port), vid: info.usbVendorId, pid: info.usbProductId };
    });
    const describe = () => ports.map((p) => `${p.name} (${p.vid === undefined ? "no USB id" : `${hex4(p.vid)}:${hex4(p.pid)}`})`).join(", ") || "none";
    // FTDI chips the OS does not make a serial port of are granted as USB devices; they are
    // driven with FTDI's vendor protocol behind the same serial surface (FtdiUsbPort).
    if (this.usb) {
      for (const device of await this.usb.getDevices()) {
        if (!this.isFtdi(device)) continue;
        let port = this.ftdiPorts.get(device);
        if (!port) {
          port = new FtdiUsbPort(device, this.usb);
          this.ftdiPorts.set(device, port);
        }
        this.names.set(port, this.nameOf("usb", device));
        ports.push({ port, name: this.nameOf("usb", device), vid: device.vendorId, pid: device.productId, ftdi: true });
      }
    }
    const preferSerial = (list) => (list.some((p) => !p.ftdi) ? list.filter((p) => !p.ftdi) : list);
    let matches;
    if (args.port) {
      const idMatch = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(args.port);
      matches = idMatch
        ? preferSerial(ports.filter((p) => p.vid === parseInt(idMatch[1], 16) && p.pid === parseInt(idMatch[2], 16)))
        : ports.filter((p) => p.name === args.port);
      if (matches.length === 0) throw new IOError(ERRORS.notFound, `no granted serial port named ${args.port}; granted: ${describe()}`);
    } else {
      matches = preferSerial(ports.filter((p) => p.vid === args.vid && (args.pid == null || p.pid === args.pid)));
      if (matches.length === 0) throw new IOError(ERRORS.notFound, `no granted serial port with USB id ${hex4(args.vid)}:${hex4(args.pid)}; granted: ${describe()} (connect the device first)`);
    }
    if (matches.length > 1) throw new IOError(ERRORS.ambiguous, `several serial ports match (${matches.map((p) => p.name).join(", ")}); pass port= with one of these names`);
    return matches[0];
  }

  async serialOpen(args, timeout) {
    const { port, name } = await this.findSerialPort(args);
    this.authorizeOpen(IO_OPS.serialOpen, args, name);
    if (this.isOpen(port)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    const options = serialOptions(args);
    this.setState(name, "serial", "connecting");
    try {
      await withTimeout(port.open(options), timeout, `opening ${name}`);
    } catch (err) {
      this.setState(name, "serial", "error", err.message);
      if (err instanceof IOError) throw err;
      throw new IOError(ERRORS.device, `could not open ${name}: ${err.name}: ${err.message}`);
    }
    const device = new OpenDevice("serial", name, port);
    device.options = options;
    device.queue = new ByteQueue();
    device.signals = {};
    startSerialIO(device);
    device.shutdown = () => stopSerialIO(device, { close: true });
    const onDisconnect = () => {
      device.lose("was disconnected (unplugged)");
      this.setState(name, "serial", "disconnected", "unplugged");
    };
    port.addEventListener?.("disconnect", onDisconnect);
    device.removeListener = () => port.removeEventListener?.("disconnect", onDisconnect);
    return { handle: this.register(device, args.grant), name };
  }

  async serialReconfigure(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.reconfigure");
    const options = serialOptions({ ...fromSerialOptions(device.options), ...args });
    await stopSerialIO(device, { close: true });
    await withTimeout(device.target.open(options), timeout, `reopening ${device.name}`);
    device.options = options;
    startSerialIO(device);
    if (device.signals && Object.keys(device.signals).length) await device.target.setSignals(device.signals);
    return null;
  }

  async serialWrite(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.write");
    const data = toBytes(args.data);
    try {
      await withTimeout(device.writer.write(data), timeout, `writing to ${device.name}`);
    } catch (err) {
      device.ensureUsable("serial.write");
      if (err instanceof IOError) throw err;
      throw new IOError(ERRORS.device, `writing to ${device.name}: ${err.name}: ${err.message}`);
    }
    return data.length;
  }

  // pyserial's read(n): up to n bytes; waits until n arrived or the timeout passed (null: no limit).
  async serialRead(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.read");
    const size = args.size ?? 1;
    if (size <= 0) return new Uint8Array(0);
    if (device.queue.length < size && timeout !== 0) {
      await device.waitFor(() => device.queue.length >= size, timeout, "serial.read");
    }
    return device.queue.take(size);
  }

  // pyserial's read_until(terminator, size): through the terminator, or what came before the timeout.
  async serialReadUntil(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.readUntil");
    const terminator = toBytes(args.terminator ?? Uint8Array.of(10));
    const size = args.size ?? null;
    const ready = () => device.queue.find(terminator) !== -1 || (size !== null && device.queue.length >= size);
    if (!ready() && timeout !== 0) await device.waitFor(ready, timeout, "serial.readUntil");
    const end = device.queue.find(terminator);
    const n = end !== -1 ? end : device.queue.length;
    return device.queue.take(size === null ? n : Math.min(n, size));
  }

  async serialSignals(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.setSignals");
    const signals = {};
    for (const key of ["dataTerminalReady", "requestToSend", "break"]) if (args[key] !== undefined && args[key] !== null) signals[key] = Boolean(args[key]);
    await withTimeout(device.target.setSignals(signals), timeout, `setting signals on ${device.name}`);
    delete signals.break;
    Object.assign(device.signals, signals);
    return null;
  }

  async serialModem(args, timeout) {
    const device = this.device(args.handle, "serial", "serial.getSignals");
    const signals = await withTimeout(device.target.getSignals(), timeout, `reading signals of ${device.name}`);
    return { dataCarrierDetect: !!signals.dataCarrierDetect, clearToSend: !!signals.clearToSend, ringIndicator: !!signals.ringIndicator, dataSetReady: !!signals.dataSetReady };
  }

  // ---------------------------------------------------------------- USB

  async usbOpen(args, timeout) {
    if (!this.usb) throw new IOError(ERRORS.notFound, "this browser has no WebUSB (navigator.usb); use Chrome or Edge");
    const devices = (await this.usb.getDevices()).filter(
      (d) => d.vendorId === args.vid && d.productId === args.pid && (args.serialNumber == null || d.serialNumber === args.serialNumber),
    );
    if (devices.length === 0) {
      const granted = (await this.usb.getDevices()).map((d) => `${hex4(d.vendorId)}:${hex4(d.productId)}${d.serialNumber ? ` (${d.serialNumber})` : ""}`);
      throw new IOError(ERRORS.notFound, `no granted USB device ${hex4(args.vid)}:${hex4(args.pid)}${args.serialNumber ? ` with serial number ${args.serialNumber}` : ""}; granted: ${granted.join(", ") || "none"} (connect the device first)`);
    }
    const target = devices[0]; // as PLR: the first of several
    const name = this.nameOf("usb", target);
    this.authorizeOpen(IO_OPS.usbOpen, args, name);
    if (this.isOpen(target)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    this.setState(name, "usb", "connecting");
    try {
      if (!target.opened) await withTimeout(target.open(), timeout, `opening ${name}`);
    } catch (err) {
      this.setState(name, "usb", "error", err.message);
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `could not open ${name}: ${err.name}: ${err.message}`);
    }
    const device = new OpenDevice("usb", name, target);
    device.inflight = new Map(); // endpoint -> transferIn promise a timeout left running
    device.shutdown = async () => {
      if (target.opened && !device.lostReason) await target.close().catch(() => {});
    };
    return { handle: this.register(device, args.grant), name, device: describeUsb(target) };
  }

  async usbCall(args, timeout, op, fn) {
    const device = this.device(args.handle, "usb", op);
    try {
      await withTimeout(Promise.resolve(fn(device.target)), timeout, `${op} on ${device.name}`);
    } catch (err) {
      device.ensureUsable(op);
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `${op} on ${device.name}: ${err.name}: ${err.message}`);
    }
    return args.handle && op === IO_OPS.usbSelectConfiguration ? describeUsb(device.target) : null;
  }

  // Rejects with Disconnected as soon as the device goes, whatever `promise` does.
  guard(device, promise, op) {
    return Promise.race([promise, device.waitFor(() => false, null, op)]);
  }

  async usbTransferOut(args, timeout) {
    const device = this.device(args.handle, "usb", "usb.transferOut");
    const data = toBytes(args.data);
    let result;
    try {
      result = await withTimeout(this.guard(device, device.target.transferOut(args.endpoint, data), "usb.transferOut"), timeout, `writing to ${device.name}`);
    } catch (err) {
      device.ensureUsable("usb.transferOut");
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `writing to ${device.name}: ${err.name}: ${err.message}`);
    }
    if (result.status !== "ok") throw new IOError(ERRORS.device, `writing to ${device.name}: endpoint ${args.endpoint} ${result.status}`);
    return result.bytesWritten;
  }

  // A bulk/interrupt IN transfer. WebUSB transfers cannot be cancelled, so one that times out
  // stays in flight and the next read on that endpoint takes its result: no packet is lost.
  async usbTransferIn(args, timeout) {
    const device = this.device(args.handle, "usb", "usb.transferIn");
    let pending = device.inflight.get(args.endpoint);
    if (!pending) {
      pending = device.target.transferIn(args.endpoint, args.length);
      pending.catch(() => {});
      device.inflight.set(args.endpoint, pending);
    }
    let result;
    try {
      result = await withTimeout(this.guard(device, pending, "usb.transferIn"), timeout, `reading from ${device.name}`);
    } catch (err) {
      if (err instanceof IOError && err.type === ERRORS.timeout) throw err; // still in flight
      device.inflight.delete(args.endpoint);
      device.ensureUsable("usb.transferIn");
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `reading from ${device.name}: ${err.name}: ${err.message}`);
    }
    device.inflight.delete(args.endpoint);
    if (result.status === "stall") throw new IOError(ERRORS.device, `reading from ${device.name}: endpoint ${args.endpoint} stalled`);
    const view = result.data ?? new DataView(new ArrayBuffer(0));
    return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
  }

  async usbControl(args, timeout, isIn) {
    const op = isIn ? IO_OPS.usbControlIn : IO_OPS.usbControlOut;
    const device = this.device(args.handle, "usb", op);
    const setup = { requestType: args.requestType, recipient: args.recipient, request: args.request, value: args.value, index: args.index };
    let result;
    try {
      const transfer = isIn ? device.target.controlTransferIn(setup, args.length) : device.target.controlTransferOut(setup, toBytes(args.data ?? EMPTY));
      result = await withTimeout(this.guard(device, transfer, op), timeout, `control transfer on ${device.name}`);
    } catch (err) {
      device.ensureUsable(op);
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `control transfer on ${device.name}: ${err.name}: ${err.message}`);
    }
    if (result.status === "stall") throw new IOError(ERRORS.device, `control transfer on ${device.name} stalled (request ${args.request})`);
    if (!isIn) return result.bytesWritten;
    const view = result.data ?? new DataView(new ArrayBuffer(0));
    return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
  }

  // ---------------------------------------------------------------- HID

  async hidOpen(args, timeout) {
    if (!this.hid) throw new IOError(ERRORS.notFound, "this browser has no WebHID (navigator.hid); use Chrome or Edge");
    const devices = (await this.hid.getDevices()).filter((d) => d.vendorId === args.vid && d.productId === args.pid);
    if (devices.length === 0) throw new IOError(ERRORS.notFound, `no granted HID device ${hex4(args.vid)}:${hex4(args.pid)} (connect the device first)`);
    const target = devices[0]; // WebHID lists one entry per top-level collection; the first is the device's main one
    const name = this.nameOf("hid", target);
    this.authorizeOpen(IO_OPS.hidOpen, args, name);
    if (this.isOpen(target)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    this.setState(name, "hid", "connecting");
    try {
      if (!target.opened) await withTimeout(target.open(), timeout, `opening ${name}`);
    } catch (err) {
      this.setState(name, "hid", "error", err.message);
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `could not open ${name}: ${err.name}: ${err.message}`);
    }
    const device = new OpenDevice("hid", name, target);
    device.reports = []; // input reports not read yet, as hidapi delivers them
    const onReport = (event) => {
      const data = new Uint8Array(event.data.buffer.slice(event.data.byteOffset, event.data.byteOffset + event.data.byteLength));
      // hidapi puts the report id first for numbered reports; unnumbered ones are data only
      device.reports.push(event.reportId ? Uint8Array.of(event.reportId, ...data) : data);
      device.notify();
    };
    target.addEventListener("inputreport", onReport);
    device.shutdown = async () => {
      target.removeEventListener("inputreport", onReport);
      if (target.opened && !device.lostReason) await target.close().catch(() => {});
    };
    return { handle: this.register(device, args.grant), name };
  }

  async hidSendReport(args, timeout) {
    const device = this.device(args.handle, "hid", "hid.sendReport");
    const data = toBytes(args.data);
    try {
      await withTimeout(this.guard(device, device.target.sendReport(args.reportId ?? 0, data), "hid.sendReport"), timeout, `writing to ${device.name}`);
    } catch (err) {
      device.ensureUsable("hid.sendReport");
      throw err instanceof IOError ? err : new IOError(ERRORS.device, `writing to ${device.name}: ${err.name}: ${err.message}`);
    }
    return data.length + 1;
  }

  async hidRead(args, timeout) {
    const device = this.device(args.handle, "hid", "hid.read");
    if (device.reports.length === 0 && timeout !== 0) await device.waitFor(() => device.reports.length > 0, timeout, "hid.read");
    const report = device.reports.shift();
    return report ? report.slice(0, args.size ?? report.length) : new Uint8Array(0);
  }

  // USB ids ({vid, pid}) of FTDI chips that do not carry FTDI's own vendor id.
  addFtdiUsbIds(ids) {
    for (const { vid, pid } of ids) this.ftdiUsbIds.add(`${hex4(vid)}:${hex4(pid)}`);
  }

  isFtdi(device) {
    return device.vendorId === FTDI_VENDOR || this.ftdiUsbIds.has(`${hex4(device.vendorId)}:${hex4(device.productId)}`);
  }

  // ---------------------------------------------------------------- remote serial ports

  // A serial port that lives elsewhere (e.g. the bridge server's /ws/serial/{port}); `factory()`
  // returns an object with the SerialPort surface used here (open, close, readable, writable,
  // setSignals, getSignals, addEventListener("disconnect")).
  addRemotePort(name, factory) {
    this.remotes.set(name, factory);
  }

  // A serial port on the bridge server (real pyserial there), reached over its WebSocket
  // /api/v1/hardware/ws/serial/{path}. Python names it by the returned name ("bridge:<path>").
  // `server` defaults to this page's origin; `token` to the #token= the page was opened with.
  addBridgePort(path, { server = location.origin, token = tokenFromFragment(), name = `bridge:${path}` } = {}) {
    if (typeof path !== "string" || !path) throw new IOError(ERRORS.badRequest, "a remote port needs the server's port path, e.g. /dev/ttyUSB0");
    if (!token) throw new IOError(ERRORS.badRequest, "a remote port needs the bridge server's token (open the URL `labwright serve` printed, it carries #token=…)");
    const port = new RemoteSerialPort(path, { server, token });
    this.addRemotePort(name, () => port);
    this.setState(name, "serial", "available");
    return name;
  }
}

// ---------------------------------------------------------------- FTDI over WebUSB

// FTDI's vendor id; instruments that give their FTDI chip ids of their own are made known by
// PortManager.addFtdiUsbIds (the device picker adds those of the catalog's "ftdi" backends).
const FTDI_VENDOR = 0x0403;

// FTDI's vendor requests (as libftdi and Linux's ftdi_sio send them).
const SIO = { reset: 0, modemCtrl: 1, flowCtrl: 2, baudRate: 3, data: 4, latency: 9 };
const SIO_RESET = { sio: 0, purgeRx: 1, purgeTx: 2 };
const FTDI_PARITY = { none: 0, odd: 1, even: 2, mark: 3, space: 4 };
const FTDI_STOP = { 1: 0, 1.5: 1, 2: 2 };

// The baud divisor of FT232B/FT232R/FT-X chips: a 14-bit integer part and a 3-bit fraction
// (in eighths, oddly encoded), from a 3 MHz base clock.
export function ftdiBaudDivisor(baudRate) {
  const fraction = [0, 3, 2, 4, 1, 5, 6, 7];
  const divisor3 = Math.round(48000000 / (2 * baudRate));
  let divisor = (divisor3 >> 3) | (fraction[divisor3 & 7] << 14);
  if (divisor === 1) divisor = 0; // 3 Mbaud
  else if (divisor === 0x4001) divisor = 1; // 2 Mbaud
  return divisor;
}

export function ftdiDataValue({ dataBits = 8, parity = "none", stopBits = 1 }, breakOn = false) {
  if (!(parity in FTDI_PARITY)) throw new IOError(ERRORS.badRequest, `parity ${parity} is not one an FTDI chip knows`);
  if (!(stopBits in FTDI_STOP)) throw new IOError(ERRORS.badRequest, `stop bits ${stopBits} is not one an FTDI chip knows`);
  return dataBits | (FTDI_PARITY[parity] << 8) | (FTDI_STOP[stopBits] << 11) | (breakOn ? 1 << 14 : 0);
}

// The SerialPort surface the port manager uses, over an FTDI chip's WebUSB interface: settings
// by vendor control transfers, bytes by bulk transfers. Every bulk IN packet starts with two
// modem status bytes, stripped here (and kept for getSignals).
export class FtdiUsbPort extends EventTarget {
  constructor(device, usb) {
    super();
    this.device = device;
    this.readable = null;
    this.writable = null;
    this.modem = 0;
    this.options = null;
    this.breakOn = false;
    usb?.addEventListener?.("disconnect", (event) => {
      if (event.device !== device || !this.readable) return;
      this.lost = true;
      try {
        this.controller?.error(new DOMException("The device has been lost.", "NetworkError"));
      } catch {}
      this.dispatchEvent(new Event("disconnect"));
    });
  }

  getInfo() {
    return { usbVendorId: this.device.vendorId, usbProductId: this.device.productId };
  }

  control(request, value, data = null) {
    const setup = { requestType: "vendor", recipient: "device", request, value, index: this.index };
    return this.device.controlTransferOut(setup, data ?? undefined).then((result) => {
      if (result.status !== "ok") throw new DOMException(`FTDI request ${request} ${result.status}`, "NetworkError");
    });
  }

  async open(options) {
    if (this.readable) throw new DOMException("The port is already open.", "InvalidStateError");
    const device = this.device;
    if (!device.opened) await device.open();
    if (!device.configuration) await device.selectConfiguration(1);
    const iface = device.configuration.interfaces[0];
    const endpoints = iface.alternates[0].endpoints;
    this.inEndpoint = endpoints.find((e) => e.direction === "in" && e.type === "bulk");
    this.outEndpoint = endpoints.find((e) => e.direction === "out" && e.type === "bulk");
    if (!this.inEndpoint || !this.outEndpoint) throw new DOMException("this USB device has no bulk endpoints: not an FTDI chip", "NotSupportedError");
    await device.claimInterface(iface.interfaceNumber);
    this.index = iface.interfaceNumber + 1; // FTDI numbers interfaces A=1, B=2, ...
    const divisor = ftdiBaudDivisor(options.baudRate);
    await this.control(SIO.reset, SIO_RESET.sio);
    await this.device.controlTransferOut({ requestType: "vendor", recipient: "device", request: SIO.baudRate, value: divisor & 0xffff, index: ((divisor >> 16) & 0xff) | 0 });
    await this.control(SIO.data, ftdiDataValue(options));
    await this.device.controlTransferOut({ requestType: "vendor", recipient: "device", request: SIO.flowCtrl, value: 0, index: (options.flowControl === "hardware" ? 0x0100 : 0) | this.index });
    await this.control(SIO.latency, 2); // ms: replies come back promptly
    await this.control(SIO.reset, SIO_RESET.purgeRx);
    await this.control(SIO.reset, SIO_RESET.purgeTx);
    this.options = options;
    this.lost = false;
    this.readable = new ReadableStream({ start: (controller) => (this.controller = controller) });
    this.writable = new WritableStream({
      write: async (chunk) => {
        const result = await device.transferOut(this.outEndpoint.endpointNumber, chunk);
        if (result.status !== "ok") throw new DOMException(`bulk OUT ${result.status}`, "NetworkError");
      },
    });
    this.generation = (this.generation ?? 0) + 1;
    this.reading = this.readLoop(this.generation);
  }

  // One bulk IN transfer at a time; a transfer still pending when the port was closed and
  // reopened hands its bytes to the new stream (WebUSB transfers cannot be cancelled).
  async readLoop(generation) {
    const size = this.inEndpoint.packetSize;
    while (this.readable && !this.lost && generation === this.generation) {
      let result;
      try {
        result = await this.device.transferIn(this.inEndpoint.endpointNumber, size * 8);
      } catch (err) {
        if (!this.readable || generation !== this.generation) return; // closed meanwhile
        this.lost = true;
        try {
          this.controller?.error(new DOMException(err.message, "NetworkError"));
        } catch {}
        return;
      }
      if (!this.controller) return;
      const data = new Uint8Array(result.data?.buffer ?? new ArrayBuffer(0), result.data?.byteOffset ?? 0, result.data?.byteLength ?? 0);
      const payload = [];
      for (let offset = 0; offset < data.length; offset += size) {
        const packet = data.subarray(offset, Math.min(offset + size, data.length));
        if (packet.length >= 1) this.modem = packet[0];
        if (packet.length > 2) payload.push(...packet.subarray(2));
      }
      if (payload.length) {
        try {
          this.controller.enqueue(Uint8Array.from(payload));
        } catch {}
      }
    }
  }

  async setSignals(signals) {
    const { dataTerminalReady, requestToSend } = signals;
    if (dataTerminalReady !== undefined) await this.control(SIO.modemCtrl, 0x0100 | (dataTerminalReady ? 1 : 0));
    if (requestToSend !== undefined) await this.control(SIO.modemCtrl, 0x0200 | (requestToSend ? 2 : 0));
    if (signals.break !== undefined) {
      this.breakOn = Boolean(signals.break);
      await this.control(SIO.data, ftdiDataValue(this.options, this.breakOn));
    }
  }

  async getSignals() {
    return { clearToSend: !!(this.modem & 0x10), dataSetReady: !!(this.modem & 0x20), ringIndicator: !!(this.modem & 0x40), dataCarrierDetect: !!(this.modem & 0x80) };
  }

  async close() {
    const controller = this.controller;
    this.readable = null;
    this.writable = null;
    this.controller = null;
    try {
      controller?.close();
    } catch {}
    if (this.lost || !this.device.opened) return;
    await this.device.releaseInterface?.(this.index - 1).catch(() => {});
    await this.device.close().catch(() => {});
  }
}

// The SerialPort surface the port manager uses (open, close, readable, writable, setSignals,
// getSignals, "disconnect" events), served by the bridge server's remote serial socket: JSON
// control messages, bytes as binary frames (bridge_server/remote_serial.py).
export class RemoteSerialPort extends EventTarget {
  constructor(path, { server, token }) {
    super();
    this.path = path;
    this.url = `${server.replace(/^http/, "ws").replace(/\/$/, "")}/api/v1/hardware/ws/serial/${encodeURIComponent(path)}`;
    this.token = token;
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
    const socket = new WebSocket(this.url, ["labwright", `bearer.${this.token}`]);
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

// pyserial-style settings (already in Web Serial names from Python) -> SerialOptions.
function serialOptions(args) {
  return {
    baudRate: args.baudRate ?? 9600,
    dataBits: args.dataBits ?? 8,
    parity: args.parity ?? "none",
    stopBits: args.stopBits ?? 1,
    flowControl: args.flowControl ?? "none",
    bufferSize: args.bufferSize ?? 65536,
  };
}

function fromSerialOptions(options) {
  const { baudRate, dataBits, parity, stopBits, flowControl, bufferSize } = options;
  return { baudRate, dataBits, parity, stopBits, flowControl, bufferSize };
}

// Keep reading the port into the queue until it is closed or lost. Non-fatal line errors
// (parity, framing, break, overrun) end one readable stream; the port then offers a new one.
function startSerialIO(device) {
  const port = device.target;
  device.writer = port.writable.getWriter();
  device.reading = (async () => {
    while (!device.closed && !device.lostReason && port.readable) {
      const reader = port.readable.getReader();
      device.reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value?.length) {
            device.queue.push(value);
            device.notify();
          }
        }
      } catch (err) {
        if (err?.name === "NetworkError") device.lose("was disconnected (the device was lost)");
        else device.lineError = `${err?.name}: ${err?.message}`;
      } finally {
        try {
          reader.releaseLock();
        } catch {}
        device.reader = null;
      }
      if (device.stopping) break;
    }
  })();
}

async function stopSerialIO(device, { close }) {
  device.stopping = true;
  try {
    await device.reader?.cancel();
  } catch {}
  await device.reading?.catch(() => {});
  try {
    device.writer?.releaseLock();
  } catch {}
  device.writer = null;
  device.stopping = false;
  if (close) {
    if (device.closed) device.removeListener?.();
    await device.target.close().catch(() => {});
  }
}

function describeUsb(device) {
  return {
    vendorId: device.vendorId,
    productId: device.productId,
    serialNumber: device.serialNumber ?? null,
    productName: device.productName ?? null,
    configuration: device.configuration?.configurationValue ?? null,
    configurations: (device.configurations ?? []).map((configuration) => ({
      value: configuration.configurationValue,
      interfaces: configuration.interfaces.map((iface) => ({
        number: iface.interfaceNumber,
        alternates: iface.alternates.map((alt) => ({
          setting: alt.alternateSetting,
          interfaceClass: alt.interfaceClass,
          endpoints: alt.endpoints.map((ep) => ({ number: ep.endpointNumber, direction: ep.direction, type: ep.type, packetSize: ep.packetSize })),
        })),
      })),
    })),
  };
}

// The page's port manager, serving the Python worker's device IO once createLabwright({io}) attaches it.
export function initPortManager() {
  return new PortManager();
}
