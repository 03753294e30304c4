// Serial ports for Python's pyserial-style IO (webbridge's Serial): granted Web Serial ports, FTDI
// chips the OS made no serial port of (driven over WebUSB, ftdi.js) and ports on the bridge server
// (remote-serial.js), all behind the SerialPort surface; what arrives is kept in a byte queue.
import { ERRORS, IO_OPS, IOError } from "./io-protocol.js";
import { ByteQueue } from "./byte-queue.js";
import { hex4, parseUsbId, toBytes } from "./bytes.js";
import { OpenDevice } from "./open-device.js";
import { startSerialIO, stopSerialIO } from "./serial-streams.js";
import { withTimeout } from "./timeouts.js";

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

export class SerialTransport {
  // `manager`: the port manager (names, states, handles, grants); `serial`: navigator.serial or null.
  constructor(manager, serial) {
    this.manager = manager;
    this.serial = serial;
    this.remotes = new Map(); // name -> factory of a port that lives elsewhere (addRemote)
  }

  operations() {
    return {
      [IO_OPS.serialOpen]: (args, timeout) => this.open(args, timeout),
      [IO_OPS.serialClose]: (args) => this.manager.close(args.handle),
      [IO_OPS.serialWrite]: (args, timeout) => this.write(args, timeout),
      [IO_OPS.serialRead]: (args, timeout) => this.read(args, timeout),
      [IO_OPS.serialReadUntil]: (args, timeout) => this.readUntil(args, timeout),
      [IO_OPS.serialSignals]: (args, timeout) => this.setSignals(args, timeout),
      [IO_OPS.serialModem]: (args, timeout) => this.getSignals(args, timeout),
      [IO_OPS.serialDiscardInput]: (args) => this.device(args.handle, IO_OPS.serialDiscardInput).queue.clear(),
      [IO_OPS.serialReconfigure]: (args, timeout) => this.reconfigure(args, timeout),
    };
  }

  device(handle, op) {
    return this.manager.device(handle, "serial", op);
  }

  // A serial port that lives elsewhere (the bridge server's /ws/serial/{port}); `factory()` returns
  // an object with the SerialPort surface (open, close, readable, writable, setSignals, getSignals,
  // addEventListener("disconnect")).
  addRemote(name, factory) {
    this.remotes.set(name, factory);
  }

  async list() {
    const out = [];
    const state = (name) => this.manager.states.get(name)?.state ?? "available";
    if (this.serial) {
      for (const port of await this.serial.getPorts()) {
        const info = port.getInfo?.() ?? {};
        const name = this.manager.nameOf("serial", port);
        out.push({ name, kind: "serial", vendorId: info.usbVendorId ?? null, productId: info.usbProductId ?? null, serialNumber: null, productName: null, state: state(name) });
      }
    }
    for (const name of this.remotes.keys()) out.push({ name, kind: "serial", remote: true, vendorId: null, productId: null, state: state(name) });
    return out;
  }

  // The one granted port `args` names: {port: name | the user's name for it | "VVVV:PPPP"} or {vid, pid}.
  async find(args) {
    if (args.port && this.manager.labels.has(args.port)) args = { ...args, port: this.manager.labels.get(args.port) };
    if (args.port && this.remotes.has(args.port)) return { port: this.remotes.get(args.port)(), name: args.port, remote: true };
    if (!this.serial) throw new IOError(ERRORS.notFound, "this browser has no Web Serial (navigator.serial); use Chrome or Edge");
    const manager = this.manager;
    const ports = (await this.serial.getPorts()).map((port) => {
      const info = port.getInfo?.() ?? {};
      return { port, name: manager.nameOf("serial", port), vid: info.usbVendorId, pid: info.usbProductId };
    });
    const describe = () => ports.map((p) => `${p.name} (${p.vid === undefined ? "no USB id" : `${hex4(p.vid)}:${hex4(p.pid)}`})`).join(", ") || "none";
    // FTDI chips the OS does not make a serial port of are granted as USB devices; they are
    // driven with FTDI's vendor protocol behind the same serial surface (FtdiUsbPort).
    if (manager.usb) {
      for (const device of await manager.usb.getDevices()) {
        if (!manager.ftdi.isFtdi(device)) continue;
        const port = manager.ftdi.portFor(device);
        const name = manager.nameOf("usb", device);
        manager.names.set(port, name);
        ports.push({ port, name, vid: device.vendorId, pid: device.productId, ftdi: true });
      }
    }
    const preferSerial = (list) => (list.some((p) => !p.ftdi) ? list.filter((p) => !p.ftdi) : list);
    let matches;
    if (args.port) {
      const id = parseUsbId(args.port);
      matches = id ? preferSerial(ports.filter((p) => p.vid === id.vid && p.pid === id.pid)) : ports.filter((p) => p.name === args.port);
      if (matches.length === 0) throw new IOError(ERRORS.notFound, `no granted serial port named ${args.port}; granted: ${describe()}`);
    } else {
      matches = preferSerial(ports.filter((p) => p.vid === args.vid && (args.pid == null || p.pid === args.pid)));
      if (matches.length === 0) throw new IOError(ERRORS.notFound, `no granted serial port with USB id ${hex4(args.vid)}:${hex4(args.pid)}; granted: ${describe()} (connect the device first)`);
    }
    if (matches.length > 1) throw new IOError(ERRORS.ambiguous, `several serial ports match (${matches.map((p) => p.name).join(", ")}); pass port= with one of these names`);
    return matches[0];
  }

  async open(args, timeout) {
    const manager = this.manager;
    const { port, name, vid, pid, ftdi, remote } = await this.find(args);
    manager.authorizeOpen(IO_OPS.serialOpen, args, name);
    if (manager.isOpen(port)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    const options = serialOptions(args);
    await manager.openTarget("serial", name, () => port.open(options), timeout, { vendorId: vid ?? null, productId: pid ?? null, ftdi: Boolean(ftdi), remote: Boolean(remote) });
    const device = new OpenDevice("serial", name, port);
    device.options = options;
    device.queue = new ByteQueue();
    device.signals = {};
    startSerialIO(device);
    device.shutdown = () => stopSerialIO(device, { close: true });
    const onDisconnect = () => {
      device.lose("was disconnected (unplugged)");
      manager.setState(name, "serial", "disconnected", "unplugged");
    };
    port.addEventListener?.("disconnect", onDisconnect);
    device.removeListener = () => port.removeEventListener?.("disconnect", onDisconnect);
    return { handle: manager.register(device, args.grant), name };
  }

  async reconfigure(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialReconfigure);
    const options = serialOptions({ ...fromSerialOptions(device.options), ...args });
    await stopSerialIO(device, { close: true });
    await withTimeout(device.target.open(options), timeout, `reopening ${device.name}`);
    device.options = options;
    startSerialIO(device);
    if (device.signals && Object.keys(device.signals).length) await device.target.setSignals(device.signals);
    return null;
  }

  async write(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialWrite);
    const data = toBytes(args.data);
    // Not guarded: a port that goes fails its stream, and the write with it.
    await device.perform(IO_OPS.serialWrite, () => device.writer.write(data), { timeout, what: `writing to ${device.name}`, guarded: false });
    return data.length;
  }

  // pyserial's read(n): up to n bytes; waits until n arrived or the timeout passed (null: no limit).
  async read(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialRead);
    const size = args.size ?? 1;
    if (size <= 0) return new Uint8Array(0);
    if (device.queue.length < size && timeout !== 0) {
      await device.waitFor(() => device.queue.length >= size, timeout, IO_OPS.serialRead);
    }
    return device.queue.take(size);
  }

  // pyserial's read_until(terminator, size): through the terminator, or what came before the timeout.
  async readUntil(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialReadUntil);
    const terminator = toBytes(args.terminator ?? Uint8Array.of(10));
    const size = args.size ?? null;
    const ready = () => device.queue.find(terminator) !== -1 || (size !== null && device.queue.length >= size);
    if (!ready() && timeout !== 0) await device.waitFor(ready, timeout, IO_OPS.serialReadUntil);
    const end = device.queue.find(terminator);
    const n = end !== -1 ? end : device.queue.length;
    return device.queue.take(size === null ? n : Math.min(n, size));
  }

  async setSignals(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialSignals);
    const signals = {};
    for (const key of ["dataTerminalReady", "requestToSend", "break"]) if (args[key] !== undefined && args[key] !== null) signals[key] = Boolean(args[key]);
    await withTimeout(device.target.setSignals(signals), timeout, `setting signals on ${device.name}`);
    delete signals.break;
    Object.assign(device.signals, signals);
    return null;
  }

  async getSignals(args, timeout) {
    const device = this.device(args.handle, IO_OPS.serialModem);
    const signals = await withTimeout(device.target.getSignals(), timeout, `reading signals of ${device.name}`);
    return { dataCarrierDetect: !!signals.dataCarrierDetect, clearToSend: !!signals.clearToSend, ringIndicator: !!signals.ringIndicator, dataSetReady: !!signals.dataSetReady };
  }
}
