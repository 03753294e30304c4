// The worker's zip reader against zips Python's zipfile writes (stored and deflated), and its
// refusals: not a zip, a truncated one, a path leaving the archive.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { unpackZip, ZipError, zipEntries } from "../../web/worker/zip.js";

function pythonZip(method, files) {
  const script = `
import io, sys, zipfile, json, base64
files = json.loads(sys.argv[2])
out = io.BytesIO()
with zipfile.ZipFile(out, "w", getattr(zipfile, sys.argv[1])) as z:
    for name, text in files.items():
        z.writestr(name, text)
sys.stdout.write(base64.b64encode(out.getvalue()).decode())`;
  return new Uint8Array(Buffer.from(execFileSync("python3", ["-c", script, method, JSON.stringify(files)]).toString(), "base64"));
}

// A file system with Emscripten's FS calls the reader uses.
function memoryFS() {
  const files = new Map();
  const dirs = new Set();
  return { files, dirs, mkdirTree: (path) => dirs.add(path), writeFile: (path, data) => files.set(path, Buffer.from(data).toString()) };
}

const FILES = { "pkg/__init__.py": "x = 1\n", "pkg/sub/data.json": '{"a": [1, 2, 3]}'.repeat(50), "top.txt": "" };

for (const method of ["ZIP_STORED", "ZIP_DEFLATED"]) {
  test(`every file of a ${method} zip lands under the directory with its bytes`, async () => {
    const fs = memoryFS();
    const count = await unpackZip(fs, pythonZip(method, FILES), "/site");
    assert.equal(count, 3);
    assert.deepEqual(Object.fromEntries(fs.files), Object.fromEntries(Object.entries(FILES).map(([k, v]) => [`/site/${k}`, v])));
    assert.ok(fs.dirs.has("/site/pkg/sub"));
  });
}

test("what is not a zip, or is cut short, or leaves the archive, is refused", () => {
  assert.throws(() => zipEntries(new Uint8Array(100)), ZipError);
  const whole = pythonZip("ZIP_STORED", FILES);
  assert.throws(() => zipEntries(whole.subarray(0, whole.length - 30)), ZipError);
  assert.throws(() => zipEntries(pythonZip("ZIP_STORED", { "../evil.py": "x" })), /outside the archive/);
});

// In Pyodide's own file system (MEMFS) the files are views of the archive: Python reads them as
// written, and writing one file (truncating, in place, growing) changes that file only.
test("in Pyodide's file system Python reads every file, and a write changes only its own file", async () => {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const root = path.resolve(import.meta.dirname, "../..");
  const manifest = JSON.parse(readFileSync(path.join(root, "wheels/dist/manifest.json"), "utf8"));
  const indexURL = path.join(root, "build/pyodide", manifest.pyodide.version) + "/";
  const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
  const pyodide = await loadPyodide({ indexURL });
  const files = { "pkg/__init__.py": "VALUE = 41\n", "pkg/a.txt": "aaaa", "pkg/b.txt": "bbbb", "pkg/sub/c.txt": "cccc" };
  const zip = pythonZip("ZIP_STORED", files);
  const before = zip.slice();
  assert.equal(await unpackZip(pyodide.FS, zip, "/site"), 4);
  assert.equal(await unpackZip(pyodide.FS, pythonZip("ZIP_STORED", { "pkg/a.txt": "again" }), "/site"), 1); // a file already there
  const seen = pyodide.runPython(`
import sys, pathlib
sys.path.insert(0, "/site")
import pkg
root = pathlib.Path("/site/pkg")
(root / "b.txt").write_text("B")                     # truncated and rewritten
with open(root / "sub/c.txt", "r+") as f: f.write("C")  # in place
with open(root / "a.txt", "a") as f: f.write("+more")   # grown
[pkg.VALUE + 1, (root / "a.txt").read_text(), (root / "b.txt").read_text(), (root / "sub/c.txt").read_text(),
 sorted(p.name for p in root.rglob("*.txt"))]`).toJs();
  assert.deepEqual(seen, [42, "again+more", "B", "Cccc", ["a.txt", "b.txt", "c.txt"]]);
  // The archive's own bytes outside the written file are untouched.
  const changed = [...zip].flatMap((byte, at) => (byte === before[at] ? [] : [at]));
  assert.ok(changed.every((at) => String.fromCharCode(zip[at]) === "C"), `bytes changed at ${changed}`);
});
