// The workbench: the user's protocol files, the editor, the plan with its deck, the run with its
// log and results. All lab logic runs in the worker; these modules only present it. One module
// per panel (workbench/*.js), wired here: each gets the workbench `wb` (the API, the shared
// state, the deck views) and reaches the others through it.
import { DeckView } from "./deck-view.js";
import { $ } from "./dom.js";
import { initSplitters, initTabs } from "./layout.js";
import { PlrDeck } from "./plr-deck.js";
import { initAnalysis } from "./workbench/analysis.js";
import { initDataPanel } from "./workbench/data.js";
import { initEditorPanel } from "./workbench/editor-panel.js";
import { initFiles } from "./workbench/files.js";
import { initHistory } from "./workbench/history.js";
import { initLayoutEditor } from "./workbench/layout-editor.js";
import { initPlanPanel } from "./workbench/plan.js";
import { followConsoleDeck, initRepl } from "./workbench/repl.js";
import { initResults } from "./workbench/results.js";
import { initRunPanel } from "./workbench/run.js";
import { initSetupSheet } from "./workbench/setup-sheet.js";
import { initTimeline } from "./workbench/timeline.js";

export async function initWorkbench(labwright, picker = null) {
  const root = $("#workbench");
  const wb = {
    labwright,
    picker,
    root,
    // devices: machine parameter -> the picker's device that drives it in a hardware run
    state: { fileId: null, source: "", filename: "protocol.py", analysis: null, protocol: null, plan: null, runId: null,
      devices: {}, backends: null },
    deckView: new DeckView($("#deck-view")), // the layout tab: placements dragged to another rail or slot
    plrDeck: new PlrDeck($("#deck-plr")), // the deck as PLR's own visualizer draws it
  };
  initSplitters(root);
  initTabs([$("#deck-tab-plr"), $("#deck-tab-layout")], (tab) => $(`#${tab.getAttribute("aria-controls")}`));
  $("#deck-tab-layout").addEventListener("click", () => wb.deckView.flush()); // drawn when looked at
  wb.analysis = initAnalysis(wb); // the protocol's analysis and the parameter form
  wb.editor = initEditorPanel(wb); // the open file: editor, autosave, problems, versions
  wb.plan = initPlanPanel(wb); // the plan table, devices per machine, save
  wb.layout = initLayoutEditor(wb); // placements by number or by dragging on the deck
  wb.run = initRunPanel(wb); // run, cancel, the live deck and the log
  wb.timeline = initTimeline(wb); // step through a run: the deck, the log entry and the line at each command
  wb.results = initResults(wb); // the return value, data views and final volumes
  wb.setupSheet = initSetupSheet(wb); // the plan's deck-setup sheet to print, the deck as SVG / PNG
  wb.history = initHistory(wb); // past runs: reopen, export
  wb.files = initFiles(wb); // the user's files, demo copies, saved plans
  initDataPanel(labwright);
  initRepl(labwright);
  followConsoleDeck(wb); // what console inputs change on the deck in scope
  await Promise.all([wb.history.show(), wb.files.showSavedPlans(), wb.files.restore()]);
  root.dataset.ready = "true";
  // PLR's visualizer frame loads its scripts (Konva, JSZip, html2canvas) when the page is idle, not
  // when the first plan is drawn: the Plan button's answer then only draws.
  (window.requestIdleCallback ?? ((fn) => setTimeout(fn, 200)))(() => wb.plrDeck.open(), { timeout: 3000 });
  root.removeAttribute("aria-busy");
  return wb;
}
