// Instruments emulated at their wire protocol, written from PLR 0.2.2's backends: each answers
// the bytes the real backend sends. Attach one to an emulated port/device (web-devices.js).
(() => {
  const text = (data) => new TextDecoder("latin1").decode(data);

  // Line-oriented serial devices: collect bytes until `terminator`, answer each line.
  class LineDevice {
    constructor(terminator) {
      this.terminator = terminator;
      this.pending = "";
      this.received = []; // every line, for tests
      this.mode = "normal"; // "silent": never answers; "garbage": answers noise
      this.delayMs = 0;
    }
    receive(data, port) {
      this.pending += text(data);
      let index;
      while ((index = this.pending.indexOf(this.terminator)) !== -1) {
        const line = this.pending.slice(0, index);
        this.pending = this.pending.slice(index + this.terminator.length);
        this.received.push(line);
        if (this.mode === "silent") continue;
        const reply = this.mode === "garbage" ? "\xfe\xff\x13\x37 garbage\r\n" : this.answer(line);
        if (reply === null || reply === undefined) continue;
        const bytesOut = Uint8Array.from(reply, (c) => c.charCodeAt(0) & 0xff);
        if (this.delayMs) setTimeout(() => port.send(bytesOut), this.delayMs);
        else port.send(bytesOut);
      }
    }
  }

  // Mettler Toledo WXS205SDU: MT-SICS over RS-232, commands and replies end with CR LF.
  class MettlerToledoScale extends LineDevice {
    constructor({ serialNumber = "B123456789", grossGrams = 0 } = {}) {
      super("\r\n");
      this.serialNumber = serialNumber;
      this.gross = grossGrams; // what lies on the pan
      this.zeroOffset = 0;
      this.tare = 0;
    }
    place(grams) {
      this.gross = grams;
    }
    net() {
      return (this.gross - this.zeroOffset - this.tare).toFixed(5);
    }
    answer(line) {
      const [command, ...args] = line.trim().split(/\s+/);
      switch (command) {
        case "M21":
          return args.length === 2 ? "M21 A\r\n" : "M21 L\r\n";
        case "I4":
          return `I4 A "${this.serialNumber}"\r\n`;
        case "Z":
        case "ZI":
        case "ZC":
          this.zeroOffset = this.gross;
          this.tare = 0;
          return `${command} A\r\n`;
        case "T":
        case "TI":
        case "TC":
          this.tare = this.gross - this.zeroOffset;
          return `${command === "TI" ? "TI D" : `${command} S`} ${this.tare.toFixed(5)} g\r\n`;
        case "TA":
          return `TA A ${this.tare.toFixed(5)} g\r\n`;
        case "TAC":
          this.tare = 0;
          return "TAC A\r\n";
        case "S":
        case "SC":
          return `S S ${this.net()} g\r\n`;
        case "SI":
          return `S D ${this.net()} g\r\n`;
        default:
          return "ES\r\n";
      }
    }
  }

  // Cole-Parmer Masterflex L/S (4800 baud, 7 data bits, odd parity, 1 stop bit): ENQ, then
  // STX-framed commands "P02<cmd>" ending with CR; the pump acknowledges with ACK.
  class MasterflexPump {
    constructor() {
      this.received = [];
      this.pending = "";
      this.enquiries = 0;
      this.revolutions = 0;
      this.running = false;
    }
    receive(data, port) {
      this.pending += text(data);
      for (;;) {
        if (this.pending.startsWith("\x05") && !this.pending.startsWith("\x05P")) {
          this.enquiries += 1;
          this.pending = this.pending.slice(1);
          port.send("P02\r"); // the pump answers an enquiry with its address
          continue;
        }
        const end = this.pending.indexOf("\r");
        if (end === -1) break;
        const frame = this.pending.slice(0, end);
        this.pending = this.pending.slice(end + 1);
        this.received.push(frame);
        const command = frame.replace(/^[\x02\x05]P02/, "");
        const revolutions = /^V([\d.]+)G/.exec(command);
        if (revolutions) this.revolutions += parseFloat(revolutions[1]);
        if (/^S[+-]\d+G/.test(command)) this.running = true;
        if (command === "H") this.running = false;
        port.send("\x06");
      }
    }
  }

  // One Hamilton heater-shaker (HHS), as PLR 0.2.2's HamiltonHeaterShakerBackend drives it through
  // a HeaterShakerBox or a STAR's TCC port: firmware commands "T<index><command>id####<params>"
  // (LI/SI initialise lock and drive, LP lock, SB start shaking, RD is-shaking, SC/SW stop, TA
  // target temperature, RT temperatures, TO heating off); each answered with its fields.
  class HamiltonHeaterShaker {
    constructor({ temperature = 22.0 } = {}) {
      this.received = [];
      this.initialised = { lock: false, drive: false };
      this.locked = false;
      this.shaking = false;
      this.speed = 0;
      this.target = null; // °C, heating on
      this.temperature = temperature;
    }
    // `params`: "sv0800sr01000st0" -> {sv: "0800", sr: "01000", st: "0"}
    answer(command, params) {
      this.received.push(command + params);
      const values = Object.fromEntries([...params.matchAll(/([a-z]{2})([^a-z]*)/g)].map((m) => [m[1], m[2]]));
      const tenths = (celsius) => `+${String(Math.round(celsius * 10)).padStart(4, "0")}`;
      switch (command) {
        case "LI": this.initialised.lock = true; return "er00";
        case "SI": this.initialised.drive = true; return "er00";
        case "LP": this.locked = values.lp === "1"; return "er00";
        case "SB":
          if (!this.locked || !this.initialised.drive) return "er01"; // shaking needs a locked plate
          this.shaking = true; this.speed = parseInt(values.sv, 10); return "er00";
        case "RD": return `er00rd${this.shaking ? 1 : 0}`;
        case "SC": this.shaking = false; this.speed = 0; return "er00";
        case "SW": return "er00";
        case "TA": this.target = parseInt(values.ta, 10) / 10; this.temperature = this.target; return "er00";
        case "TO": this.target = null; return "er00";
        case "RT": return `er00rt${tenths(this.temperature)} ${tenths(this.temperature - 0.2)}`;
        default: return "er30";
      }
    }
  }

  // Hamilton's heater-shaker box (USB 08AF:8002): heater-shakers on its ports 1..n, each addressed
  // by its index ("T1...", "T2..."); one USB connection carries them all.
  class HamiltonHeaterShakerBox {
    constructor({ shakers = [1, 2] } = {}) {
      this.received = [];
      this.shakers = Object.fromEntries(shakers.map((index) => [index, new HamiltonHeaterShaker()]));
    }
    receive(data, device) {
      const command = text(data);
      this.received.push(command);
      const match = /^T(\d)([A-Z]{2})id(\d{4})(.*)$/.exec(command);
      if (!match) return device.send(`${command.slice(0, 4)}er99`);
      const [, index, code, id, params] = match;
      const shaker = this.shakers[index];
      device.send(`T${index}${code}id${id}${shaker ? shaker.answer(code, params) : "er31"}`);
    }
  }

  // Hamilton STAR (USB 08AF:8000): firmware commands "<module><command>id####<params>", replies
  // "<module><command>id####<fields>". A STARlet with 8 channels, no iSWAP, 96-head or autoload,
  // already initialised and with no tips mounted; heater-shakers on its TCC ports answer as "T1"...
  class HamiltonSTAR {
    constructor({ channels = 8, heaterShakers = [] } = {}) {
      this.channels = channels;
      this.received = [];
      this.mode = "normal";
      this.tips = new Array(channels).fill(0);
      this.heaterShakers = Object.fromEntries(heaterShakers.map((index) => [index, new HamiltonHeaterShaker()]));
    }
    fields(module, command, params = "") {
      const tcc = /^T(\d)$/.exec(module);
      if (tcc) return this.heaterShakers[tcc[1]] ? this.heaterShakers[tcc[1]].answer(command, params) : "er31";
      const key = module + command;
      const table = {
        C0RM: `kb00kp${String(this.channels).padStart(2, "0")}`,
        C0QM: "ka000000ke00000000xt30xa30xw13400xl01xn00xr00xo00xm03500xx11400xu3700xv3700kc0kr0ys090kl360km360ym6065yu0060yx0060",
        C0RU: "ru9999 30000 9999 30000",
        C0UA: "ua300 300 0 30000 0 30000",
        C0QW: "qw1",
        C0RT: `rt${this.tips.join(" ")}`,
        C0RF: "rf7.6S 35 2022-10-01",
      };
      if (table[key]) return table[key];
      if (module.startsWith("P") && command === "VW") return "vw0 0";
      if (module.startsWith("P") && command === "RF") return "rf6.0S 5 2022-10-01";
      if (module.startsWith("P") && command === "VY") return "yc000 090";
      if (key === "C0TP") this.tips = this.tips.map(() => 1);
      if (key === "C0TR") this.tips = this.tips.map(() => 0);
      return "er00/00";
    }
    receive(data, device) {
      const command = text(data);
      this.received.push(command);
      if (this.mode === "silent") return;
      if (this.mode === "garbage") return device.send("\xff\xfegarbage");
      const match = /^([A-Z][A-Z0-9])([A-Z]{2})(?:id(\d{4}))?(.*)$/.exec(command);
      if (!match) return device.send(`${command.slice(0, 4)}er99/00`);
      const [, module, code, id, params] = match;
      device.send(`${module}${code}id${id ?? "0000"}${this.fields(module, code, params)}`);
    }
  }

  // Inheco TEC control box (HID 03EB:2023): 8-byte output reports carrying the command and a
  // CRC character; the reply echoes the first four characters in lower case, then the error
  // status, then the data, then a checksum character, in a 64-byte input report padded with
  // NULs. TEC devices (a CPAC, a ThermoShake) on its slots 1..6 are addressed by the leading digit.
  class InhecoControlBox {
    constructor() {
      this.received = [];
      this.pending = "";
      this.touchscreen = null;
      this.slots = {}; // slot -> {target, active, temperature}
    }
    slot(index) {
      return (this.slots[index] ??= { target: null, active: false, temperature: 22.0 });
    }
    answer(message) {
      const index = message[0];
      const command = message.slice(1, 4);
      const args = message.slice(4);
      if (index === "0" && command === "ADD") this.touchscreen = args === "1";
      if (index === "0") return "";
      const slot = this.slot(index);
      if (command === "STT") slot.target = parseInt(args, 10) / 10;
      else if (command === "ATE") {
        slot.active = args === "1";
        if (slot.active && slot.target !== null) slot.temperature = slot.target;
      } else if (command === "RAT") return String(Math.round(slot.temperature * 10));
      else if (command === "RFV") return ["1.0", "2.3", "TEC1234", "B", "INHECO"][parseInt(args, 10)] ?? "";
      return "";
    }
    receiveReport(reportId, data, device) {
      const chunk = text(data);
      this.pending += chunk.replace(/\0+$/, "");
      if (chunk.length === 8 && chunk.endsWith("#")) {
        this.pending = this.pending.slice(0, -1); // continued in the next report
        return;
      }
      const message = this.pending.slice(0, -1); // drop the CRC character
      this.pending = "";
      this.received.push(message);
      const reply = `${message.slice(0, 4).toLowerCase()}0${this.answer(message)}k`;
      const report = new Uint8Array(64);
      for (let i = 0; i < reply.length; i++) report[i] = reply.charCodeAt(i);
      device.sendInputReport(0, report);
    }
  }

  // Hamilton HEPA fan (FTDI 0856:AC11, seen by the OS as a serial port): short binary frames,
  // each answered with a short status frame.
  class HamiltonHepaFan {
    constructor() {
      this.received = [];
      this.on = false;
    }
    receive(data, port) {
      const frame = Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
      this.received.push(frame);
      if (frame === "354101ff75") this.on = true;
      if (frame === "55c10111007b") this.on = false;
      port.send([0x06, data[0], data[1]]);
    }
  }

  // An Inheco incubator/shaker stack on one serial port (FTDI 0403:6001, 19200 8N1), as PLR 0.2.2's
  // InhecoIncubatorShakerStackBackend drives it: frames [length, 0x30+DIP, 0xC0+n, "T0<unit><command>",
  // CRC-8]; every unit of the stack answers on the same line, addressed by <unit>; replies are
  // [0xB0+DIP] data [0xB0+DIP, 0x20+error, 0x60].
  class InhecoIncubatorStack {
    constructor({ dipSwitch = 2, units = ["incubator_shaker_mp", "incubator_mp"] } = {}) {
      this.dipSwitch = dipSwitch;
      this.types = { incubator_mp: "0", incubator_shaker_mp: "1", incubator_dwp: "2", incubator_shaker_dwp: "3" };
      this.units = units.map((type) => ({ type, initialised: false, target: null, heating: false, temperature: 25.0, shaking: false, pattern: null, drawer: "closed" }));
      this.received = []; // "unit:command"
      this.pending = [];
      this.mode = "normal";
    }
    static crc8(bytes) {
      let crc = 0xa1;
      for (let byte of bytes) {
        for (let i = 0; i < 8; i++) {
          if ((byte ^ crc) & 1) crc = (((crc ^ 0x18) >> 1) | 0x80) & 0xff;
          else crc >>= 1;
          byte >>= 1;
        }
      }
      return crc & 0xff;
    }
    receive(data, port) {
      this.pending.push(...data);
      while (this.pending.length && this.pending.length >= this.pending[0] + 1) {
        const frame = this.pending.splice(0, this.pending[0] + 1);
        const body = frame.slice(0, -1);
        if (frame[1] !== 0x30 + this.dipSwitch) continue; // another stack's address
        if (InhecoIncubatorStack.crc8(body) !== frame.at(-1)) {
          this.reply(port, "", 4); // protocol error
          continue;
        }
        const message = String.fromCharCode(...body.slice(3));
        const unit = parseInt(message[2], 10);
        const command = message.slice(3);
        this.received.push(`${unit}:${command}`);
        if (this.mode === "silent") continue;
        const [answer, error] = this.answer(this.units[unit], unit, command);
        this.reply(port, answer, error);
      }
    }
    reply(port, answer, error = 0) {
      const header = 0xb0 + this.dipSwitch;
      port.send([header, ...Array.from(answer, (c) => c.charCodeAt(0)), header, 0x20 + error, 0x60]);
    }
    answer(unit, index, command) {
      if (!unit) return ["", 15]; // no unit at that place in the stack
      const tenths = (celsius) => String(Math.round(celsius * 10));
      const shaker = unit.type.includes("shaker");
      if (command === "RTS") return [this.types[unit.type], 0];
      if (/^RDA\d,1$/.test(command)) return [String(this.units.length), 0];
      if (command === "AID") { unit.initialised = true; unit.drawer = "closed"; return ["", 0]; }
      if (!unit.initialised) return ["", 7]; // device not initialised
      if (command.startsWith("STT")) { unit.target = parseInt(command.slice(3), 10) / 10; return ["", 0]; }
      if (command === "SHE1") { unit.heating = true; unit.temperature = unit.target ?? unit.temperature; return ["", 0]; }
      if (command === "SHE0") { unit.heating = false; return ["", 0]; }
      if (command === "RHE") return [unit.heating ? "1" : "0", 0];
      if (command === "RTT") return [tenths(unit.target ?? 0), 0];
      if (/^RAT\d$/.test(command)) return [tenths(unit.temperature), 0];
      if (command === "RSE") return shaker ? [unit.shaking ? "1" : "0", 0] : ["", 2];
      if (command.startsWith("SSP")) { if (!shaker) return ["", 2]; unit.pattern = command.slice(3); return ["", 0]; }
      if (command === "ASEND") { if (!shaker) return ["", 2]; unit.shaking = true; return ["", 0]; }
      if (command === "ASE0") { unit.shaking = false; return ["", 0]; }
      if (command === "AOD") { unit.drawer = "open"; return ["", 0]; }
      if (command === "ACD") { unit.drawer = "closed"; return ["", 0]; }
      if (command === "RDS") return [unit.drawer === "open" ? "1" : "0", 0];
      if (command === "RLW") return ["0", 0];
      if (command === "RFV0") return ["IncShk 1.2.3", 0];
      return ["", 2]; // invalid command
    }
  }

  // Echoes every byte back (benchmarks and buffering tests).
  class Echo {
    receive(data, port) {
      port.send(data);
    }
  }

  window.labwrightInstruments = {
    MettlerToledoScale, MasterflexPump, HamiltonSTAR, HamiltonHeaterShaker, HamiltonHeaterShakerBox,
    InhecoControlBox, InhecoIncubatorStack, HamiltonHepaFan, Echo,
  };
})();
