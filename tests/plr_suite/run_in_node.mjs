// Run PLR's own unit tests inside Pyodide under Node, booted as the page boots: the heap
// snapshot set-up made (PLR already imported) restored, the compiled archives put back on the
// file system (each checked against wheels/dist/manifest.json), the web bridge installed; then
// the pinned test wheels and tests/plr_suite/driver.py. Writes the driver's JSON report.
// Usage: node --experimental-wasm-stack-switching tests/plr_suite/run_in_node.mjs OUT.json [PATH_IN_PLR...]
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = path.join(ROOT, "wheels", "dist");
const [outFile, ...only] = process.argv.slice(2);
if (!outFile) {
  console.error("usage: run_in_node.mjs OUT.json [PATH_IN_PLR...]");
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(path.join(DIST, "manifest.json"), "utf8"));
if (!manifest.test_wheels?.length || !manifest.snapshot) {
  console.error("wheels/dist/manifest.json lacks test wheels or the snapshot: run `python3 scripts/setup.py --test`");
  process.exit(2);
}

function verified(file, sha256) {
  const bytes = fs.readFileSync(path.join(DIST, file));
  const digest = crypto.createHash("sha256").update(bytes).digest("hex");
  if (digest !== sha256) throw new Error(`wheels/dist/${file}: sha256 mismatch with the manifest`);
  return new Uint8Array(bytes);
}

const indexURL = path.join(ROOT, "build", manifest.pyodide.url) + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const { default: createModule } = await import(pathToFileURL(path.join(indexURL, "pyodide.asm.mjs")).href);
const snapshot = new Uint8Array(zlib.gunzipSync(verified(manifest.snapshot.file, manifest.snapshot.sha256)));
const pyodide = await loadPyodide({
  indexURL,
  _loadSnapshot: snapshot,
  // As in the page's worker: the heap must be as large as the snapshot before it is copied in.
  createPyodideModule: async (settings) => {
    const module = await createModule(settings);
    while (module.HEAP8.length < snapshot.length) module._malloc(snapshot.length - module.HEAP8.length + 65536);
    return module;
  },
});
// The worker's globals Python reaches for: events go nowhere here, and device IO has no port
// manager behind it (a test that opens a device through the bridge gets that error).
globalThis.labwrightEmit = () => {};
globalThis.labwrightIO = {
  request: async (op) => ({ ok: false, error: { type: "NotFound", message: `${op}: no port manager in Node` } }),
};
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const archive of manifest.archives) {
  pyodide.unpackArchive(verified(archive.file, archive.sha256), "zip", { extractDir: sitePackages });
}
for (const wheel of manifest.test_wheels) {
  pyodide.unpackArchive(verified(wheel.file, wheel.sha256), "wheel", { extractDir: sitePackages });
}
pyodide.runPython("import browser_runtime.webbridge as _wb; _wb.install(); del _wb");

pyodide.FS.mkdirTree("/labwright/tests/plr_suite");
pyodide.FS.writeFile("/labwright/tests/plr_suite/driver.py", fs.readFileSync(path.join(ROOT, "tests", "plr_suite", "driver.py")));
pyodide.globals.set("only", pyodide.toPy(only));
const report = await pyodide.runPythonAsync(`
import json, sys
sys.path.insert(0, "/labwright/tests/plr_suite")
import driver
json.dumps(driver.run("node", list(only) or None))
`);
fs.writeFileSync(outFile, report);
const counts = {};
for (const test of JSON.parse(report).tests) counts[test.outcome] = (counts[test.outcome] ?? 0) + 1;
console.log(`PLR suite in Pyodide under Node: ${JSON.stringify(counts)}`);
// Timers some tests left on the event loop (a backend's 60 s timeout) would keep Node alive.
process.exit(0);
