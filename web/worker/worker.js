// The Python worker: boots Pyodide from our own origin, installs the compiled archives
// listed in wheels/manifest.json (each verified by sha256), imports PLR and answers
// requests from the page. Python never runs on the main thread.
import * as M from "../client/messages.js";
import { IOClient } from "../io/io-protocol.js";
import { PageStore } from "./page-store.js";
import { DataOwnership } from "./data-owner.js";
import { unpackZip } from "./zip.js";

// What Python in this worker must not reach (its `js` module sees the worker's globals): the
// devices (only the page's port manager opens them, for holders of a grant), the stored data
// and the snapshot cache. The worker keeps its own references; the globals are removed before
// Pyodide starts, so no protocol, plan or estimate can find them.
const hidden = hideFromPython();
const ownership = new DataOwnership(hidden.locks);

function hideFromPython() {
  const kept = { indexedDB: self.indexedDB, caches: self.caches, locks: navigator.locks };
  const remove = (object, name) => {
    for (let target = object; target; target = Object.getPrototypeOf(target)) {
      if (Object.getOwnPropertyDescriptor(target, name)) {
        Object.defineProperty(target, name, { value: undefined, configurable: false, writable: false });
      }
    }
  };
  for (const name of ["serial", "usb", "hid", "locks"]) remove(navigator, name);
  for (const name of ["indexedDB", "caches", "Worker", "SharedWorker"]) remove(self, name);
  return kept;
}

// The page's root (this file is web/worker/worker.js): the manifest and archives are under wheels/.
const BASE = new URL("../", self.location.href);
const SNAPSHOT_CACHE = "labwright-snapshots";

let pyodide = null;
let python = null; // browser_runtime.worker, once ready
let backgroundWork = Promise.resolve(); // requests wait for this (e.g. restoring files)
const timings = {};
const t0 = performance.now();

function mark(name) {
  timings[name] = Math.round(performance.now() - t0);
}

function progress(stage, detail, fraction) {
  self.postMessage({ type: M.PROGRESS, stage, detail, fraction });
}

class BootError extends Error {
  constructor(stage, message) {
    super(message);
    this.stage = stage;
  }
}

async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new BootError("packages", `${url.pathname ?? url}: HTTP ${response.status}`);
  return response.json();
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Fetch one archive and check it against the manifest before Python ever sees it.
async function fetchVerified(archive) {
  const url = new URL(`wheels/${archive.file}`, BASE);
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new BootError("packages", `wheels/${archive.file}: could not be fetched (${err.message})`);
  }
  if (!response.ok) {
    throw new BootError("packages", `wheels/${archive.file}: HTTP ${response.status} (missing from the build? run scripts/setup.py)`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
  if (digest !== archive.sha256) {
    throw new BootError(
      "packages",
      `wheels/${archive.file}: sha256 ${digest} does not match the manifest (${archive.sha256}); the file is corrupt or stale`,
    );
  }
  return bytes;
}

// The snapshot set-up built (gzip, immutable URL, so the HTTP cache keeps it).
async function fetchPrebuiltSnapshot(entry) {
  if (!entry || typeof DecompressionStream === "undefined") return null;
  try {
    const response = await fetch(new URL(`wheels/${entry.file}`, BASE));
    if (!response.ok) return null;
    const compressed = await response.arrayBuffer();
    if (hex(await crypto.subtle.digest("SHA-256", compressed)) !== entry.sha256) {
      console.warn(`labwright: wheels/${entry.file} does not match the manifest; not used`);
      return null;
    }
    const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    console.warn("labwright: prebuilt snapshot unavailable:", err.message);
    return null;
  }
}

async function readSnapshot(buildId) {
  if (!hidden.caches) return null;
  try {
    const cache = await hidden.caches.open(SNAPSHOT_CACHE);
    const hit = await cache.match(new URL(`__snapshot__/${buildId}`, BASE));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  } catch {
    return null;
  }
}

async function writeSnapshot(buildId, bytes) {
  if (!hidden.caches) return;
  const cache = await hidden.caches.open(SNAPSHOT_CACHE);
  for (const request of await cache.keys()) await cache.delete(request);
  await cache.put(new URL(`__snapshot__/${buildId}`, BASE), new Response(bytes));
}

// Pyodide's wasm memory is created at its default size, smaller than a snapshot of a
// heap with PLR imported; grow it before the snapshot is copied in.
function growingModuleFactory(createModule, size) {
  return async (settings) => {
    const module = await createModule(settings);
    while (module.HEAP8.length < size) module._malloc(size - module.HEAP8.length + 65536);
    keepOwnTrampolineOnRestore(module);
    return module;
  };
}

// --- snapshot restore: keep this runtime's call trampoline ----------------------------------
// Before Python starts, Pyodide writes into the heap (_PyRuntime) how CPython calls function
// pointers: through a small wasm trampoline if this runtime can build one (wasm GC), else
// through JS. Restoring a snapshot copies the whole heap over that with the value of the
// runtime that made it; set-up makes ours in Node 20, which has no usable wasm GC, so every
// call would go through JS, and stack switching cannot suspend across JS frames: run_sync and
// time.sleep would die with "SuspendError: trying to suspend JS frames". Put this runtime's
// own choice back right after the heap is restored, before any Python runs.
function keepOwnTrampolineOnRestore(module) {
  if (module.__PyRuntime === undefined || module.__PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET === undefined) return;
  const slot = () => (module.__PyRuntime + module.HEAP32[module.__PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET >>> 2]) >>> 2;
  const own = module.HEAP32[slot()];
  const restore = module.API.restoreSnapshot;
  module.API.restoreSnapshot = (snapshot) => {
    const result = restore(snapshot);
    module.HEAP32[slot()] = own;
    return result;
  };
}
// --- end snapshot restore ---

async function startPyodide(manifest, snapshot) {
  const indexURL = new URL(manifest.pyodide.url, BASE).href;
  const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
  const options = {
    indexURL,
    stdout: (line) => console.log(line),
    stderr: (line) => console.warn(line),
  };
  if (snapshot) {
    const { default: createModule } = await import(new URL("pyodide.asm.mjs", indexURL).href);
    options._loadSnapshot = snapshot;
    options.createPyodideModule = growingModuleFactory(createModule, snapshot.length);
  } else {
    options._makeSnapshot = true;
  }
  return loadPyodide(options);
}

function unpackAll(archives, sitePackages, { report = true } = {}) {
  return archives.reduce(
    (done, archive, index) =>
      done.then(async () => {
        const bytes = await archive.bytes;
        try {
          await unpackZip(pyodide.FS, bytes, sitePackages);
        } catch (err) {
          throw new BootError("packages", `wheels/${archive.file}: cannot be unpacked (${err.message})`);
        }
        if (report) progress("packages", `${archive.name} ${archive.version}`, (index + 1) / archives.length);
      }),
    Promise.resolve(),
  ).then(() => pyodide.runPython("import importlib; importlib.invalidate_caches()")); // new files: look again
}

async function boot() {
  progress("runtime", "manifest", 0);
  const manifest = await fetchJson(new URL("wheels/manifest.json", BASE));
  // Every archive download starts now, in parallel with the runtime's own download.
  const archives = manifest.archives.map((archive) => ({ ...archive, bytes: fetchVerified(archive) }));
  archives.forEach((archive) => archive.bytes.catch(() => {})); // reported where awaited
  // Fastest first: this browser's own snapshot, then the one set-up built, then none
  // (initialise Python and import everything here, then save a snapshot for next time).
  let snapshot = await readSnapshot(manifest.build_id);
  let snapshotSource = snapshot ? "local" : null;
  if (!snapshot) {
    snapshot = await fetchPrebuiltSnapshot(manifest.snapshot);
    snapshotSource = snapshot ? "prebuilt" : null;
  }
  progress("runtime", snapshot ? "restoring snapshot" : "Pyodide", 0.1);
  try {
    pyodide = await startPyodide(manifest, snapshot);
  } catch (err) {
    if (!snapshot) throw new BootError("runtime", `Pyodide failed to start: ${err.message}`);
    // A snapshot this runtime cannot restore: drop it and boot without one.
    console.warn(`labwright: ${snapshotSource} snapshot rejected, booting cold:`, err.message);
    snapshot = null;
    snapshotSource = null;
    await writeSnapshot("invalid", new Uint8Array(0)).catch(() => {});
    pyodide = await startPyodide(manifest, null);
  }
  mark("runtime");
  progress("runtime", `Pyodide ${pyodide.version}`, 1);
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");

  // Boot stops here if any archive is missing or corrupt, snapshot or not.
  await Promise.all(archives.map((archive) => archive.bytes));

  let versions;
  if (snapshot) {
    // PLR is already imported in the restored heap; the files behind it (the heap does
    // not hold the file system) are put back before any request runs.
    versions = JSON.parse(pyodide.runPython("import browser_runtime.worker as w; w.versions_json()"));
    mark("packages");
    mark("plr");
    backgroundWork = unpackAll(archives, sitePackages, { report: false }).then(() => mark("files"));
  } else {
    await unpackAll(archives, sitePackages);
    mark("packages");
    progress("plr", "importing pylabrobot", 0);
    versions = JSON.parse(pyodide.runPython("import browser_runtime.worker as w; w.versions_json()"));
    mark("plr");
  }
  versions = { pyodide: pyodide.version, ...versions };
  progress("ready", "ready", 1);
  mark("ready");
  const catalog = manifest.catalog
    ? { url: new URL(`wheels/${manifest.catalog.file}`, BASE).href, base: new URL(`wheels/${manifest.catalog.base}`, BASE).href, sha256: manifest.catalog.sha256 }
    : null;
  prebuiltCatalog = catalog && { url: catalog.url, sha256: catalog.sha256 };
  self.postMessage({ type: M.READY, versions, timings, snapshot: snapshotSource, buildId: manifest.build_id, catalog });

  if (!snapshot) {
    // Take the snapshot now, while no JS object is referenced from Python.
    backgroundWork = (async () => {
      try {
        await writeSnapshot(manifest.build_id, pyodide.makeMemorySnapshot());
        mark("snapshot-saved");
      } catch (err) {
        console.warn("labwright: no warm-start snapshot:", err.message);
      }
    })();
  }
  await backgroundWork;
  python = pyodide.pyimport("browser_runtime.worker");
  const opened = openData().catch((err) => postDataState("error", err.message));
  if (snapshotSource === "prebuilt") {
    // Keep set-up's snapshot unpacked in this browser for the next start (a "local" one):
    // fetching, checking and gunzipping it again took ~0.6 s of every reload. Once the page is
    // usable, so the copy costs the way there nothing.
    opened.then(() => writeSnapshot(manifest.build_id, snapshot))
      .then(() => mark("snapshot-kept"))
      .catch((err) => console.warn("labwright: the snapshot was not kept for the next start:", err.message));
  }
}

// --- the page's data ---------------------------------------------------------------------------
// One tab owns the database (data-owner.js); it lives in memory in Python and is saved as SQLite
// pages in IndexedDB (page-store.js) after each request that changed it, before the reply: what
// a reply acknowledged is stored. A save that fails fails the request that caused it.
let store = null;
let dataState = "opening";
let prebuiltCatalog = null; // set-up's catalog {url, sha256}, loaded when nothing better is there

function postDataState(state, detail = null, extra = {}) {
  dataState = state;
  self.postMessage({ type: M.DATA, state, detail, ...extra });
}

async function openData() {
  store = await PageStore.open(hidden.indexedDB);
  ownership.onRequested = closeData;
  ownership.onLost = () => {
    python.close_session();
    postDataState("released", "another tab took Labwright's data over");
  };
  if (await ownership.claim()) return loadData();
  postDataState("elsewhere", "Labwright's data is open in another tab of this browser");
}

async function loadData() {
  let image = await store.load();
  let saved = true;
  if (!image) {
    image = await store.legacyImage(); // a database an older Labwright kept in IDBFS
    saved = image === null;
  }
  const opened = JSON.parse(python.open_session(image, saved));
  // The catalog loads in the background: the workbench is usable first, and what needs the
  // catalog waits for it in the worker (browser_runtime.page.door).
  python.start_catalog(prebuiltCatalog && JSON.stringify(prebuiltCatalog));
  mark("data");
  if (!saved) await save();
  postDataState("open", null, { recovered: opened.recovered, timings });
}

async function closeData() {
  await save().catch(() => {});
  python.close_session();
  postDataState("released", "Labwright's data was moved to another tab");
}

async function takeOver() {
  if (ownership.held) return;
  postDataState("opening", "asking the other tab to hand the data over");
  await ownership.takeOver();
  await loadData();
}

class PersistError extends Error {
  constructor(message) {
    super(message);
    this.type = "PersistError";
  }
}

let saving = Promise.resolve();
let saveQueued = false;

// Save what changed since the last save (nothing, if nothing did); saves run one at a time.
function save() {
  const next = saving.then(saveOnce);
  saving = next.catch(() => {});
  return next;
}

async function saveOnce() {
  if (!python || !store) return;
  if (store.reset) {
    // The browser dropped the store under us (site data cleared): write the whole database again.
    python.database_forget_saved();
    self.postMessage({ type: M.EVENT, channel: "data", payload: { notice: "this browser's copy of Labwright's data was cleared; it was saved again from the open page" } });
  }
  const changes = python.database_changes();
  if (!changes) return;
  const [metaJson, blob] = changes.toJs();
  changes.destroy();
  const meta = JSON.parse(metaJson);
  try {
    await store.write(meta, blob instanceof Uint8Array ? blob : new Uint8Array(blob));
  } catch (err) {
    python.database_saved(meta.generation, false);
    throw new PersistError(
      `the change was made but could not be saved in this browser (${err?.name ?? "Error"}: ${err?.message ?? err}); ` +
        "it is kept in memory and saved again with the next change: export the database to keep a copy",
    );
  }
  python.database_saved(meta.generation, true);
}

// Python calls this after each commit: changes made outside a request (a run that ended) are saved too.
self.labwrightSaveSoon = () => {
  if (saveQueued) return;
  saveQueued = true;
  setTimeout(() => {
    saveQueued = false;
    save().catch((err) => self.postMessage({ type: M.EVENT, channel: "data", payload: { error: err.message } }));
  }, 0);
};

// The database an import replaced, so the import can be undone (browser_runtime.page.data).
self.labwrightBackups = {
  put: (image, label) => store.putBackup(image, label),
  get: () => store.getBackup(),
  clear: () => store.clearBackup(),
};

function unwrap(replyJson) {
  const reply = JSON.parse(replyJson);
  if (!reply.ok) throw reply.error;
  return reply.value;
}

const grantJson = (grant) => (grant ? JSON.stringify(grant) : null);

const handlers = {
  async [M.OPS.runPython]({ code, grant }) {
    return unwrap(await python.run_python(String(code), grantJson(grant)));
  },
  // One general door for the page's APIs: `name` is "<area>.<function>" from the allow-list
  // in browser_runtime.page.door; arguments and result travel as JSON.
  async [M.OPS.call]({ id, name, args, grant }) {
    return unwrap(await python.call(id, String(name), JSON.stringify(args ?? {}), grantJson(grant)));
  },
  async [M.OPS.takeOver]() {
    await takeOver();
    return dataState;
  },
};

const booted = boot().catch((err) => {
  self.postMessage({ type: M.BOOT_ERROR, stage: err.stage ?? "runtime", message: err.message ?? String(err) });
  throw err;
});

// Requests start in arrival order and run concurrently: Python interleaves them at its
// awaits, so a long run (waited on by `runs.wait`) never blocks its own `runs.cancel`.
self.onmessage = (event) => {
  const message = event.data;
  if (io.receive(message)) return; // web bridge: a device IO reply from the port manager
  if (message?.type === M.INTERRUPT_BUFFER) {
    // The page writes 2 (SIGINT) here to interrupt Python busy in a statement.
    booted.then(() => pyodide.setInterruptBuffer(new Int32Array(message.buffer)));
    return;
  }
  if (message?.type !== M.REQUEST) return;
  (async () => {
    try {
      await booted;
      await backgroundWork;
      const handler = handlers[message.op];
      if (!handler) throw { type: "ProtocolError", message: `unknown operation ${message.op}` };
      const value = await handler(message);
      await save(); // what the reply acknowledges is stored first
      self.postMessage({ type: M.RESULT, id: message.id, value });
    } catch (err) {
      self.postMessage({ type: M.FAILURE, id: message.id, error: M.errorPayload(err) });
    } finally {
      python?.reply_sent(message.id); // a run it started may begin now
    }
  })();
};

// Python posts events (run progress, logs) to the page through this one function; the
// payload is a JSON string so no JS object is ever held by Python.
self.labwrightEmit = (channel, payloadJson) => {
  self.postMessage({ type: M.EVENT, channel, payload: JSON.parse(payloadJson) });
};

// --- web bridge (browser_runtime.webbridge): device IO goes to the page's port manager ------
// Python calls labwrightIO.request(op, args, timeoutMs) and awaits the reply message
// ({ok, value} | {ok: false, error}); see io/io-protocol.js. The bridge is installed in Python
// before ready (browser_runtime.boot.prepare_worker, so in the snapshot too): it looks this
// object up only when a device is used, so the heap snapshot never holds a JS object.
const io = new IOClient((message) => self.postMessage(message));
self.labwrightIO = { request: (op, args, timeout) => io.request(op, args, timeout) };
// --- end web bridge ---
