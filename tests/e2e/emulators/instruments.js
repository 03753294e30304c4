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

  // Hamilton STAR (USB 08AF:8000): firmware commands "<module><command>id####<params>", replies
  // "<module><command>id####<fields>". A STARlet with 8 channels, no iSWAP, 96-head or autoload,
  // already initialised and with no tips mounted.
  class HamiltonSTAR {
    constructor({ channels = 8 } = {}) {
      this.channels = channels;
      this.received = [];
      this.mode = "normal";
      this.tips = new Array(channels).fill(0);
    }
    fields(module, command) {
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
      const match = /^([A-Z][A-Z0-9])([A-Z]{2})(?:id(\d{4}))?/.exec(command);
      if (!match) return device.send(`${command.slice(0, 4)}er99/00`);
      const [, module, code, id] = match;
      device.send(`${module}${code}id${id ?? "0000"}${this.fields(module, code)}`);
    }
  }

  // Inheco TEC control box (HID 03EB:2023): 8-byte output reports carrying the command and a
  // CRC character; the reply echoes the first four characters in lower case, then the error
  // status, then a checksum character, in a 64-byte input report padded with NULs.
  class InhecoControlBox {
    constructor() {
      this.received = [];
      this.pending = "";
      this.touchscreen = null;
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
      if (/^\dADD[01]/.test(message)) this.touchscreen = message[4] === "1";
      const reply = `${message.slice(0, 4).toLowerCase()}0k`;
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

  // Echoes every byte back (benchmarks and buffering tests).
  class Echo {
    receive(data, port) {
      port.send(data);
    }
  }

  window.labwrightInstruments = { MettlerToledoScale, MasterflexPump, HamiltonSTAR, InhecoControlBox, HamiltonHepaFan, Echo };
})();
