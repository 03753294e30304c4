// The workbench's run history: past runs with their outcome; reopen one (its log and final deck)
// or export it as JSON; a run on devices also downloads its device IO capture (PLR's format) and
// replays it (no device touched).
import { $, download, h } from "../dom.js";

export function initHistory(wb) {
  const { labwright, deckView } = wb;

  async function show() {
    const runs = await labwright.runs.history(30);
    $("#history-table").replaceChildren(h("tr", {}, ...["started", "protocol", "on", "status", "ms", ""].map((t) => h("th", {}, t))),
      ...runs.map((run) => h("tr", { "data-run": run.run_id },
        h("td", {}, run.started_at.replace("T", " ").slice(0, 19)), h("td", {}, run.protocol),
        h("td", {}, run.simulate ? "simulation" : "devices"),
        h("td", { class: `status ${run.status}` }, run.status), h("td", {}, run.duration_ms ? Math.round(run.duration_ms) : ""),
        h("td", {}, h("button", { type: "button", onclick: () => reopen(run.run_id) }, "open"), " ",
          h("button", { type: "button", onclick: () => exportRun(run.run_id) }, "export"),
          run.simulate ? null : [" ", h("button", { type: "button", class: "capture", onclick: () => downloadCapture(run.run_id) }, "capture"),
            " ", h("button", { type: "button", class: "replay", onclick: () => replayCapture(run.run_id) }, "replay")]))));
  }

  async function downloadCapture(runId) {
    const capture = await labwright.runs.capture(runId);
    download(`capture-${runId}.json`, new Blob([JSON.stringify(capture, null, 2)], { type: "application/json" }));
  }

  async function replayCapture(runId) {
    $("#run-status").textContent = `replaying run ${runId}…`;
    const result = await labwright.runs.replay(runId).catch((err) => ({ status: "failed", error: { message: err.message } }));
    $("#run-status").textContent = result.status === "completed"
      ? `replay of run ${runId}: every command as captured`
      : `replay of run ${runId} failed: ${result.error?.message ?? result.status}`;
    await show();
  }

  // Reopen a past run: its deck, log, timeline (at its end) and results.
  // Its events come in slices (a long run's are megabytes): the timeline draws PLR's deck at the end.
  async function reopen(runId) {
    const record = await labwright.runs.get(runId, { events: false });
    $("#run-status").textContent = `${record.status} (run ${runId})`;
    if (record.plan?.deck) {
      $("#deck-panel").hidden = false;
      deckView.render(record.plan.deck, record.plan.deck_state ?? {}, record.plan.untracked ?? []);
      await wb.plrDeck.show(record.plan.deck, record.plan.deck_state ?? {});
    }
    $("#run-column").scrollIntoView({ block: "nearest" });
    const steps = await wb.run.replay(record);
    if (steps && record.plan?.deck) {
      for (const [resource, state] of Object.entries(steps.statesAt(steps.length))) deckView.update(resource, state);
    }
  }

  async function exportRun(runId) {
    const record = await labwright.runs.get(runId);
    download(`run-${runId}.json`, new Blob([JSON.stringify(record, null, 2)], { type: "application/json" }));
  }

  return { show };
}
