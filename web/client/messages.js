// The one message protocol between the page (main thread) and the Python worker.
// Both ends import these names; a message is a plain object with `type` and, for
// request/response pairs, the request's `id`.

export const PROTOCOL_VERSION = 1;

// worker -> page, during boot
export const PROGRESS = "progress"; // {stage, detail, fraction}
export const READY = "ready"; // {versions, timings, snapshot}
export const BOOT_ERROR = "boot-error"; // {stage, message}
// worker -> page: where the page's data is {state: "opening" | "open" | "elsewhere" | "released" | "error",
// detail, recovered?: [run ids a reload cut short]}; only one tab at a time has it open
export const DATA = "data";

// page -> worker requests: {type: REQUEST, id, op, ...args}
export const REQUEST = "request";
// worker -> page responses: {type: RESULT, id, value} | {type: FAILURE, id, error}
export const RESULT = "result";
export const FAILURE = "failure";
// worker -> page, unsolicited: {type: EVENT, channel: "run", payload: {...}}
export const EVENT = "event";
// page -> worker once: {type: INTERRUPT_BUFFER, buffer: SharedArrayBuffer} (cross-origin isolated pages)
export const INTERRUPT_BUFFER = "interrupt-buffer";

export const OPS = Object.freeze({
  runPython: "runPython", // {code, grant?} -> repr of the last expression
  call: "call", // {name: "area.function", args: {...}, grant?} -> JSON result
  takeOver: "takeOver", // {} -> the data's state: ask the tab that has the data to hand it over
});

// Boot stages, in order; the page draws one segment of the progress bar per stage.
export const STAGES = Object.freeze([
  { id: "runtime", label: "Python runtime" },
  { id: "packages", label: "Packages" },
  { id: "plr", label: "PyLabRobot" },
  { id: "ready", label: "Ready" },
]);

// Errors crossing the boundary keep their Python type and traceback text.
export function errorPayload(err) {
  if (err && err.type && typeof err.message === "string") {
    return { type: err.type, message: err.message, traceback: err.traceback ?? err.message, ...(err.problems ? { problems: err.problems } : {}) };
  }
  return { type: err?.name ?? "Error", message: String(err?.message ?? err), traceback: String(err?.stack ?? err) };
}
