// Starts the Python worker while the page's HTML is still being read, before the page's modules
// load: main.js and what it imports took ~0.3 s of a reload, and the worker began only after.
// What the worker posts (or a failure to start it) until window.labwright takes it over
// (client/labwright.js) is kept for it.
"use strict";
(() => {
  const url = new URL("worker.js", document.currentScript.src).href;
  const worker = new Worker(url, { type: "module", name: "labwright-python" });
  const early = [];
  worker.onmessage = worker.onerror = (event) => early.push(event); // messages and errors, in order
  self.labwrightEarlyWorker = { url, worker, early };
})();
