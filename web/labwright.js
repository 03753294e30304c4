// window.labwright: the page's scripting API, backed by the Python worker.
//
//   await labwright.ready            -> {pyodide, python, pylabrobot, libcst, labwright}
//   await labwright.runPython(code)  -> repr of the last expression; rejects with an Error
//                                       whose .message is the Python traceback text and
//                                       .pythonType the exception's class name
//   labwright.bootTimings            -> ms since the worker started, per stage (after ready)
//   labwright.onProgress(fn)         -> fn({stage, detail, fraction}) for every boot step
import * as M from "./messages.js";

export function createLabwright(workerURL = new URL("./worker.js", import.meta.url)) {
  const worker = new Worker(workerURL, { type: "module", name: "labwright-python" });
  const pending = new Map();
  const progressListeners = new Set();
  let nextId = 1;
  let resolveReady, rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a boot failure is reported through the page and to awaiters

  const api = {
    ready,
    bootTimings: null,
    bootInfo: null,
    bootError: null,
    onProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    runPython(code) {
      return request(M.OPS.runPython, { code });
    },
  };

  function request(op, args) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ type: M.REQUEST, id, op, ...args });
    });
  }

  worker.onmessage = (event) => {
    const message = event.data;
    switch (message.type) {
      case M.PROGRESS:
        for (const listener of progressListeners) listener(message);
        break;
      case M.READY:
        api.bootTimings = message.timings;
        api.bootInfo = { snapshot: message.snapshot, buildId: message.buildId };
        resolveReady(message.versions);
        break;
      case M.BOOT_ERROR: {
        const error = new Error(message.message);
        error.stage = message.stage;
        api.bootError = { stage: message.stage, message: message.message };
        for (const listener of progressListeners) listener({ stage: message.stage, error: message.message });
        rejectReady(error);
        for (const { reject } of pending.values()) reject(error);
        pending.clear();
        break;
      }
      case M.RESULT:
      case M.FAILURE: {
        const waiter = pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id);
        if (message.type === M.RESULT) {
          waiter.resolve(message.value);
        } else {
          const error = new Error(message.error.traceback);
          error.pythonType = message.error.type;
          error.pythonMessage = message.error.message;
          waiter.reject(error);
        }
        break;
      }
    }
  };
  worker.onerror = (event) => {
    const error = new Error(`the Python worker failed: ${event.message ?? "unknown error"}`);
    api.bootError = api.bootError ?? { stage: "runtime", message: error.message };
    rejectReady(error);
  };
  return api;
}
