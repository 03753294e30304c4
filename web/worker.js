// The Python worker: boots Pyodide from our own origin, installs the compiled archives
// listed in wheels/manifest.json (each verified by sha256), imports PLR and answers
// requests from the page. Python never runs on the main thread.
import * as M from "./messages.js";
import { IOClient } from "./io-protocol.js";

const BASE = new URL("./", self.location.href);
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
  if (!self.caches) return null;
  try {
    const cache = await caches.open(SNAPSHOT_CACHE);
    const hit = await cache.match(new URL(`__snapshot__/${buildId}`, BASE));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
  } catch {
    return null;
  }
}

async function writeSnapshot(buildId, bytes) {
  if (!self.caches) return;
  const cache = await caches.open(SNAPSHOT_CACHE);
  for (const request of await cache.keys()) await cache.delete(request);
  await cache.put(new URL(`__snapshot__/${buildId}`, BASE), new Response(bytes));
}

// Pyodide's wasm memory is created at its default size, smaller than a snapshot of a
// heap with PLR imported; grow it before the snapshot is copied in.
function growingModuleFactory(createModule, size) {
  return async (settings) => {
    const module = await createModule(settings);
    while (module.HEAP8.length < size) module._malloc(size - module.HEAP8.length + 65536);
    return module;
  };
}

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
        pyodide.unpackArchive(bytes, "zip", { extractDir: sitePackages });
        if (report) progress("packages", `${archive.name} ${archive.version}`, (index + 1) / archives.length);
      }),
    Promise.resolve(),
  );
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
  await mountPersistentData();
  python = pyodide.pyimport("browser_runtime.worker");
  installWebBridge();
}

// The page's database and other state live under /data, an IndexedDB-backed folder: it is
// loaded once here and written back after every request (only changed files are written),
// so whatever a request committed survives a reload or a crash once its reply is sent.
const DATA_DIR = "/data";

function syncData(populate) {
  return new Promise((resolve, reject) =>
    pyodide.FS.syncfs(populate, (err) => (err ? reject(new Error(`persisting ${DATA_DIR}: ${err}`)) : resolve())),
  );
}

async function mountPersistentData() {
  pyodide.FS.mkdirTree(DATA_DIR);
  try {
    pyodide.FS.mount(pyodide.FS.filesystems.IDBFS, {}, DATA_DIR);
    await syncData(true);
    mark("data");
  } catch (err) {
    // Private windows may refuse IndexedDB: keep working in memory and say so.
    console.warn(`labwright: ${DATA_DIR} is not persistent here:`, err.message);
  }
}

function unwrap(replyJson) {
  const reply = JSON.parse(replyJson);
  if (!reply.ok) throw reply.error;
  return reply.value;
}

const handlers = {
  async [M.OPS.runPython]({ code }) {
    return unwrap(await python.run_python(String(code)));
  },
  // One general door for the page's APIs: `name` is "<area>.<function>" from the allow-list
  // in browser_runtime.worker; arguments and result travel as JSON.
  async [M.OPS.call]({ name, args }) {
    return unwrap(await python.call(String(name), JSON.stringify(args ?? {})));
  },
};

const booted = boot().catch((err) => {
  self.postMessage({ type: M.BOOT_ERROR, stage: err.stage ?? "runtime", message: err.message ?? String(err) });
  throw err;
});

// Requests start in arrival order and run concurrently: Python interleaves them at its
// awaits, so a long run (waited on by `runs.wait`) never blocks its own `runs.cancel`.
// Writes to /data are flushed one at a time.
let flushing = Promise.resolve();
function flushData() {
  flushing = flushing.then(() => syncData(false).catch((err) => console.warn(err.message)));
  return flushing;
}

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
      let value;
      try {
        value = await handler(message);
      } finally {
        await flushData();
      }
      self.postMessage({ type: M.RESULT, id: message.id, value });
    } catch (err) {
      self.postMessage({ type: M.FAILURE, id: message.id, error: M.errorPayload(err) });
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
// ({ok, value} | {ok: false, error}); see io-protocol.js. Installed after the snapshot is
// restored or saved, so the heap snapshot never holds JS objects.
const io = new IOClient((message) => self.postMessage(message));
self.labwrightIO = { request: (op, args, timeout) => io.request(op, args, timeout) };
function installWebBridge() {
  pyodide.runPython("import browser_runtime.webbridge as _wb; _wb.install(); del _wb");
}
// --- end web bridge ---
