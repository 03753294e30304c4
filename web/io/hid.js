// HID devices for PLR's HID IO (webbridge's HID): granted WebHID devices, output reports sent and
// input reports kept until Python reads them, as hidapi delivers them.
import { ERRORS, IO_OPS, IOError } from "./io-protocol.js";
import { copyOf, hex4, toBytes } from "./bytes.js";
import { OpenDevice } from "./open-device.js";

export class HidTransport {
  // `manager`: the port manager (names, states, handles, grants); `hid`: navigator.hid or null.
  constructor(manager, hid) {
    this.manager = manager;
    this.hid = hid;
  }

  operations() {
    return {
      [IO_OPS.hidOpen]: (args, timeout) => this.open(args, timeout),
      [IO_OPS.hidClose]: (args) => this.manager.close(args.handle),
      [IO_OPS.hidSendReport]: (args, timeout) => this.sendReport(args, timeout),
      [IO_OPS.hidRead]: (args, timeout) => this.read(args, timeout),
    };
  }

  device(handle, op) {
    return this.manager.device(handle, "hid", op);
  }

  async list() {
    if (!this.hid) return [];
    return (await this.hid.getDevices()).map((device) => {
      const name = this.manager.nameOf("hid", device);
      return { name, kind: "hid", vendorId: device.vendorId, productId: device.productId, serialNumber: device.serialNumber ?? null, productName: device.productName ?? null, state: this.manager.states.get(name)?.state ?? "available" };
    });
  }

  async open(args, timeout) {
    const manager = this.manager;
    if (!this.hid) throw new IOError(ERRORS.notFound, "this browser has no WebHID (navigator.hid); use Chrome or Edge");
    const devices = (await this.hid.getDevices()).filter((d) => d.vendorId === args.vid && d.productId === args.pid);
    if (devices.length === 0) throw new IOError(ERRORS.notFound, `no granted HID device ${hex4(args.vid)}:${hex4(args.pid)} (connect the device first)`);
    const target = devices[0]; // WebHID lists one entry per top-level collection; the first is the device's main one
    const name = manager.nameOf("hid", target);
    manager.authorizeOpen(IO_OPS.hidOpen, args, name);
    if (manager.isOpen(target)) throw new IOError(ERRORS.invalidState, `${name} is already open (another backend holds it)`);
    await manager.openTarget("hid", name, target.opened ? null : () => target.open(), timeout, { vendorId: target.vendorId, productId: target.productId });
    const device = new OpenDevice("hid", name, target);
    device.reports = []; // input reports not read yet
    const onReport = (event) => {
      const data = copyOf(event.data);
      // hidapi puts the report id first for numbered reports; unnumbered ones are data only
      device.reports.push(event.reportId ? Uint8Array.of(event.reportId, ...data) : data);
      device.notify();
    };
    target.addEventListener("inputreport", onReport);
    device.shutdown = async () => {
      target.removeEventListener("inputreport", onReport);
      if (target.opened && !device.lostReason) await target.close().catch(() => {});
    };
    return { handle: manager.register(device, args.grant), name };
  }

  async sendReport(args, timeout) {
    const op = IO_OPS.hidSendReport;
    const device = this.device(args.handle, op);
    const data = toBytes(args.data);
    await device.perform(op, () => device.target.sendReport(args.reportId ?? 0, data), { timeout, what: `writing to ${device.name}` });
    return data.length + 1;
  }

  async read(args, timeout) {
    const device = this.device(args.handle, IO_OPS.hidRead);
    if (device.reports.length === 0 && timeout !== 0) await device.waitFor(() => device.reports.length > 0, timeout, IO_OPS.hidRead);
    const report = device.reports.shift();
    return report ? report.slice(0, args.size ?? report.length) : new Uint8Array(0);
  }
}
