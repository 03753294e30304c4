// The page's archives unpacked into Pyodide's file system: Python's zipfile (pyodide.unpackArchive,
// what the worker did) against web/worker/zip.js (the central directory read in JS, each file
// made a MEMFS node holding a view of the archive, what the worker does now), in one Pyodide,
// same archives, same run.
//
//     node tests/bench/bench_unpack.mjs [runs]
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unpackZip } from "../../web/worker/zip.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "wheels/dist/manifest.json"), "utf8"));
const { loadPyodide } = await import(path.join(ROOT, "build/pyodide", manifest.pyodide.version, "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: path.join(ROOT, "build/pyodide", manifest.pyodide.version) + "/" });
const archives = manifest.archives.map((a) => new Uint8Array(readFileSync(path.join(ROOT, "wheels/dist", a.file))));
const runs = Number(process.argv[2] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = { zipfile: [], js: [] };
let files = 0;
for (let run = 0; run < runs; run++) {
  for (const [way, unpack] of [["zipfile", (bytes, dir) => pyodide.unpackArchive(bytes, "zip", { extractDir: dir })],
    ["js", (bytes, dir) => unpackZip(pyodide.FS, bytes, dir)]]) {
    const dir = `/tmp/unpack-${way}-${run}`;
    pyodide.FS.mkdirTree(dir);
    const started = performance.now();
    for (const bytes of archives) await unpack(bytes, dir);
    timed[way].push(performance.now() - started);
    if (way === "js") files = pyodide.runPython(`import os; sum(len(f) for _, _, f in os.walk(${JSON.stringify(dir)}))`);
  }
}
const bytes = archives.reduce((n, a) => n + a.length, 0);
console.log(`${archives.length} archives, ${files} files, ${(bytes / 1e6).toFixed(1)} MB, median of ${runs}`);
console.log(`Python zipfile (pyodide.unpackArchive): ${median(timed.zipfile).toFixed(0)} ms`);
console.log(`JS (web/worker/zip.js, MEMFS nodes):    ${median(timed.js).toFixed(0)} ms  = ${(median(timed.js) / median(timed.zipfile)).toFixed(2)}x`);
