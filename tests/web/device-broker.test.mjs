// The device broker: one holder per device, runs borrow the console's devices and give them
// back, IO is served only under the grant that holds (opens) or opened (handles) the device.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceBroker } from "../../web/io/device-broker.js";
import { ERRORS, IOError } from "../../web/io/io-protocol.js";

const denied = (pattern) => (err) => err instanceof IOError && err.type === ERRORS.accessDenied && pattern.test(err.message);

function withConsole() {
  const broker = new DeviceBroker();
  const console = broker.grant("console");
  broker.holdsTheRest(console);
  return { broker, console };
}

test("the console holds every device nobody else holds; grants are opaque and distinct", () => {
  const { broker, console } = withConsole();
  assert.equal(broker.holderOf("webserial-0"), "console");
  assert.match(console.token, /^[0-9a-f]{32}$/);
  assert.notEqual(broker.grant("a run").token, console.token);
  assert.equal(broker.authorizeOpen("serial.open", console.token, "webserial-0"), console);
});

test("no grant, a revoked grant or another holder's grant is refused with the reason", () => {
  const { broker, console } = withConsole();
  assert.throws(() => broker.authorizeOpen("serial.open", null, "webserial-0"), denied(/webserial-0: access denied: the request carries no hardware grant/));
  const run = broker.grant("run 3fa2c1");
  assert.throws(() => broker.authorizeOpen("usb.open", run.token, "webusb-0"), denied(/held by console, not run 3fa2c1/));
  broker.revoke(run);
  assert.throws(() => broker.authorizeOpen("usb.open", run.token, "webusb-0"), denied(/the grant was revoked/));
  assert.throws(() => broker.give(run, "webusb-0"), /no longer valid/);
  assert.ok(console);
});

test("a run borrows the console's device and gives it back when its grant ends; handles it opened are returned", () => {
  const { broker, console } = withConsole();
  const changes = [];
  broker.onChange((change) => changes.push(change));
  const run = broker.grant("run 1");
  assert.throws(() => broker.give(run, "webserial-0"), denied(/held by console/)); // not without lend
  broker.give(run, "webserial-0", { lend: true });
  assert.equal(broker.holderOf("webserial-0"), "run 1");
  broker.authorizeOpen("serial.open", run.token, "webserial-0");
  assert.throws(() => broker.authorizeOpen("serial.open", console.token, "webserial-0"), denied(/held by run 1, not console/));
  broker.opened(7, run.token);
  broker.opened(8, console.token);
  assert.deepEqual(broker.revoke(run), [7]);
  assert.equal(broker.holderOf("webserial-0"), "console");
  assert.deepEqual(changes, [{ device: "webserial-0", holder: "run 1" }, { device: "webserial-0", holder: "console" }]);
});

test("operations on a handle are served only under the grant that opened it", () => {
  const { broker, console } = withConsole();
  const run = broker.grant("run 2");
  broker.opened(3, console.token);
  broker.authorizeHandle("serial.write", console.token, 3, "webserial-0");
  assert.throws(() => broker.authorizeHandle("serial.write", run.token, 3, "webserial-0"), denied(/opened under another grant/));
  assert.throws(() => broker.authorizeHandle("serial.read", null, 3, "webserial-0"), denied(/carries no hardware grant/));
  broker.authorizeHandle("serial.read", null, 99); // not open: the port manager says so itself
  broker.closed(3);
  broker.authorizeHandle("serial.write", run.token, 3); // closed: no longer anyone's
});

test("without a holder of the rest, a device is held by one grant at a time until it lets go", () => {
  const broker = new DeviceBroker();
  const first = broker.grant("first session");
  const second = broker.grant("second session");
  assert.equal(broker.holderOf("webhid-0"), null);
  broker.give(first, "webhid-0");
  assert.throws(() => broker.give(second, "webhid-0"), denied(/webhid-0 is held by first session/));
  broker.take(second, "webhid-0"); // not its to let go: nothing changes
  assert.equal(broker.holderOf("webhid-0"), "first session");
  broker.take(first, "webhid-0");
  broker.give(second, "webhid-0");
  assert.deepEqual(broker.devicesOf(second), ["webhid-0"]);
});
