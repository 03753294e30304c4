// The page: boot progress, versions, and window.labwright for scripts and tests.
import { STAGES } from "./messages.js";
import { createLabwright } from "./labwright.js";
import { initPortManager } from "./port-manager.js";
import { initCatalogView } from "./catalog-view.js";
import { initWorkbench } from "./workbench.js";
import { initScheduleView } from "./schedule-view.js";
import { initDevices } from "./devices.js";
import { initDevicePicker } from "./device-picker.js";

window.labwrightPorts = initPortManager(); // before the worker starts: serves its device IO
const labwright = createLabwright();
window.labwright = labwright;
window.labwrightDevices = initDevices();
window.labwrightPicker = initDevicePicker(labwright, window.labwrightPorts);

const stageList = document.getElementById("stages");
const bar = document.getElementById("progress-bar");
const status = document.getElementById("status");
const errorBox = document.getElementById("boot-error");
const stageIndex = Object.fromEntries(STAGES.map((stage, index) => [stage.id, index]));

for (const stage of STAGES) {
  const item = document.createElement("li");
  item.dataset.stage = stage.id;
  item.textContent = stage.label;
  stageList.append(item);
}

function showStage(stageId, fraction) {
  const index = stageIndex[stageId] ?? 0;
  for (const item of stageList.children) {
    const itemIndex = stageIndex[item.dataset.stage];
    item.className = itemIndex < index ? "done" : itemIndex === index ? "active" : "";
  }
  const overall = (index + Math.min(Math.max(fraction ?? 0, 0), 1)) / (STAGES.length - 1);
  bar.value = Math.min(overall, 1);
}

labwright.onProgress((event) => {
  if (event.error) return;
  showStage(event.stage, event.fraction);
  status.textContent = `${STAGES[stageIndex[event.stage]]?.label ?? event.stage}: ${event.detail ?? ""}`;
});

labwright.ready.then(
  (versions) => {
    labwright.readyAt = performance.now(); // ms since navigation start, for the boot benchmark
    showStage("ready", 1);
    for (const item of stageList.children) item.className = "done";
    const source = labwright.bootInfo?.snapshot;
    status.textContent = source ? `Ready (restored from the ${source} snapshot)` : "Ready";
    document.body.dataset.state = "ready";
    const table = document.getElementById("versions");
    for (const [name, version] of Object.entries(versions)) {
      const row = table.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = version;
    }
    document.getElementById("versions-panel").hidden = false;
    initCatalogView(labwright);
    labwright.catalog.loaded.then(() => {
      initWorkbench(labwright, window.labwrightPicker);
      window.labwrightSchedule = initScheduleView(labwright);
    });
  },
  (error) => {
    document.body.dataset.state = "error";
    status.textContent = "Start-up failed";
    errorBox.hidden = false;
    errorBox.textContent = `${error.stage ? `[${error.stage}] ` : ""}${error.message}`;
  },
);
