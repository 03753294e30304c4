// Emulated navigator.serial / navigator.usb / navigator.hid for end-to-end tests: the Web API
// surface the port manager uses, with the device logic (instruments.js) behind each port.
// Injected with Playwright's add_init_script before the page's own scripts run.
(() => {
  const lost = () => new DOMException("The device has been lost.", "NetworkError");
  const bytes = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength ?? data.length));

  // ---------------------------------------------------------------- Web Serial
  class EmulatedSerialPort extends EventTarget {
    constructor(device, info = {}) {
      super();
      this.device = device;
      this.info = info;
      this.readable = null;
      this.writable = null;
      this.openOptions = null;
      this.openCount = 0;
      this.signals = { dataTerminalReady: false, requestToSend: false, break: false };
      this.unplugged = false;
      device.attach?.(this);
    }
    getInfo() {
      return { ...this.info };
    }
    async open(options) {
      if (this.unplugged) throw lost();
      if (this.readable) throw new DOMException("The port is already open.", "InvalidStateError");
      this.openOptions = { ...options };
      this.openCount += 1;
      this.readable = new ReadableStream({ start: (controller) => (this.controller = controller) });
      this.writable = new WritableStream({
        write: (chunk) => {
          if (this.unplugged) throw lost();
          this.device.receive(bytes(chunk).slice(), this);
        },
      });
    }
    async close() {
      try {
        this.controller?.close();
      } catch {}
      this.controller = null;
      this.readable = null;
      this.writable = null;
    }
    // device -> host
    send(data) {
      if (!this.controller || this.unplugged) return;
      this.controller.enqueue(typeof data === "string" ? new TextEncoder().encode(data) : Uint8Array.from(data));
    }
    async setSignals(signals) {
      if (this.unplugged) throw lost();
      Object.assign(this.signals, signals);
      this.device.signalsChanged?.(this.signals, this);
    }
    async getSignals() {
      return { dataCarrierDetect: true, clearToSend: true, ringIndicator: false, dataSetReady: true };
    }
    unplug() {
      this.unplugged = true;
      try {
        this.controller?.error(lost());
      } catch {}
      this.dispatchEvent(new Event("disconnect"));
      emulators.serial.ports = emulators.serial.ports.filter((p) => p !== this);
    }
  }

  class EmulatedSerial extends EventTarget {
    constructor() {
      super();
      this.ports = [];
    }
    async getPorts() {
      return [...this.ports];
    }
    async requestPort() {
      if (!this.ports.length) throw new DOMException("No port selected by the user.", "NotFoundError");
      return this.ports[0];
    }
  }

  // ---------------------------------------------------------------- WebUSB
  class EmulatedUSBDevice {
    constructor(device, { vendorId, productId, serialNumber = null, productName = "", packetSize = 64, inEndpoint = 1, outEndpoint = 2 }) {
      Object.assign(this, { device, vendorId, productId, serialNumber, productName });
      this.packetSize = packetSize;
      this.inEndpoint = inEndpoint;
      this.outEndpoint = outEndpoint;
      this.opened = false;
      this.configuration = null;
      this.configurations = [
        {
          configurationValue: 1,
          interfaces: [
            {
              interfaceNumber: 0,
              alternates: [
                {
                  alternateSetting: 0,
                  interfaceClass: 255,
                  endpoints: [
                    { endpointNumber: inEndpoint, direction: "in", type: "bulk", packetSize },
                    { endpointNumber: outEndpoint, direction: "out", type: "bulk", packetSize },
                  ],
                },
              ],
            },
          ],
        },
      ];
      this.packets = []; // device -> host, already split into packets
      this.waiters = [];
      this.unplugged = false;
      this.controlLog = [];
      device.attach?.(this);
    }
    check() {
      if (this.unplugged) throw new DOMException("The device was disconnected.", "NotFoundError");
      if (!this.opened) throw new DOMException("The device must be opened first.", "InvalidStateError");
    }
    async open() {
      if (this.unplugged) throw new DOMException("The device was disconnected.", "NotFoundError");
      this.opened = true;
    }
    async close() {
      this.opened = false;
    }
    async selectConfiguration(value) {
      this.check();
      this.configuration = this.configurations.find((c) => c.configurationValue === value);
    }
    async claimInterface() {
      this.check();
    }
    async selectAlternateInterface() {
      this.check();
    }
    async transferOut(endpoint, data) {
      this.check();
      const chunk = bytes(data).slice();
      if (chunk.length) this.device.receive(chunk, this);
      return { status: "ok", bytesWritten: chunk.length };
    }
    // device -> host: a message as bulk packets (a zero-length packet ends a full last one)
    send(message) {
      const data = typeof message === "string" ? new TextEncoder().encode(message) : Uint8Array.from(message);
      for (let i = 0; i < data.length; i += this.packetSize) this.packets.push(data.slice(i, i + this.packetSize));
      if (data.length % this.packetSize === 0) this.packets.push(new Uint8Array(0));
      this.wake();
    }
    wake() {
      while (this.waiters.length && (this.packets.length || this.unplugged)) {
        const waiter = this.waiters.shift();
        if (this.unplugged) waiter.reject(new DOMException("The device was disconnected.", "NetworkError"));
        else waiter.resolve(this.packets.shift());
      }
    }
    async transferIn(endpoint, length) {
      this.check();
      const packet = this.packets.length ? this.packets.shift() : await new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      return { status: "ok", data: new DataView(packet.buffer, packet.byteOffset, Math.min(packet.length, length)) };
    }
    async controlTransferIn(setup, length) {
      this.check();
      this.controlLog.push({ direction: "in", ...setup, length });
      const data = Uint8Array.from(this.device.controlIn?.(setup, length, this) ?? []);
      return { status: "ok", data: new DataView(data.buffer) };
    }
    async controlTransferOut(setup, data) {
      this.check();
      this.controlLog.push({ direction: "out", ...setup, data: Array.from(bytes(data ?? new Uint8Array(0))) });
      this.device.controlOut?.(setup, data, this);
      return { status: "ok", bytesWritten: data ? data.byteLength : 0 };
    }
    unplug() {
      this.unplugged = true;
      this.wake();
      emulators.usb.devices = emulators.usb.devices.filter((d) => d !== this);
      const event = new Event("disconnect");
      event.device = this;
      emulators.usb.dispatchEvent(event);
    }
  }

  class EmulatedUSB extends EventTarget {
    constructor() {
      super();
      this.devices = [];
    }
    async getDevices() {
      return [...this.devices];
    }
    async requestDevice({ filters = [] } = {}) {
      const match = this.devices.find((d) => !filters.length || filters.some((f) => (f.vendorId === undefined || f.vendorId === d.vendorId) && (f.productId === undefined || f.productId === d.productId)));
      if (!match) throw new DOMException("No device selected.", "NotFoundError");
      return match;
    }
  }

  // ---------------------------------------------------------------- WebHID
  class EmulatedHIDDevice extends EventTarget {
    constructor(device, { vendorId, productId, productName = "" }) {
      super();
      Object.assign(this, { device, vendorId, productId, productName });
      this.opened = false;
      this.collections = [];
      this.unplugged = false;
      device.attach?.(this);
    }
    async open() {
      if (this.unplugged) throw new DOMException("The device was disconnected.", "NotFoundError");
      this.opened = true;
    }
    async close() {
      this.opened = false;
    }
    async sendReport(reportId, data) {
      if (this.unplugged) throw new DOMException("The device was disconnected.", "NetworkError");
      if (!this.opened) throw new DOMException("The device must be opened first.", "InvalidStateError");
      this.device.receiveReport(reportId, bytes(data).slice(), this);
    }
    // device -> host
    sendInputReport(reportId, data) {
      if (!this.opened || this.unplugged) return;
      const payload = Uint8Array.from(data);
      const event = new Event("inputreport");
      event.reportId = reportId;
      event.data = new DataView(payload.buffer);
      event.device = this;
      this.dispatchEvent(event);
    }
    unplug() {
      this.unplugged = true;
      emulators.hid.devices = emulators.hid.devices.filter((d) => d !== this);
      const event = new Event("disconnect");
      event.device = this;
      emulators.hid.dispatchEvent(event);
    }
  }

  class EmulatedHID extends EventTarget {
    constructor() {
      super();
      this.devices = [];
    }
    async getDevices() {
      return [...this.devices];
    }
    async requestDevice() {
      return [...this.devices];
    }
  }

  const emulators = {
    serial: new EmulatedSerial(),
    usb: new EmulatedUSB(),
    hid: new EmulatedHID(),
    addSerial(device, info) {
      const port = new EmulatedSerialPort(device, info);
      this.serial.ports.push(port);
      return port;
    },
    addUSB(device, options) {
      const usbDevice = new EmulatedUSBDevice(device, options);
      this.usb.devices.push(usbDevice);
      return usbDevice;
    },
    addHID(device, options) {
      const hidDevice = new EmulatedHIDDevice(device, options);
      this.hid.devices.push(hidDevice);
      return hidDevice;
    },
  };
  for (const [name, value] of [["serial", emulators.serial], ["usb", emulators.usb], ["hid", emulators.hid]]) {
    Object.defineProperty(Navigator.prototype, name, { get: () => value, configurable: true });
  }
  window.labwrightEmulators = emulators;
})();
