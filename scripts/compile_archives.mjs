// Compile each wheel's Python files to bytecode *inside Pyodide* (its CPython 3.14 must
// write the .pyc the page will load) and write one zip per wheel: the wheel's files plus
// __pycache__/*.pyc. Unchecked-hash pycs are used as they are: extraction in the page does
// not keep source mtimes, so timestamp pycs would be ignored.
// Usage: node scripts/compile_archives.mjs PYODIDE_DIR '[{"wheel": path, "out": path}]'
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, jobsJson] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", stdout: () => {}, stderr: (s) => console.error(s) });

const compile = pyodide.runPython(`
import compileall, io, os, py_compile, shutil, zipfile

def compile_wheel(src, dst):
    work = "/tmp/compile"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(src) as wheel:
        wheel.extractall(work)
    # Files that do not compile (Python 2 leftovers in some wheels) stay as source only.
    compileall.compile_dir(work, quiet=2, workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    # Stored, not deflated: the page copies each file out with FS.writeFile (web/worker/zip.js).
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as out:
        for root, dirs, files in os.walk(work):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                info = zipfile.ZipInfo(os.path.relpath(full, work), date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                with open(full, "rb") as handle:
                    out.writestr(info, handle.read())
compile_wheel
`);

for (const job of JSON.parse(jobsJson)) {
  const started = performance.now();
  pyodide.FS.writeFile("/tmp/in.whl", new Uint8Array(fs.readFileSync(job.wheel)));
  compile("/tmp/in.whl", "/tmp/out.zip");
  const tmp = job.out + ".tmp";
  fs.writeFileSync(tmp, pyodide.FS.readFile("/tmp/out.zip"));
  fs.renameSync(tmp, job.out);
  console.log(`[setup]   ${path.basename(job.out)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
