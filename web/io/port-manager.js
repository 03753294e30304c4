// The page's one port manager: every serial port, USB and HID device Python uses is opened and
// driven here, on the main thread. The worker reaches it through the IO message protocol
// (io-protocol.js); the device broker (device-broker.js) says who may; one transport module per
// browser API does the work (serial.js with ftdi.js and remote-serial.js, usb.js, hid.js). The
// device picker asks it for devices and their states.
//
// Names: a device is named for Python by a counter per page load (webserial-0, webusb-1), by the
// name the user gave it in the picker (its label), or by its USB id; only its identity
// (identityOf: USB serial number, else USB id) survives reloads and replugs, and only that is
// ever stored.
import { ERRORS, IOError, IO_OPS, asIOError, serveIO } from "./io-protocol.js";
import { driverHelp, explained } from "./driver-help.js";
import { DeviceBroker } from "./device-broker.js";
import { hex4, parseUsbId } from "./bytes.js";
import { FtdiChips } from "./ftdi.js";
import { HidTransport } from "./hid.js";
import { RemoteSerialPort } from "./remote-serial.js";
import { SerialTransport } from "./serial.js";
import { withTimeout } from "./timeouts.js";
import { UsbTransport } from "./usb.js";

// Operations that open a device (checked against the grant once the device is known) and the
// one that touches none; every other operation names an open handle.
const OPENS = new Set([IO_OPS.serialOpen, IO_OPS.usbOpen, IO_OPS.hidOpen]);
const UNGUARDED = new Set([IO_OPS.list]);
// Not device IO, but only for holders of a grant (a run on devices, the console): the operator.
const HOLDERS_ONLY = new Set([IO_OPS.operatorAsk]);

// A device's identity across reloads, replugs and browser restarts: "<kind>:vvvv:pppp:<serial>"
// where the device has a USB serial number, else "<kind>:vvvv:pppp" (the picker tells devices
// sharing it apart by the name the user gives each); "remote:<name>" for a bridge server's port.
export function identityOf(device) {
  if (device.remote) return `remote:${device.name}`;
  const id = device.vendorId == null ? "no-usb-id" : `${hex4(device.vendorId)}:${hex4(device.productId)}`;
  return device.serialNumber ? `${device.kind}:${id}:${device.serialNumber}` : `${device.kind}:${id}`;
}

export class PortManager {
  // `serial`, `usb`, `hid`: the browser's APIs (navigator's by default; null: none); `bridge`: the
  // bridge server's client (client/bridge-client.js), for serial ports on the lab PC.
  constructor({ serial, usb, hid, broker, bridge = null } = {}) {
    this.broker = broker ?? new DeviceBroker();
    this.bridge = bridge;
    const nav = globalThis.navigator ?? {};
    this.serial = serial === undefined ? nav.serial ?? null : serial;
    this.usb = usb === undefined ? nav.usb ?? null : usb;
    this.hid = hid === undefined ? nav.hid ?? null : hid;
    this.handles = new Map(); // handle -> OpenDevice
    this.nextHandle = 1;
    this.names = new WeakMap(); // SerialPort / USBDevice / HIDDevice -> its name in this page load
    this.labels = new Map(); // name the user gave a device (the picker) -> the device's name
    this.counters = { serial: 0, usb: 0, hid: 0 };
    this.listeners = new Set();
    this.states = new Map(); // name -> {state, reason}
    this.ftdi = new FtdiChips(this.usb);
    this.transports = {
      serial: new SerialTransport(this, this.serial),
      usb: new UsbTransport(this, this.usb),
      hid: new HidTransport(this, this.hid),
    };
    this.operator = null; // async (grant, prompt) -> answer: who asks the person at the page
    this.operations = {
      [IO_OPS.list]: () => this.list(),
      [IO_OPS.operatorAsk]: (args) => this.askOperator(args),
      ...this.transports.serial.operations(),
      ...this.transports.usb.operations(),
      ...this.transports.hid.operations(),
    };
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
    if (HOLDERS_ONLY.has(op)) {
      if (!this.broker.grants.has(args.grant)) throw new IOError(ERRORS.accessDenied, `${op}: only a run on devices or the console may ask the operator`);
    } else if (!UNGUARDED.has(op) && !OPENS.has(op)) {
      this.broker.authorizeHandle(op, args.grant ?? null, args.handle, this.handles.get(args.handle)?.name);
    }
    const run = this.operations[op];
    if (!run) throw new IOError(ERRORS.badRequest, `unknown IO operation ${op}`);
    return run(args, timeout);
  }

  // The open device of `kind` behind `handle`, still usable for `op`.
  device(handle, kind, op) {
    const device = this.handles.get(handle);
    if (!device || device.kind !== kind) throw new IOError(ERRORS.invalidState, `${op}: no open ${kind} device with handle ${handle}`);
    device.ensureUsable(op);
    return device;
  }

  // The grant of `args` may open the device named `name`, or the open is refused.
  authorizeOpen(op, args, name) {
    this.broker.authorizeOpen(op, args.grant ?? null, name);
  }

  // Open the device `name` (`open()`, or null when it is open already) within `timeout`, with its
  // state shown as it goes: connecting, then an error with the reason if it fails. A failure the
  // OS explains (a driver holding the device, a permission) says the likely cause and the fix.
  // `api`: "serial" | "usb" | "hid" as the device is reached; `info`: {vendorId, productId, ftdi}.
  async openTarget(kind, name, open, timeout, info = {}) {
    this.setState(name, kind, "connecting");
    try {
      if (open) await withTimeout(open(), timeout, `opening ${name}`);
    } catch (err) {
      // A bridge server's port fails for reasons of its own (the server says which).
      const api = info.remote ? "remote" : info.ftdi ? "usb" : kind;
      const failure = this.blocked(err, `could not open ${name}`, { api, ...info });
      this.setState(name, kind, "error", failure.message);
      throw failure;
    }
  }

  // `err` as the IOError Python gets: a DriverBlocked error with the cause and fix where the OS
  // explains it (driver-help.js), else as asIOError makes it.
  blocked(err, what, { api, step = "open", vendorId = null, productId = null, ftdi = false } = {}) {
    if (err instanceof IOError) return err;
    const help = driverHelp({ api, step, error: err, vendorId, productId, ftdi });
    return help ? new IOError(ERRORS.driver, explained(what, err, help)) : asIOError(err, what);
  }

  // PLR's input() in code holding a grant: the person at the page answers (`this.operator`).
  async askOperator(args) {
    if (!this.operator) throw new IOError(ERRORS.badRequest, `nobody at this page answers prompts (asked: ${args.prompt})`);
    return String((await this.operator(this.broker.grants.get(args.grant), String(args.prompt ?? ""))) ?? "");
  }

  // A grant ends (its run finished): the handles it left open are closed, then its devices go
  // back to whoever lent them, who sets them up again.
  async endGrant(grant) {
    const { handles, restore } = this.broker.revoke(grant);
    for (const handle of handles) await this.close(handle).catch(() => {});
    for (const again of restore) await Promise.resolve().then(again).catch(() => {});
  }

  // `grant` takes the device `name`, handed over by the broker (device-broker.js handOver): the
  // console lends it, a run's is refused unless taken over.
  handOver(name, grant, options = {}) {
    return this.broker.handOver(name, grant, options);
  }

  // Close what `grant` still has open on the device `name` (a holder letting go of it).
  async closeHandlesOf(grant, name) {
    const nameOf = (handle) => this.handles.get(handle)?.name;
    for (const handle of this.broker.handlesOn(grant, name, nameOf)) await this.close(handle).catch(() => {});
  }

  // `grant` lets go of the device `name`: its handles there are closed, the device goes back to
  // whoever lent it (set up again there) or, for the console, to nobody.
  async letGo(grant, name) {
    await this.closeHandlesOf(grant, name);
    const restore = this.broker.letGo(grant, name);
    if (restore) await Promise.resolve().then(restore).catch(() => {});
  }

  // The name the user gave the device `name` (the picker): Python may open it by that name too.
  setLabel(name, label) {
    for (const [key, value] of this.labels) if (value === name || key === label) this.labels.delete(key);
    if (label) this.labels.set(label, name);
  }

  labelOf(name) {
    for (const [label, value] of this.labels) if (value === name) return label;
    return null;
  }

  register(device, grant) {
    const handle = this.nextHandle++;
    this.handles.set(handle, device);
    this.broker.opened(handle, grant);
    this.setState(device.name, device.kind, "connected");
    return handle;
  }

  isOpen(target) {
    for (const device of this.handles.values()) if (device.target === target && !device.closed) return true;
    return false;
  }

  // Every device the page was granted (and remote port added), with its state, identity and label.
  async list() {
    const devices = [
      ...(await this.transports.serial.list()),
      ...(await this.transports.usb.list()),
      ...(await this.transports.hid.list()),
    ];
    for (const device of devices) {
      device.id = identityOf(device);
      device.label = this.labelOf(device.name);
    }
    return devices;
  }

  // Names of the granted devices a hardware run's selectors name: [{port} | {vid, pid}], where a
  // port is a device's name or a "VVVV:PPPP" USB id.
  async resolve(selectors) {
    const devices = await this.list();
    const names = new Set();
    const matches = (device, { vid, pid }) => device.vendorId === vid && device.productId === pid;
    for (const selector of selectors) {
      if (selector.port && this.labels.has(selector.port)) {
        names.add(this.labels.get(selector.port));
        continue;
      }
      const id = selector.port ? parseUsbId(selector.port) : selector;
      for (const device of devices) {
        if (selector.port && !id ? device.name === selector.port : matches(device, id)) names.add(device.name);
      }
    }
    return [...names];
  }

  async close(handle) {
    const device = this.handles.get(handle);
    if (!device) return null;
    this.handles.delete(handle);
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
    for (const device of this.handles.values()) {
      if (device.target === target) {
        device.lose("was disconnected (unplugged)");
        this.setState(device.name, kind, "disconnected", "unplugged");
      }
    }
  }

  // USB ids ({vid, pid}) of FTDI chips that do not carry FTDI's own vendor id (from the catalog).
  addFtdiUsbIds(ids) {
    this.ftdi.add(ids);
  }

  isFtdi(device) {
    return this.ftdi.isFtdi(device);
  }

  // A serial port that lives elsewhere: `factory()` returns an object with the SerialPort surface.
  addRemotePort(name, factory) {
    this.transports.serial.addRemote(name, factory);
  }

  // A serial port on the bridge server (real pyserial there), reached over its WebSocket
  // /api/v1/hardware/ws/serial/{path}. Python names it by the returned name ("bridge:<path>").
  // `server` and `token` default to the page's bridge client's (this origin, the #token= it was opened with).
  addBridgePort(path, { server, token, name = `bridge:${path}` } = {}) {
    if (typeof path !== "string" || !path) throw new IOError(ERRORS.badRequest, "a remote port needs the server's port path, e.g. /dev/ttyUSB0");
    const bridge = this.bridge?.with({ server, token });
    if (!bridge?.token) throw new IOError(ERRORS.badRequest, "a remote port needs the bridge server's token (open the URL `labwright serve` printed, it carries #token=…)");
    const port = new RemoteSerialPort(path, { bridge });
    this.addRemotePort(name, () => port);
    this.setState(name, "serial", "available");
    return name;
  }

  // A serial port of another PC of the lab (discovery lists its devices with `node`): this page's
  // server, where this page's client holds the device's lease, writes a single-use ticket for each
  // open, and the socket goes to that PC's server with it; the other PC's token is never needed.
  // Python names it by the returned name ("bridge:<node>:<path>").
  addLabPort(node, deviceId, path, { name = `bridge:${node}:${path}` } = {}) {
    if (!node || !deviceId || !path) throw new IOError(ERRORS.badRequest, "a lab port needs the PC (node), the device id and its port path");
    const bridge = this.bridge;
    if (!bridge?.token) throw new IOError(ERRORS.badRequest, "a lab port needs this page's bridge server token (open the URL `labwright serve` printed, it carries #token=…)");
    const port = new RemoteSerialPort(path, { bridge, ticket: () => bridge.ioTicket(deviceId, node) });
    this.addRemotePort(name, () => port);
    this.setState(name, "serial", "available");
    return name;
  }
}
