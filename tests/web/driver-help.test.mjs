// When the browser cannot open a device, the likely cause and the fix for the OS at hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import { driverHelp, explained, platformOf } from "../../web/io/driver-help.js";

const dom = (name, message) => Object.assign(new Error(message), { name });
const STAR = { vendorId: 0x08af, productId: 0x8000 };

test("Windows: WebUSB needs WinUSB (Zadig), and PLR's libusbK advice is named as the conflict", () => {
  const help = driverHelp({ api: "usb", error: dom("SecurityError", "Access denied."), ...STAR, platform: "Windows" });
  assert.match(help.cause, /WebUSB needs the WinUSB driver/);
  assert.match(help.fix, /Zadig .*choose 08AF:8000, WinUSB, Replace Driver/);
  assert.match(help.fix, /libusbK serves PyUSB on CPython but not Chrome/);
});

test("an FTDI chip held by the OS's virtual COM port driver: use Web Serial, or unbind the driver for WebUSB", () => {
  const error = dom("NetworkError", "Unable to claim interface.");
  const linux = driverHelp({ api: "usb", step: "claim", error, vendorId: 0x0403, productId: 0x6001, ftdi: true, platform: "Linux" });
  assert.match(linux.cause, /FTDI virtual COM port driver has claimed this FTDI chip \(0403:6001\)/);
  assert.match(linux.fix, /"Serial port…"/);
  assert.match(linux.fix, /ftdi_sio\/unbind/);
  const windows = driverHelp({ api: "usb", step: "claim", error, vendorId: 0x0403, productId: 0x6001, ftdi: true, platform: "Windows" });
  assert.match(windows.fix, /WinUSB in Zadig/);
  assert.match(driverHelp({ api: "usb", error, ftdi: true, platform: "macOS" }).fix, /kextunload/);
});

test("Linux: no access to the device node is fixed by a udev rule for its ids", () => {
  const usb = driverHelp({ api: "usb", error: dom("SecurityError", "Access denied."), ...STAR, platform: "Linux" });
  assert.match(usb.fix, /SUBSYSTEM=="usb", ATTRS\{idVendor\}=="08af", ATTRS\{idProduct\}=="8000", TAG\+="uaccess"/);
  assert.match(usb.fix, /udevadm control --reload-rules/);
  const hid = driverHelp({ api: "hid", error: dom("NotAllowedError", "Failed to open the device."), vendorId: 0x03eb, productId: 0x2023, platform: "Linux" });
  assert.match(hid.fix, /KERNEL=="hidraw\*", ATTRS\{idVendor\}=="03eb"/);
  const serial = driverHelp({ api: "serial", error: dom("NetworkError", "Failed to open serial port."), vendorId: 0x0403, productId: 0x6001, platform: "Linux" });
  assert.match(serial.cause, /another program has the port open/);
  assert.match(serial.fix, /usermod -aG dialout/);
});

test("failures no driver explains get no advice; the message carries cause and fix", () => {
  assert.equal(driverHelp({ api: "usb", error: dom("TypeError", "bad argument"), platform: "Windows" }), null);
  assert.equal(driverHelp({ api: "remote", error: dom("NetworkError", "refused"), platform: "Linux" }), null);
  const help = { cause: "a cause", fix: "a fix" };
  assert.equal(explained("could not open webusb-0", dom("SecurityError", "Access denied."), help),
    "could not open webusb-0: SecurityError: Access denied. Likely cause: a cause. Fix: a fix.");
  assert.equal(platformOf({ userAgentData: { platform: "Windows" } }), "Windows");
  assert.equal(platformOf({ platform: "Linux x86_64" }), "Linux");
  assert.equal(platformOf({ platform: "MacIntel" }), "macOS");
});
