// The device broker: one holder per device; a run asks for the console's devices (which lets go
// cleanly and gets them back), a run's device is refused with who holds it and until when unless
// taken over (the run is stopped first); IO is served only under the grant that holds (opens) or
// opened (handles) the device.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceBroker, inWords } from "../../web/io/device-broker.js";
import { ERRORS, IOError } from "../../web/io/io-protocol.js";

const denied = (pattern) => (err) => err instanceof IOError && err.type === ERRORS.accessDenied && pattern.test(err.message);

function withConsole({ now } = {}) {
  const broker = new DeviceBroker(now ? { now } : {});
  const log = [];
  const console = broker.grant("console", {
    kind: "console",
    yieldDevice: async (device) => log.push(`console stops its backend on ${device}`),
    restoreDevice: async (device) => log.push(`console sets ${device} up again`),
  });
  broker.holdsTheRest(console);
  return { broker, console, log };
}

test("the console holds every device nobody else holds; grants are opaque and distinct", () => {
  const { broker, console } = withConsole();
  assert.equal(broker.holderOf("webserial-0"), "console");
  assert.match(console.token, /^[0-9a-f]{32}$/);
  assert.notEqual(broker.grant("a run").token, console.token);
  assert.equal(broker.authorizeOpen("serial.open", console.token, "webserial-0"), console);
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(console))).sort(), ["expectedEnd", "holder", "kind", "since", "token"]);
});

test("no grant, a revoked grant or another holder's grant is refused with the reason", async () => {
  const { broker, console } = withConsole();
  assert.throws(() => broker.authorizeOpen("serial.open", null, "webserial-0"), denied(/webserial-0: access denied: the request carries no hardware grant/));
  const run = broker.grant("run 3fa2c1", { kind: "run" });
  assert.throws(() => broker.authorizeOpen("usb.open", run.token, "webusb-0"), denied(/held by console, not run 3fa2c1/));
  broker.revoke(run);
  assert.throws(() => broker.authorizeOpen("usb.open", run.token, "webusb-0"), denied(/the grant was revoked/));
  await assert.rejects(broker.handOver("webusb-0", run), /no longer valid/);
  assert.ok(console);
});

test("a run asks for the console's device: the console lets go cleanly first and gets it back when the run ends", async () => {
  const { broker, console, log } = withConsole();
  const changes = [];
  broker.onChange(({ device, holder }) => changes.push({ device, holder }));
  const run = broker.grant("run 1", { kind: "run" });
  await broker.handOver("webserial-0", run);
  assert.deepEqual(log, ["console stops its backend on webserial-0"]);
  assert.equal(broker.holderOf("webserial-0"), "run 1");
  assert.equal(broker.describe("webserial-0").lentBy, "console");
  broker.authorizeOpen("serial.open", run.token, "webserial-0");
  assert.throws(() => broker.authorizeOpen("serial.open", console.token, "webserial-0"), denied(/held by run 1 — running for .*, not console/));
  broker.opened(7, run.token);
  broker.opened(8, console.token);
  const { handles, restore } = broker.revoke(run);
  assert.deepEqual(handles, [7]);
  assert.equal(broker.holderOf("webserial-0"), "console");
  for (const again of restore) await again();
  assert.deepEqual(log, ["console stops its backend on webserial-0", "console sets webserial-0 up again"]);
  assert.deepEqual(changes, [{ device: "webserial-0", holder: "run 1" }, { device: "webserial-0", holder: "console" }]);
});

test("a device a run holds is refused with who holds it and until when; take over stops the run first", async () => {
  let clock = 1_000_000;
  const { broker, console, log } = withConsole({ now: () => clock });
  const run = broker.grant("run 12", { kind: "run" });
  await broker.handOver("webusb-0", run);
  broker.update(run, { expectedEnd: clock + 180_000 });
  clock += 1000;
  await assert.rejects(broker.handOver("webusb-0", console), (err) => {
    assert.match(err.message, /webusb-0 is held by run 12 — it ends in ~3 min; take it over to stop that run first/);
    assert.equal(err.holder.holder, "run 12");
    return true;
  });
  const other = broker.grant("run 13", { kind: "run" });
  await assert.rejects(broker.handOver("webusb-0", other), denied(/held by run 12/));
  // Taking over: the run is stopped (its grant ends and gives the device back), then it passes on.
  broker.update(run, { hooks: { stop: async () => {
    log.push("run 12 cancelled and stopped");
    const { restore } = broker.revoke(run);
    for (const again of restore) await again();
  } } });
  await broker.handOver("webusb-0", other, { takeOver: true });
  assert.equal(broker.holderOf("webusb-0"), "run 13");
  assert.deepEqual(log, [
    "console stops its backend on webusb-0", // run 12 asked for it
    "run 12 cancelled and stopped", "console sets webusb-0 up again", // taken over: back to the console first
    "console stops its backend on webusb-0", // then lent on to run 13
  ]);
  // A run that will not stop keeps the device.
  broker.update(other, { hooks: { stop: async () => {} } });
  await assert.rejects(broker.handOver("webusb-0", console, { takeOver: true }), denied(/run 13 did not stop; the device stays with it/));
});

test("the console releases a device: nobody holds it until someone asks for it", async () => {
  const { broker, console } = withConsole();
  assert.equal(broker.letGo(console, "webhid-0"), null);
  assert.equal(broker.holderOf("webhid-0"), null);
  assert.equal(broker.describe("webhid-0").text, "released: nobody holds it");
  assert.throws(() => broker.authorizeOpen("hid.open", console.token, "webhid-0"), denied(/console released it \(labwright.devices.hold takes it back\)/));
  await broker.handOver("webhid-0", console);
  assert.equal(broker.holderOf("webhid-0"), "console");
  // A run can ask for a released device; when it ends, nobody had lent it, so nobody holds it.
  broker.letGo(console, "webhid-0");
  const run = broker.grant("run 5", { kind: "run" });
  await broker.handOver("webhid-0", run);
  broker.revoke(run);
  assert.equal(broker.holderOf("webhid-0"), null);
});

test("operations on a handle are served only under the grant that opened it", () => {
  const { broker, console } = withConsole();
  const run = broker.grant("run 2", { kind: "run" });
  broker.opened(3, console.token);
  broker.authorizeHandle("serial.write", console.token, 3, "webserial-0");
  assert.throws(() => broker.authorizeHandle("serial.write", run.token, 3, "webserial-0"), denied(/opened under another grant/));
  assert.throws(() => broker.authorizeHandle("serial.read", null, 3, "webserial-0"), denied(/carries no hardware grant/));
  broker.authorizeHandle("serial.read", null, 99); // not open: the port manager says so itself
  assert.deepEqual(broker.handlesOn(console, "webserial-0", (handle) => (handle === 3 ? "webserial-0" : null)), [3]);
  broker.closed(3);
  broker.authorizeHandle("serial.write", run.token, 3); // closed: no longer anyone's
});

test("durations for people", () => {
  assert.equal(inWords(180_000), "~3 min");
  assert.equal(inWords(40_000), "~40 s");
  assert.equal(inWords(-5), "any moment now");
  assert.equal(inWords(3 * 3600_000), "~3 h");
});
