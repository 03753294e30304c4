// The workbench: pick or upload a protocol, see what it needs, plan it (machines, deck,
// consumables), run it in simulation on a live deck or on the devices of "Connect a device",
// reopen past runs, poke at the REPL. All lab logic runs in the worker; these modules only
// present it. One module per panel (workbench/*.js), wired here: each gets the workbench `wb`
// (the API, the shared state, the deck view) and reaches the others through it.
import { DeckView } from "./deck-view.js";
import { $ } from "./dom.js";
import { initAnalysis } from "./workbench/analysis.js";
import { initDataPanel } from "./workbench/data.js";
import { initHistory } from "./workbench/history.js";
import { initLayoutEditor } from "./workbench/layout-editor.js";
import { initLibrary } from "./workbench/library.js";
import { initPlanPanel } from "./workbench/plan.js";
import { initRepl } from "./workbench/repl.js";
import { initRunPanel } from "./workbench/run.js";

export function initWorkbench(labwright, picker = null) {
  const root = $("#workbench");
  root.hidden = false;
  const wb = {
    labwright,
    picker,
    root,
    // devices: machine parameter -> the picker's device that drives it in a hardware run
    state: { source: "", filename: "protocol.py", analysis: null, protocol: null, plan: null, runId: null, devices: {}, backends: null },
    deckView: new DeckView($("#deck-view")),
  };
  wb.analysis = initAnalysis(wb); // the source, its analysis, the parameter form
  wb.plan = initPlanPanel(wb); // the plan table, devices per machine, save
  wb.layout = initLayoutEditor(wb); // placements by number or by dragging on the deck
  wb.run = initRunPanel(wb); // run, cancel, the live deck and the log
  wb.history = initHistory(wb); // past runs: reopen, export
  wb.library = initLibrary(wb); // demo, uploaded and pasted protocols; saved plans
  initDataPanel(labwright);
  initRepl(labwright);
  wb.history.show();
  wb.library.showSavedPlans();
  return wb.state;
}
