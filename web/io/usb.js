// USB devices for PLR's USB IO (webbridge's USB): granted WebUSB devices, their configuration and
// interfaces, bulk/interrupt and control transfers.
import { ERRORS, IO_OPS, IOError, asIOError } from "./io-protocol.js";
import { EMPTY, copyOf, hex4, toBytes } from "./bytes.js";
import { OpenDevice } from "./open-device.js";
import { withTimeout } from "./timeouts.js";

// What Python learns of a device when it opens it: ids and every configuration's endpoints.
export function describeUsb(device) {
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

export class UsbTransport {
  // `manager`: the port manager (names, states, handles, grants); `usb`: navigator.usb or null.
  constructor(manager, usb) {
    this.manager = manager;
    this.usb = usb;
  }

  operations() {
    return {
      [IO_OPS.usbOpen]: (args, timeout) => this.open(args, timeout),
      [IO_OPS.usbClose]: (args) => this.manager.close(args.handle),
      [IO_OPS.usbSelectConfiguration]: (args, timeout) => this.selectConfiguration(args, timeout),
      [IO_OPS.usbClaimInterface]: (args, timeout) => this.claimInterface(args, timeout),
      [IO_OPS.usbTransferOut]: (args, timeout) => this.transferOut(args, timeout),
      [IO_OPS.usbTransferIn]: (args, timeout) => this.transferIn(args, timeout),
      [IO_OPS.usbControlIn]: (args, timeout) => this.control(args, timeout, true),
      [IO_OPS.usbControlOut]: (args, timeout) => this.control(args, timeout, false),
    };
  }

  device(handle, op) {
    return this.manager.device(handle, "usb", op);
  }

  async list() {
    if (!this.usb) return [];
    return (await this.usb.getDevices()).map((device) => {
      const name = this.manager.nameOf("usb", device);
      return { name, kind: "usb", vendorId: device.vendorId, productId: device.productId, serialNumber: device.serialNumber ?? null, productName: device.productName ?? null, state: this.manager.states.get(name)?.state ?? "available" };
    });
  }

  async open(args, timeout) {
    const manager = this.manager;
    if (!this.usb) throw new IOError(ERRORS.notFound, "this browser has no WebUSB (navigator.usb); use Chrome or Edge");
    const granted = await this.usb.getDevices();
    const devices = granted.filter(
      (d) => d.vendorId === args.vid && d.productId === args.pid && (args.serialNumber == null || d.serialNumber === args.serialNumber),
    );
    if (devices.length === 0) {
      const listed = granted.map((d) => `${hex4(d.vendorId)}:${hex4(d.productId)}${d.serialNumber ? ` (${d.serialNumber})` : ""}`);
      throw new IOError(ERRORS.notFound, `no granted USB device ${hex4(args.vid)}:${hex4(args.pid)}${args.serialNumber ? ` with serial number ${args.serialNumber}` : ""}; granted: ${listed.join(", ") || "none"} (connect the device first)`);
    }
    const target = devices[0]; // as PLR: the first of several
    const name = manager.nameOf("usb", target);
    manager.authorizeOpen(IO_OPS.usbOpen, args, name);
    if (manager.isOpen(target)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    await manager.openTarget("usb", name, target.opened ? null : () => target.open(), timeout, { vendorId: target.vendorId, productId: target.productId, ftdi: manager.isFtdi(target) });
    const device = new OpenDevice("usb", name, target);
    device.inflight = new Map(); // endpoint -> transferIn promise a timeout left running
    device.shutdown = async () => {
      if (target.opened && !device.lostReason) await target.close().catch(() => {});
    };
    return { handle: manager.register(device, args.grant), name, device: describeUsb(target) };
  }

  async selectConfiguration(args, timeout) {
    const op = IO_OPS.usbSelectConfiguration;
    const device = this.device(args.handle, op);
    const target = device.target;
    if (target.configuration?.configurationValue !== args.value) {
      await device.perform(op, () => target.selectConfiguration(args.value), { timeout, what: `${op} on ${device.name}`, guarded: false });
    }
    return describeUsb(target);
  }

  async claimInterface(args, timeout) {
    const op = IO_OPS.usbClaimInterface;
    const device = this.device(args.handle, op);
    const claim = async () => {
      await device.target.claimInterface(args.number);
      if (args.alternate) await device.target.selectAlternateInterface(args.number, args.alternate);
    };
    const target = device.target;
    try {
      await device.perform(op, claim, { timeout, what: `${op} on ${device.name}`, guarded: false, raw: true });
    } catch (err) {
      // A driver bound to the interface (an FTDI chip's virtual COM port driver, on Linux any kernel
      // driver) keeps Chrome from claiming it: say so, with the fix.
      const failure = this.manager.blocked(err, `could not claim interface ${args.number} of ${device.name}`, { api: "usb", step: "claim", vendorId: target.vendorId, productId: target.productId, ftdi: this.manager.isFtdi(target) });
      this.manager.setState(device.name, "usb", "error", failure.message);
      throw failure;
    }
    return null;
  }

  async transferOut(args, timeout) {
    const op = IO_OPS.usbTransferOut;
    const device = this.device(args.handle, op);
    const what = `writing to ${device.name}`;
    const result = await device.perform(op, () => device.target.transferOut(args.endpoint, toBytes(args.data)), { timeout, what });
    if (result.status !== "ok") throw new IOError(ERRORS.device, `${what}: endpoint ${args.endpoint} ${result.status}`);
    return result.bytesWritten;
  }

  // A bulk/interrupt IN transfer. WebUSB transfers cannot be cancelled, so one that times out
  // stays in flight and the next read on that endpoint takes its result: no packet is lost.
  async transferIn(args, timeout) {
    const op = IO_OPS.usbTransferIn;
    const device = this.device(args.handle, op);
    const what = `reading from ${device.name}`;
    let pending = device.inflight.get(args.endpoint);
    if (!pending) {
      pending = device.target.transferIn(args.endpoint, args.length);
      pending.catch(() => {});
      device.inflight.set(args.endpoint, pending);
    }
    let result;
    try {
      result = await withTimeout(device.guard(pending, op), timeout, what);
    } catch (err) {
      if (err instanceof IOError && err.type === ERRORS.timeout) throw err; // still in flight
      device.inflight.delete(args.endpoint);
      device.ensureUsable(op);
      throw asIOError(err, what);
    }
    device.inflight.delete(args.endpoint);
    if (result.status === "stall") throw new IOError(ERRORS.device, `${what}: endpoint ${args.endpoint} stalled`);
    return copyOf(result.data);
  }

  async control(args, timeout, isIn) {
    const op = isIn ? IO_OPS.usbControlIn : IO_OPS.usbControlOut;
    const device = this.device(args.handle, op);
    const what = `control transfer on ${device.name}`;
    const setup = { requestType: args.requestType, recipient: args.recipient, request: args.request, value: args.value, index: args.index };
    const transfer = () => (isIn ? device.target.controlTransferIn(setup, args.length) : device.target.controlTransferOut(setup, toBytes(args.data ?? EMPTY)));
    const result = await device.perform(op, transfer, { timeout, what });
    if (result.status === "stall") throw new IOError(ERRORS.device, `${what} stalled (request ${args.request})`);
    return isIn ? copyOf(result.data) : result.bytesWritten;
  }
}
