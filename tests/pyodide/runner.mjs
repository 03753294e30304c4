// Run pytest inside Pyodide under Node: the real interpreter the page uses, with the same
// compiled archives the page loads (checked against wheels/dist/manifest.json) plus the
// pinned pytest wheels. Usage: node --experimental-wasm-stack-switching
//   tests/pyodide/runner.mjs [pytest args...]   (paths relative to the repository root)
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = path.join(ROOT, "wheels", "dist");
const manifest = JSON.parse(fs.readFileSync(path.join(DIST, "manifest.json"), "utf8"));
if (!manifest.test_wheels?.length) {
  console.error("wheels/dist/manifest.json lists no test wheels: run `python3 scripts/setup.py --test`");
  process.exit(2);
}
const indexURL = path.join(ROOT, "build", manifest.pyodide.url) + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL });
// The worker's global that browser_runtime.worker.emit posts events to (web/worker/worker.js forwards
// them to the page); no page here, so events reach only the listeners registered in Python.
globalThis.labwrightEmit = () => {};
// What web/worker/worker.js offers browser_runtime.worker for saving the page's data: here nothing is
// saved between runs (each test opens its own session), backups stay in memory.
globalThis.labwrightSaveSoon = () => {};
let backup = null;
globalThis.labwrightBackups = {
  put: async (image, label) => { backup = { image: new Uint8Array(image), label }; },
  get: async () => backup,
  clear: async () => { backup = null; },
};

function verified(file, sha256) {
  const bytes = fs.readFileSync(path.join(DIST, file));
  const digest = crypto.createHash("sha256").update(bytes).digest("hex");
  if (digest !== sha256) throw new Error(`wheels/dist/${file}: sha256 mismatch with the manifest`);
  return new Uint8Array(bytes);
}

const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const archive of manifest.archives) {
  pyodide.unpackArchive(verified(archive.file, archive.sha256), "zip", { extractDir: sitePackages });
}
for (const wheel of manifest.test_wheels) {
  pyodide.unpackArchive(verified(wheel.file, wheel.sha256), "wheel", { extractDir: sitePackages });
}

// The repository's tests are mounted read-only in spirit: pytest's cache is disabled.
pyodide.FS.mkdirTree("/labwright");
pyodide.mountNodeFS("/labwright/tests", path.join(ROOT, "tests"));
// The demo protocols the page ships (tests plan and run them).
pyodide.FS.mkdirTree("/labwright/web");
pyodide.mountNodeFS("/labwright/web", path.join(ROOT, "web"));
// The prebuilt catalog set-up made (tests that need PLR's definitions read it).
const catalogDir = path.join(ROOT, "build", "catalog");
if (fs.existsSync(path.join(catalogDir, "catalog.json"))) {
  pyodide.FS.mkdirTree("/labwright/build/catalog");
  pyodide.FS.writeFile("/labwright/build/catalog/catalog.json", fs.readFileSync(path.join(catalogDir, "catalog.json")));
}
pyodide.FS.writeFile("/labwright/pyproject.toml", fs.readFileSync(path.join(ROOT, "pyproject.toml")));

const args = process.argv.slice(2);
const pytestArgs = ["-p", "no:cacheprovider", "-o", "console_output_style=classic", "--rootdir", "/labwright",
  ...(args.length ? args : ["tests/unit"])].map((arg) => (arg.startsWith("tests/") ? `/labwright/${arg}` : arg));
pyodide.globals.set("pytest_args", pyodide.toPy(pytestArgs));
const code = await pyodide.runPythonAsync(`
import os, sys
os.chdir("/labwright")
sys.path.insert(0, "/labwright")
import pytest
print(f"pytest inside Pyodide {sys.version.split()[0]} on {sys.platform}", flush=True)
int(pytest.main(list(pytest_args)))
`);
process.exit(code);
