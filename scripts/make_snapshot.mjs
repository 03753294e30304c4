// Build the page's boot snapshot at set-up time: Pyodide's heap right after the compiled
// archives are installed and the modules `ready` promises are imported, gzip-compressed.
// The page restores it instead of initialising Python and importing PLR itself, and puts
// the archive files back on its file system (the heap does not hold the file system).
// Usage: node --experimental-wasm-stack-switching scripts/make_snapshot.mjs PYODIDE_DIR DIST_DIR OUT_FILE
//
// Stack switching (JSPI) must be on here, not only in the page: Pyodide's C core binds
// `pyodide.ffi.run_sync` once, while Python initialises, to either the real implementation
// or a stub raising "WebAssembly stack switching not supported in this JavaScript runtime",
// and the heap keeps that choice. A snapshot made without JSPI therefore breaks run_sync,
// time.sleep, asyncio.run and WebLoop.run_until_complete in every page restoring it, even
// though can_run_sync() (which asks JS at call time) says True there.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";

if (!("Suspending" in WebAssembly) && !("Suspender" in WebAssembly)) {
  console.error("make_snapshot.mjs needs WebAssembly stack switching: run node with --experimental-wasm-stack-switching");
  process.exit(2);
}
const [pyodideDir, distDir, outFile] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(distDir, "manifest.json"), "utf8"));
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", _makeSnapshot: true, stdout: () => {} });
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const archive of manifest.archives) {
  const bytes = fs.readFileSync(path.join(distDir, archive.file));
  if (crypto.createHash("sha256").update(bytes).digest("hex") !== archive.sha256) {
    throw new Error(`${archive.file}: sha256 does not match the manifest`);
  }
  pyodide.unpackArchive(new Uint8Array(bytes), "zip", { extractDir: sitePackages });
}
const versions = pyodide.runPython("import browser_runtime.worker as w; w.versions_json()");
const snapshot = pyodide.makeMemorySnapshot();
const compressed = zlib.gzipSync(snapshot, { level: 6 });
fs.writeFileSync(outFile + ".tmp", compressed);
fs.renameSync(outFile + ".tmp", outFile);
console.log(JSON.stringify({ versions: JSON.parse(versions), size: snapshot.length, compressed: compressed.length }));
