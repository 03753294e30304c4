// FTDI chips driven over WebUSB with FTDI's vendor requests (as libftdi and Linux's ftdi_sio do),
// for chips the OS does not expose as a serial port: the SerialPort surface the serial transport
// uses, over bulk and control transfers.
import { ERRORS, IOError } from "./io-protocol.js";
import { hex4 } from "./bytes.js";

// FTDI's vendor id; instruments that give their FTDI chip ids of their own are made known by
// FtdiChips.add (the device picker adds those the catalog's "ftdi" backends declare).
export const FTDI_VENDOR = 0x0403;

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

// Which granted USB devices are FTDI chips, and the one port object each is driven through.
export class FtdiChips {
  constructor(usb) {
    this.usb = usb;
    this.ids = new Set(); // "vvvv:pppp" of FTDI chips with an instrument maker's ids
    this.ports = new WeakMap(); // USBDevice -> FtdiUsbPort
  }

  // USB ids ({vid, pid}) of FTDI chips that do not carry FTDI's own vendor id.
  add(ids) {
    for (const { vid, pid } of ids) this.ids.add(`${hex4(vid)}:${hex4(pid)}`);
  }

  isFtdi(device) {
    return device.vendorId === FTDI_VENDOR || this.ids.has(`${hex4(device.vendorId)}:${hex4(device.productId)}`);
  }

  portFor(device) {
    let port = this.ports.get(device);
    if (!port) {
      port = new FtdiUsbPort(device, this.usb);
      this.ports.set(device, port);
    }
    return port;
  }
}
