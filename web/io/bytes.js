// Bytes as the port manager moves them: what Python sends, what a transfer gives back, USB ids as text.
import { ERRORS, IOError } from "./io-protocol.js";

export const EMPTY = new Uint8Array(0);

export function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Uint8Array.from(data);
  throw new IOError(ERRORS.badRequest, `expected bytes, got ${typeof data}`);
}

// A copy of what a DataView shows (a transfer's or a report's): the browser may reuse its buffer,
// and a copy starting at offset 0 can be transferred to the worker rather than cloned.
export function copyOf(view) {
  if (!view) return new Uint8Array(0);
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function hex4(n) {
  return (n ?? 0).toString(16).padStart(4, "0");
}

// "vvvv:pppp" (or "VVVV:PPPP") as a USB id; null for anything else, such as a port's name.
export function parseUsbId(text) {
  const match = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(text ?? "");
  return match ? { vid: parseInt(match[1], 16), pid: parseInt(match[2], 16) } : null;
}
