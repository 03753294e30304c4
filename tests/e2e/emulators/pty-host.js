// Runs one of instruments.js's emulators in Node, so the very emulator the page tests use also
// sits behind a pty pair for the server's real pyserial (tests/pty_devices.py relays the bytes).
//
// stdin and stdout carry one JSON object per line:
//   in:  {bytes: [...]}                       bytes the host wrote to the instrument
//        {id, call: "place", args: [12.5]}    call a method, reply {id, value}
//        {id, get: "received"}                read a property, reply {id, value}
//        {id, set: {mode: "silent"}}          assign properties, reply {id, value: null}
//   out: {bytes: [...]}                       bytes the instrument sends back
//        {id, value} | {id, error}
// Usage: node pty-host.js <InstrumentClass> [options JSON]
import fs from "node:fs";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

globalThis.window = globalThis;
const source = fileURLToPath(new URL("instruments.js", import.meta.url));
vm.runInThisContext(fs.readFileSync(source, "utf8"), { filename: source });

const [kind, options = "{}"] = process.argv.slice(2);
const Instrument = window.labwrightInstruments[kind];
if (!Instrument) {
  process.stderr.write(`no instrument ${kind}; instruments.js has ${Object.keys(window.labwrightInstruments).join(", ")}\n`);
  process.exit(2);
}
const instrument = new Instrument(JSON.parse(options));
const out = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

// What the emulators call to answer: the same shape as an emulated port's `send` in web-devices.js.
const port = {
  send(data) {
    const bytes = typeof data === "string" ? Array.from(new TextEncoder().encode(data)) : Array.from(data);
    out({ bytes });
  },
};

function handle(message) {
  if (message.bytes) return instrument.receive(Uint8Array.from(message.bytes), port);
  let value = null;
  if (message.call) value = instrument[message.call](...(message.args ?? []));
  else if (message.get) value = instrument[message.get];
  else if (message.set) Object.assign(instrument, message.set);
  else throw new Error(`unknown request ${JSON.stringify(message)}`);
  out({ id: message.id, value: value ?? null });
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let message;
  try {
    message = JSON.parse(line);
    handle(message);
  } catch (error) {
    out({ id: message?.id ?? null, error: String(error?.stack ?? error) });
  }
});
