// One open device (serial port, USB device or HID device) and the operations waiting on it.
import { ERRORS, IOError, asIOError } from "./io-protocol.js";
import { withTimeout } from "./timeouts.js";

export class OpenDevice {
  constructor(kind, name, target) {
    this.kind = kind;
    this.name = name;
    this.target = target; // the SerialPort / USBDevice / HIDDevice (or FTDI / remote port)
    this.closed = false;
    this.lostReason = null;
    this.waiters = new Set(); // functions called whenever data arrives or the device goes
    this.shutdown = null; // async () => void: let go of the target when the handle closes
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

  // Rejects with Disconnected as soon as the device goes, whatever `promise` does. The watch ends
  // with the operation, so a device that lives long does not collect one per transfer.
  guard(promise, op) {
    let watch;
    const gone = new Promise((_, reject) => {
      watch = () => {
        if (this.lostReason || this.closed) {
          reject(new IOError(this.lostReason ? ERRORS.disconnected : ERRORS.invalidState, `${op}: ${this.name} ${this.lostReason ?? "was closed"}`));
        }
      };
      this.waiters.add(watch);
      watch();
    });
    return Promise.race([promise, gone]).finally(() => this.waiters.delete(watch));
  }

  // One operation of `op` on the device, `start()` (the browser's call), within `timeout`: a device
  // that went meanwhile is reported as gone, any other failure as a DeviceError saying `what` was
  // being done. `guarded`: fail as soon as the device goes rather than when the browser's call gives up.
  // `raw`: leave the browser's error as it is (the caller explains it).
  async perform(op, start, { timeout, what, guarded = true, raw = false }) {
    try {
      const promise = Promise.resolve(start());
      return await withTimeout(guarded ? this.guard(promise, op) : promise, timeout, what);
    } catch (err) {
      this.ensureUsable(op);
      throw raw ? err : asIOError(err, what);
    }
  }

  lose(reason) {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.notify();
  }
}
