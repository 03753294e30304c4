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
