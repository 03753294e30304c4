// Emulated navigator.serial / navigator.usb / navigator.hid for end-to-end tests: the Web API
// surface the port manager uses, with the device logic (instruments.js) behind each port.
// Injected with Playwright's add_init_script before the page's own scripts run.
(() => {
  const lost = () => new DOMException("The device has been lost.", "NetworkError");
  // How Chrome fails to open a device the OS keeps from it (`failOpen` on an emulated device):
  //   "access-denied"  WebUSB open(): no WinUSB on Windows, no permission on Linux
  //   "claimed"        WebUSB claimInterface(): a kernel driver (FTDI's VCP, ftdi_sio) holds it
  //   "busy"           Web Serial open(): another program has the port, or no permission
  //   "not-allowed"    WebHID open()
  const openFailures = {
    "access-denied": () => new DOMException("Access denied.", "SecurityError"),
    claimed: () => new DOMException("Unable to claim interface.", "NetworkError"),
    busy: () => new DOMException("Failed to open serial port.", "NetworkError"),
    "not-allowed": () => new DOMException("Failed to open the device.", "NotAllowedError"),
  };
  const bytes = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength ?? data.length));

  // The browser's permission store: by default every plugged device counts as granted (most
  // tests start from a granted device); `requirePermission()` makes getPorts/getDevices list
  // only devices granted through requestPort/requestDevice, remembered across reloads in
  // localStorage as Chrome remembers them per origin.
  // What a chooser offers: every device when there are no filters, else those one filter admits
  // (a filter's absent vendor or product id matches any). ids(d) -> [vendorId, productId].
  const chooserMatches = (devices, filters, ids, vendorKey = "vendorId", productKey = "productId") =>
    devices.filter((d) => {
      const [vendor, product] = ids(d);
      return !filters.length || filters.some((f) => (f[vendorKey] === undefined || f[vendorKey] === vendor) && (f[productKey] === undefined || f[productKey] === product));
    });
  const GRANTS_KEY = "labwright-emulated-grants";
  const permissions = {
    required: false,
    requests: [], // every requestPort/requestDevice call with its filters
    keyOf(device) {
      if (device.info) return `serial:${device.info.usbVendorId}:${device.info.usbProductId}:${device.info.key ?? ""}`;
      return `${device.collections ? "hid" : "usb"}:${device.vendorId}:${device.productId}:${device.serialNumber ?? ""}`;
    },
    stored() {
      try {
        return new Set(JSON.parse(localStorage.getItem(GRANTS_KEY) ?? "[]"));
      } catch {
        return new Set();
      }
    },
    granted(device) {
      return !this.required || this.stored().has(this.keyOf(device));
    },
    grant(device) {
      const grants = this.stored();
      grants.add(this.keyOf(device));
      localStorage.setItem(GRANTS_KEY, JSON.stringify([...grants]));
    },
  };

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
      if (this.failOpen) throw openFailures[this.failOpen]();
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
      return this.ports.filter((port) => permissions.granted(port));
    }
    // The chooser: the user picks the first plugged port the filters let through.
    async requestPort({ filters = [] } = {}) {
      permissions.requests.push({ api: "serial", filters: JSON.parse(JSON.stringify(filters)) });
      const matches = chooserMatches(this.ports, filters, (port) => [port.info.usbVendorId, port.info.usbProductId], "usbVendorId", "usbProductId");
      const match = matches.find((port) => !permissions.stored().has(permissions.keyOf(port))) ?? matches[0];
      if (!match) throw new DOMException("No port selected by the user.", "NotFoundError");
      permissions.grant(match);
      return match;
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
      if (this.failOpen === "access-denied") throw openFailures["access-denied"]();
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
      if (this.failOpen === "claimed") throw openFailures.claimed();
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

  // An FTDI chip (FT232R) behind WebUSB: line settings arrive as FTDI vendor requests, and
  // every bulk IN packet starts with two modem status bytes, sent every latency period even
  // when there is no data, as the real chip does.
  class EmulatedFtdiUSBDevice extends EmulatedUSBDevice {
    constructor(device, options) {
      super(device, options);
      this.rx = [];
      this.ftdi = { baudDivisor: null, baudIndex: null, data: null, flow: null, dtr: false, rts: false, latency: 16, resets: [] };
    }
    send(message) {
      const data = typeof message === "string" ? new TextEncoder().encode(message) : Uint8Array.from(message);
      this.rx.push(...data);
      this.wake();
    }
    wake() {
      while (this.waiters.length && (this.rx.length || this.unplugged)) {
        const waiter = this.waiters.shift();
        if (this.unplugged) waiter.reject(new DOMException("The device was disconnected.", "NetworkError"));
        else waiter.resolve();
      }
    }
    async transferIn(endpoint, length) {
      this.check();
      if (!this.rx.length) {
        await new Promise((resolve, reject) => {
          const waiter = { resolve, reject };
          this.waiters.push(waiter);
          setTimeout(() => {
            const at = this.waiters.indexOf(waiter);
            if (at !== -1) this.waiters.splice(at, 1);
            resolve();
          }, this.ftdi.latency);
        });
      }
      const status = [0x01 | 0x10 | 0x20, 0x60]; // CTS and DSR up; transmitter empty
      const out = [];
      const packets = Math.max(1, Math.floor(length / this.packetSize));
      for (let i = 0; i < packets && (i === 0 || this.rx.length); i++) out.push(...status, ...this.rx.splice(0, this.packetSize - 2));
      const data = Uint8Array.from(out);
      return { status: "ok", data: new DataView(data.buffer) };
    }
    async controlTransferOut(setup, data) {
      const result = await super.controlTransferOut(setup, data);
      const { request, value, index } = setup;
      if (request === 0) this.ftdi.resets.push(value);
      else if (request === 1) {
        if (value & 0x0100) this.ftdi.dtr = Boolean(value & 1);
        if (value & 0x0200) this.ftdi.rts = Boolean(value & 2);
      } else if (request === 2) this.ftdi.flow = index & 0xff00;
      else if (request === 3) {
        this.ftdi.baudDivisor = value | ((index & 0xff) << 16);
      } else if (request === 4) this.ftdi.data = value;
      else if (request === 9) this.ftdi.latency = value;
      return result;
    }
    async releaseInterface() {
      this.check();
    }
  }

  class EmulatedUSB extends EventTarget {
    constructor() {
      super();
      this.devices = [];
    }
    async getDevices() {
      return this.devices.filter((d) => permissions.granted(d));
    }
    async requestDevice({ filters } = {}) {
      if (!Array.isArray(filters)) throw new TypeError("Failed to execute 'requestDevice' on 'USB': required member filters is undefined.");
      permissions.requests.push({ api: "usb", filters: JSON.parse(JSON.stringify(filters)) });
      const matches = chooserMatches(this.devices, filters, (d) => [d.vendorId, d.productId]);
      const match = matches.find((d) => !permissions.stored().has(permissions.keyOf(d))) ?? matches[0];
      if (!match) throw new DOMException("No device selected.", "NotFoundError");
      permissions.grant(match);
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
      if (this.failOpen) throw openFailures[this.failOpen]();
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
      return this.devices.filter((d) => permissions.granted(d));
    }
    async requestDevice({ filters } = {}) {
      if (!Array.isArray(filters)) throw new TypeError("Failed to execute 'requestDevice' on 'HID': required member filters is undefined.");
      permissions.requests.push({ api: "hid", filters: JSON.parse(JSON.stringify(filters)) });
      const matches = chooserMatches(this.devices, filters, (d) => [d.vendorId, d.productId]);
      matches.forEach((d) => permissions.grant(d));
      return matches;
    }
  }

  const emulators = {
    permissions,
    requirePermission() {
      permissions.required = true;
    },
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
    addFtdiUSB(device, options) {
      const usbDevice = new EmulatedFtdiUSBDevice(device, options);
      this.usb.devices.push(usbDevice);
      return usbDevice;
    },
    addHID(device, options) {
      const hidDevice = new EmulatedHIDDevice(device, options);
      this.hid.devices.push(hidDevice);
      return hidDevice;
    },
    // Plug an unplugged port or device in again: a new object for the same instrument and ids (as
    // Chrome makes one), announced with a "connect" event as Chrome does for a granted device.
    replug(old) {
      let again;
      if (old instanceof EmulatedSerialPort) {
        again = this.addSerial(old.device, old.info);
        this.serial.dispatchEvent(new Event("connect")); // Chrome's is fired at the port (its target, read-only here)
      } else if (old instanceof EmulatedUSBDevice) {
        const { vendorId, productId, serialNumber, productName, packetSize, inEndpoint, outEndpoint } = old;
        const options = { vendorId, productId, serialNumber, productName, packetSize, inEndpoint, outEndpoint };
        again = old instanceof EmulatedFtdiUSBDevice ? this.addFtdiUSB(old.device, options) : this.addUSB(old.device, options);
        this.usb.dispatchEvent(Object.assign(new Event("connect"), { device: again }));
      } else {
        again = this.addHID(old.device, { vendorId: old.vendorId, productId: old.productId, productName: old.productName });
        this.hid.dispatchEvent(Object.assign(new Event("connect"), { device: again }));
      }
      return again;
    },
    // The OS the page believes it runs on (User-Agent Client Hints), for the driver advice.
    setPlatform(platform) {
      Object.defineProperty(Navigator.prototype, "userAgentData", { get: () => ({ platform, brands: [], mobile: false }), configurable: true });
    },
  };
  for (const [name, value] of [["serial", emulators.serial], ["usb", emulators.usb], ["hid", emulators.hid]]) {
    Object.defineProperty(Navigator.prototype, name, { get: () => value, configurable: true });
  }
  window.labwrightEmulators = emulators;
})();
