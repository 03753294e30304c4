// An open device's operations: waits that end with the data, the timeout or the device; one
// error wrap for what the browser's device API throws.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ERRORS, IOError, asIOError } from "../../web/io/io-protocol.js";
import { OpenDevice } from "../../web/io/open-device.js";
import { copyOf, parseUsbId, toBytes } from "../../web/io/bytes.js";

const isIO = (type, pattern) => (err) => err instanceof IOError && err.type === type && pattern.test(err.message);

test("a failure of the browser's API becomes a DeviceError saying what was done; an IOError passes as it is", () => {
  const wrapped = asIOError(new DOMException("transfer error", "NetworkError"), "writing to webusb-0");
  assert.equal(wrapped.type, ERRORS.device);
  assert.equal(wrapped.message, "writing to webusb-0: NetworkError: transfer error");
  const typed = new IOError(ERRORS.timeout, "slow");
  assert.equal(asIOError(typed, "anything"), typed);
});

test("perform: the result, a timeout, a wrapped failure, or Disconnected when the device went", async () => {
  const device = new OpenDevice("usb", "webusb-0", {});
  assert.equal(await device.perform("usb.transferOut", () => Promise.resolve(5), { timeout: 100, what: "writing" }), 5);
  await assert.rejects(device.perform("usb.transferIn", () => new Promise(() => {}), { timeout: 20, what: "reading from webusb-0" }),
    isIO(ERRORS.timeout, /reading from webusb-0 timed out after 20 ms/));
  await assert.rejects(device.perform("usb.controlTransferOut", () => { throw new TypeError("bad setup"); }, { timeout: null, what: "control transfer on webusb-0" }),
    isIO(ERRORS.device, /control transfer on webusb-0: TypeError: bad setup/));
  const pending = device.perform("usb.transferIn", () => new Promise(() => {}), { timeout: null, what: "reading" });
  device.lose("was disconnected (unplugged)");
  await assert.rejects(pending, isIO(ERRORS.disconnected, /usb.transferIn: webusb-0 was disconnected \(unplugged\)/));
});

test("an unguarded operation waits for the browser's own failure, then reports the device gone", async () => {
  const device = new OpenDevice("serial", "webserial-0", {});
  let fail;
  const pending = device.perform("serial.write", () => new Promise((_, reject) => (fail = reject)), { timeout: null, what: "writing", guarded: false });
  device.lose("was disconnected (the device was lost)");
  fail(new DOMException("lost", "NetworkError"));
  await assert.rejects(pending, isIO(ERRORS.disconnected, /serial.write: webserial-0 was disconnected/));
});

test("the watch for a device going ends with each operation", async () => {
  const device = new OpenDevice("hid", "webhid-0", {});
  for (let i = 0; i < 50; i++) await device.perform("hid.sendReport", () => Promise.resolve(i), { timeout: null, what: "writing" });
  assert.equal(device.waiters.size, 0);
});

test("waitFor resolves when ready, false at its timeout, and rejects when the device closes", async () => {
  const device = new OpenDevice("serial", "webserial-1", {});
  let ready = false;
  const waiting = device.waitFor(() => ready, null, "serial.read");
  ready = true;
  device.notify();
  assert.equal(await waiting, true);
  assert.equal(await device.waitFor(() => false, 10, "serial.read"), false);
  const closing = device.waitFor(() => false, null, "serial.read");
  device.closed = true;
  device.notify();
  await assert.rejects(closing, isIO(ERRORS.invalidState, /webserial-1 was closed/));
  assert.throws(() => device.ensureUsable("serial.write"), isIO(ERRORS.invalidState, /is closed/));
});

test("bytes: USB ids, copies of transfer views, and what Python may send", () => {
  assert.deepEqual(parseUsbId("08AF:8000"), { vid: 0x08af, pid: 0x8000 });
  assert.equal(parseUsbId("webserial-0"), null);
  const buffer = Uint8Array.of(9, 1, 2, 3).buffer;
  const copy = copyOf(new DataView(buffer, 1, 2));
  assert.deepEqual([...copy], [1, 2]);
  assert.equal(copy.buffer.byteLength, 2);
  assert.deepEqual([...toBytes([1, 2])], [1, 2]);
  assert.throws(() => toBytes("text"), isIO(ERRORS.badRequest, /expected bytes, got string/));
});
