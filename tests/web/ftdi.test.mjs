// FTDI over WebUSB: the baud divisor and line settings FTDI's vendor requests carry, and which
// granted USB devices are FTDI chips.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ERRORS, IOError } from "../../web/io/io-protocol.js";
import { FTDI_VENDOR, FtdiChips, FtdiUsbPort, ftdiBaudDivisor, ftdiDataValue } from "../../web/io/ftdi.js";

test("baud divisors are those libftdi sends an FT232R (3 MHz clock, eighths encoded)", () => {
  // (value | index << 16) as libftdi's ftdi_convert_baudrate gives them for an FT232R
  const expected = { 300: 0x2710, 9600: 0x4138, 19200: 0x809c, 38400: 0xc04e, 57600: 0xc034, 115200: 0x001a, 125000: 0x0018, 921600: 0x8003 };
  for (const [baud, divisor] of Object.entries(expected)) assert.equal(ftdiBaudDivisor(Number(baud)), divisor, `${baud} baud`);
  assert.equal(ftdiBaudDivisor(3_000_000), 0); // the chip's own codes for its two fastest rates
  assert.equal(ftdiBaudDivisor(2_000_000), 1);
});

test("the line value: data bits, parity, stop bits and break in their FTDI fields", () => {
  assert.equal(ftdiDataValue({}), 8); // 8N1
  assert.equal(ftdiDataValue({ dataBits: 7, parity: "even", stopBits: 1 }), 7 | (2 << 8));
  assert.equal(ftdiDataValue({ dataBits: 8, parity: "odd", stopBits: 2 }), 8 | (1 << 8) | (2 << 11));
  assert.equal(ftdiDataValue({ dataBits: 8, parity: "none", stopBits: 1.5 }, true), 8 | (1 << 11) | (1 << 14));
  assert.throws(() => ftdiDataValue({ parity: "sideways" }), (err) => err instanceof IOError && err.type === ERRORS.badRequest && /parity sideways/.test(err.message));
  assert.throws(() => ftdiDataValue({ stopBits: 3 }), /stop bits 3/);
});

test("FTDI chips are FTDI's vendor id or ids the catalog names; each gets one port object", () => {
  const chips = new FtdiChips(null);
  const plain = { vendorId: FTDI_VENDOR, productId: 0x6001 };
  const fan = { vendorId: 0x0856, productId: 0xac11 };
  const star = { vendorId: 0x08af, productId: 0x8000 };
  assert.equal(chips.isFtdi(plain), true);
  assert.equal(chips.isFtdi(fan), false);
  chips.add([{ vid: 0x0856, pid: 0xac11 }]);
  assert.equal(chips.isFtdi(fan), true);
  assert.equal(chips.isFtdi(star), false);
  const port = chips.portFor(fan);
  assert.ok(port instanceof FtdiUsbPort);
  assert.equal(chips.portFor(fan), port); // reopening reuses the transfer still in flight
  assert.deepEqual(port.getInfo(), { usbVendorId: 0x0856, usbProductId: 0xac11 });
});
