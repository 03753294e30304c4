// The device IO message protocol between the Python worker and the page's port manager.
// Both ends import this module: the worker sends IO_REQUEST, the page answers IO_REPLY.
//
//   worker -> page  {type: IO_REQUEST, id, op, args: {..., grant: token}, timeout: ms | null}
//   page -> worker  {type: IO_REPLY, id, ok: true, value}
//                 | {type: IO_REPLY, id, ok: false, error: {type: ERRORS.*, message}}
//
// Bytes travel as Uint8Array (transferred, not copied, where possible). Every request carries
// the operation's own timeout; the worker also gives up `REPLY_GRACE_MS` after it, so a page
// that never answers cannot hang Python.

export const IO_PROTOCOL_VERSION = 1;
export const IO_REQUEST = "io-request";
export const IO_REPLY = "io-reply";

// The operations the port manager serves; args are listed beside each.
export const IO_OPS = Object.freeze({
  list: "list", // {} -> [{name, kind, vendorId, productId, serialNumber, productName, connected}]
  // serial (WebSerial, or a remote port behind the bridge server)
  serialOpen: "serial.open", // {port, vid, pid, baudRate, dataBits, parity, stopBits, flowControl} -> {handle, name}
  serialClose: "serial.close", // {handle}
  serialWrite: "serial.write", // {handle, data} -> bytes written
  serialRead: "serial.read", // {handle, size} -> Uint8Array, up to size bytes (empty on timeout)
  serialReadUntil: "serial.readUntil", // {handle, terminator, size} -> Uint8Array ending with terminator, or what came before timeout
  serialSignals: "serial.setSignals", // {handle, dataTerminalReady?, requestToSend?, break?}
  serialModem: "serial.getSignals", // {handle} -> {dataCarrierDetect, clearToSend, ringIndicator, dataSetReady}
  serialDiscardInput: "serial.discardInput", // {handle} -> bytes dropped
  serialReconfigure: "serial.reconfigure", // {handle, baudRate?, dataBits?, parity?, stopBits?, flowControl?}
  // USB (WebUSB)
  usbOpen: "usb.open", // {vid, pid, serialNumber, index} -> {handle, name, device: descriptor summary}
  usbClose: "usb.close", // {handle}
  usbSelectConfiguration: "usb.selectConfiguration", // {handle, value}
  usbClaimInterface: "usb.claimInterface", // {handle, number, alternate}
  usbTransferOut: "usb.transferOut", // {handle, endpoint, data} -> bytes written
  usbTransferIn: "usb.transferIn", // {handle, endpoint, length} -> Uint8Array
  usbControlIn: "usb.controlTransferIn", // {handle, requestType, recipient, request, value, index, length} -> Uint8Array
  usbControlOut: "usb.controlTransferOut", // {handle, requestType, recipient, request, value, index, data} -> bytes written
  // HID (WebHID)
  hidOpen: "hid.open", // {vid, pid, serialNumber} -> {handle, name}
  hidClose: "hid.close", // {handle}
  hidSendReport: "hid.sendReport", // {handle, reportId, data} -> bytes written (incl. report id)
  hidRead: "hid.read", // {handle, size} -> Uint8Array, one input report (empty on timeout)
  // the operator (PLR's input() in code holding a grant): the page asks the person, the run waits
  operatorAsk: "operator.ask", // {prompt} -> the operator's answer (text)
});

// Typed errors; the Python side maps each to one exception class (browser_runtime.webbridge.errors).
export const ERRORS = Object.freeze({
  notFound: "NotFound", // no granted device matches
  ambiguous: "Ambiguous", // several match and nothing says which
  disconnected: "Disconnected", // unplugged (or closed) while or before the operation ran
  timeout: "Timeout", // the operation did not finish within its timeout
  invalidState: "InvalidState", // e.g. not open, already open
  badRequest: "BadRequest", // unknown operation or bad arguments
  device: "DeviceError", // the browser's device API failed (stall, babble, permission, ...)
  accessDenied: "AccessDenied", // no hardware grant for the device (a simulation, a plan...): DeviceAccessDenied
  driver: "DriverBlocked", // the OS (a driver, a permission, another program) keeps the browser out: DeviceDriverError
});

// How long the worker waits beyond an operation's own timeout before failing it itself.
export const REPLY_GRACE_MS = 5000;

export class IOError extends Error {
  constructor(type, message) {
    super(message);
    this.name = "IOError";
    this.type = type;
  }
}

// A failure of the browser's device API as the IOError Python gets: a typed IOError passes as it
// is, anything else becomes a DeviceError saying what was being done (`what`) and what went wrong.
export function asIOError(err, what) {
  if (err instanceof IOError) return err;
  return new IOError(ERRORS.device, `${what}: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
}

export function errorReply(id, err) {
  const type = err instanceof IOError ? err.type : ERRORS.device;
  const message = err instanceof IOError ? err.message : `${err?.name ?? "Error"}: ${err?.message ?? err}`;
  return { type: IO_REPLY, id, ok: false, error: { type, message } };
}

// Buffers inside the value that can be moved rather than copied.
function transferables(value) {
  if (value instanceof Uint8Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) return [value.buffer];
  return [];
}

// Page side: answer every IO_REQUEST arriving on `endpoint` (a Worker) with `handle(op, args, timeout)`.
export function serveIO(endpoint, handle) {
  const listener = async (event) => {
    const message = event.data;
    if (message?.type !== IO_REQUEST) return;
    let reply;
    try {
      const value = await handle(message.op, message.args ?? {}, message.timeout ?? null);
      reply = { type: IO_REPLY, id: message.id, ok: true, value: value ?? null };
    } catch (err) {
      reply = errorReply(message.id, err);
    }
    endpoint.postMessage(reply, transferables(reply.value));
  };
  endpoint.addEventListener("message", listener);
  return () => endpoint.removeEventListener("message", listener);
}

// Worker side: send requests through `post` (usually self.postMessage); feed every IO_REPLY to
// `receive`. `request` resolves to the reply message itself ({ok, value} or {ok: false, error}),
// never rejects, so Python sees one shape.
export class IOClient {
  constructor(post) {
    this.post = post;
    this.pending = new Map();
    this.nextId = 1;
  }

  request(op, args = {}, timeout = null) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const deadline = timeout === null || timeout === undefined ? null : timeout + REPLY_GRACE_MS;
      const timer =
        deadline === null
          ? null
          : setTimeout(() => {
              this.pending.delete(id);
              resolve({ type: IO_REPLY, id, ok: false, error: { type: ERRORS.timeout, message: `${op}: the page did not answer within ${deadline} ms` } });
            }, deadline);
      this.pending.set(id, { resolve, timer });
      this.post({ type: IO_REQUEST, id, op, args, timeout });
    });
  }

  receive(message) {
    if (message?.type !== IO_REPLY) return false;
    const waiter = this.pending.get(message.id);
    if (!waiter) return true;
    this.pending.delete(message.id);
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    waiter.resolve(message);
    return true;
  }
}
