// Time the scheduler inside Pyodide under Node (the interpreter the page runs): the same
// problems bench_scheduler.py solves on CPython, as JSON (scheduler.placement.problem_to_dict).
// Usage: node --experimental-wasm-stack-switching tests/bench/pyodide_scheduler.mjs problems.json
// Prints one JSON line per problem: {name, method, makespan_s, compute_s, cpu_s, placed,
// infeasible}; cpu_s is this process's CPU time for the call (robust when other work shares the machine).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = path.join(ROOT, "wheels", "dist");
const manifest = JSON.parse(fs.readFileSync(path.join(DIST, "manifest.json"), "utf8"));
const indexURL = path.join(ROOT, "build", manifest.pyodide.url) + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL });

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
// This checkout's browser_runtime comes first on sys.path, so the code measured is the code here.
pyodide.FS.mkdirTree("/labwright/browser_runtime");
pyodide.mountNodeFS("/labwright/browser_runtime", path.join(ROOT, "browser_runtime"));
const solveOne = pyodide.runPython(`
import json, sys
sys.path.insert(0, "/labwright")
sys.dont_write_bytecode = True
from browser_runtime.scheduler import list_schedule, optimise
from browser_runtime.scheduler.placement import problem_from_dict

def solve_one(text):
    entry = json.loads(text)
    problem = problem_from_dict(entry["problem"])
    if entry["method"] == "optimiser":
        schedule = optimise(problem, seed=entry.get("seed", 0), iterations=entry.get("iterations", 400))
    else:
        schedule = list_schedule(problem)
    return json.dumps({"name": entry["name"], "method": entry["method"], "makespan_s": schedule.makespan_s,
                       "compute_s": schedule.compute_s, "placed": len(schedule.placements),
                       "infeasible": len(schedule.infeasible)})

solve_one
`);
for (const entry of JSON.parse(fs.readFileSync(process.argv[2], "utf8"))) {
  const before = process.cpuUsage();
  const result = JSON.parse(solveOne(JSON.stringify(entry)));
  const used = process.cpuUsage(before);
  result.cpu_s = (used.user + used.system) / 1e6;
  console.log(JSON.stringify(result));
}
