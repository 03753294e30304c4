// Load Pyodide core and nothing else (no packages, no imports): the benchmark's floor.
const base = new URL("../", self.location.href);
const manifest = await (await fetch(new URL("wheels/manifest.json", base), { cache: "no-cache" })).json();
const indexURL = new URL(manifest.pyodide.url, base).href;
const { loadPyodide } = await import(new URL("pyodide.mjs", indexURL).href);
const pyodide = await loadPyodide({ indexURL });
self.postMessage({ python: pyodide.runPython("import sys; sys.version.split()[0]") });
