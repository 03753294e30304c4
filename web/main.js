// The page: boot progress, versions, and window.labwright for scripts and tests. Everything is
// wired here, explicitly: client/ talks to the worker and the bridge server, io/ drives the devices,
// views/ draws the panels.
import { BridgeClient } from "./client/bridge-client.js";
import { createLabwright } from "./client/labwright.js";
import { STAGES } from "./client/messages.js";
import { PortManager } from "./io/port-manager.js";
import { initCatalogView } from "./views/catalog-view.js";
import { initDevicePicker } from "./views/device-picker.js";
import { initDevices } from "./views/devices.js";
import { initRunAlerts } from "./views/run-alerts.js";
import { initInventoryView } from "./views/inventory-view.js";
import { initScheduleView } from "./views/schedule-view.js";
import { initTabs } from "./views/layout.js";
import { initWorkbench } from "./views/workbench.js";

// The bridge server as this page was opened from it (`#token=`), or a page without one.
const bridge = new BridgeClient();
// The port manager serves the worker's device IO and grants devices (its broker).
const ports = new PortManager({ bridge });
const labwright = createLabwright({ io: ports, bridge });
window.labwright = labwright;
window.labwrightPorts = ports;
window.labwrightDevices = initDevices(bridge);
window.labwrightPicker = initDevicePicker(labwright, ports, bridge);
window.labwrightAlerts = initRunAlerts(labwright, bridge);

// The dock under the workbench: one of the REPL, schedule, catalog, devices and data at a time.
// The one chosen is remembered, so a reload keeps it.
{
  const tabs = [...document.querySelectorAll(".dock-tabs [data-dock]")];
  const selectDock = initTabs(tabs, (tab) => document.getElementById(tab.dataset.dock), { shownClass: "dock-active" });
  const saved = tabs.find((tab) => tab.dataset.dock === localStorage.getItem("labwright.dock"));
  if (saved) selectDock(saved);
  for (const tab of tabs) tab.addEventListener("click", () => localStorage.setItem("labwright.dock", tab.dataset.dock));
}

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

// The page's data is open in one tab at a time: here, or elsewhere with a way to move it here.
const elsewhere = document.getElementById("data-elsewhere");
const elsewhereText = document.getElementById("data-elsewhere-text");
const takeOverButton = document.getElementById("data-take-over");
let dataMovedAway = false;
labwright.data.onChange(({ state, detail }) => {
  if (state === "released") dataMovedAway = true;
  document.body.dataset.data = state;
  elsewhere.hidden = !(state === "elsewhere" || state === "released" || state === "error");
  if (state === "released") elsewhereText.textContent = `${detail ?? "Labwright's data was moved to another tab"}. Runs, plans and the inventory are there now.`;
  else if (state === "error") elsewhereText.textContent = `Labwright's data could not be opened: ${detail}`;
  else if (state === "elsewhere") elsewhereText.textContent = "Labwright is open in another tab of this browser: its data (runs, plans, inventory) can be open in one tab at a time.";
  takeOverButton.disabled = state === "opening";
  // Panels drawn from data this tab no longer has would show it stale: hide them until it is back.
  for (const panel of document.querySelectorAll("main > section:not(#boot)")) {
    if (state === "released") panel.hidden = true;
  }
});
takeOverButton.addEventListener("click", async () => {
  takeOverButton.disabled = true;
  try {
    await labwright.data.takeOver();
    if (dataMovedAway) location.reload(); // the workbench was drawn from data another tab changed since
  } catch (err) {
    elsewhereText.textContent = `Could not take the data over: ${err.message}`;
    takeOverButton.disabled = false;
  }
});

labwright.ready.then(
  (versions) => {
    labwright.readyAt = performance.now(); // ms since navigation start, for the boot benchmark
    showStage("ready", 1);
    for (const item of stageList.children) item.className = "done";
    const source = labwright.bootInfo?.snapshot;
    status.textContent = "Opening the workbench…";
    document.body.dataset.state = "ready";
    const table = document.getElementById("versions");
    for (const [name, version] of Object.entries(versions)) {
      const row = table.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = version;
    }
    document.getElementById("versions-panel").hidden = false;
    initCatalogView(labwright);
    // The catalog loads in the background (what needs it waits for it in the worker): the
    // workbench does not wait for it.
    labwright.dataOpen.then(async () => {
      // "Queue the open protocol": the workbench's file with the values on its form.
      const openProtocol = () => {
        const wb = window.labwrightWorkbench;
        if (!wb?.state.protocol) return null;
        return { source: wb.state.source, filename: wb.state.filename, function: wb.state.protocol.function,
          parameters: wb.analysis.values() };
      };
      window.labwrightSchedule = initScheduleView(labwright, bridge, undefined, { openProtocol });
      window.labwrightWorkbench = await initWorkbench(labwright, window.labwrightPicker);
      const inventory = initInventoryView(labwright);
      inventory.refresh(); // not awaited: the dock is hidden at first, and "ready" must not wait for it
      // Shown fresh whenever its tab is opened (runs and plans change what is held).
      document.querySelector(".dock-tabs [data-dock='inventory']").addEventListener("click", () => inventory.refresh());
      // "Ready" only once the workbench can be used: files and history are there.
      status.textContent = source ? `Ready (restored from the ${source} snapshot)` : "Ready";
      document.body.dataset.workbench = "ready";
      labwright.usableAt = performance.now(); // ms since navigation start, for the boot benchmark
    }).catch((err) => {
      status.textContent = `The workbench could not open: ${err.message}`;
    });
  },
  (error) => {
    document.body.dataset.state = "error";
    status.textContent = "Start-up failed";
    errorBox.hidden = false;
    errorBox.textContent = `${error.stage ? `[${error.stage}] ` : ""}${error.message}`;
  },
);
