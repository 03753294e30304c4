// The workbench's run: run exactly the plan shown (in simulation, or on the devices chosen for
// its machines), cancel it, and follow it on the live deck, the progress bar, the log and the
// timeline; its results when it ends. The log is drawn once per animation frame, however many
// events a batch brings.
import { $, h } from "../dom.js";
import { formatSeconds } from "../format.js";

const LOG_LIMIT = 5000;

export function initRunPanel(wb) {
  const { labwright, state, root, deckView } = wb;
  const log = $("#run-log");
  const progress = $("#run-progress");
  let queued = []; // log entries not drawn yet
  let drawing = false;
  let commands = 0; // command entries in the log, numbered as timeline steps
  // A fast run can post events before `start` has answered: keep them until we know its id.
  const early = new Map();
  labwright.onRunEvent(({ runId, event }) => {
    if (runId !== state.runId) {
      if (!early.has(runId)) early.set(runId, []);
      early.get(runId).push(event);
      if (early.size > 20) early.delete(early.keys().next().value);
      return;
    }
    showEvent(event);
  });

  function showEvent(event) {
    wb.timeline.push(event);
    if (event.type === "state") {
      deckView.update(event.resource, event.state);
      if (wb.timeline.step === wb.timeline.length) wb.plrDeck.update(event.resource, event.state);
    } else if (event.type === "progress") {
      $("#run-count").textContent = `${event.commands} commands`;
      if (event.fraction !== null) progress.value = event.fraction;
    } else if (event.type === "status") $("#run-status").textContent = event.status;
    else logEvent(event);
  }

  function logEvent(event) {
    if (event.type === "command") {
      commands += 1;
      appendLog(`▶ ${event.machine}.${event.command}`, "command", commands);
    } else if (event.type === "log") appendLog(event.message, "log");
    else if (event.type === "error") appendLog(event.traceback, "error");
  }

  function appendLog(text, kind, step = null) {
    queued.push(h("div", { class: `entry ${kind}`, "data-step": step }, text));
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(...queued.splice(0));
      while (log.childElementCount > LOG_LIMIT) log.firstElementChild.remove();
      if (atEnd) log.scrollTop = log.scrollHeight;
    });
  }

  function clearLog() {
    queued = [];
    commands = 0;
    log.replaceChildren();
  }

  // The timeline's step: its command highlighted in the log.
  function highlight(step) {
    log.querySelector(".entry.current")?.classList.remove("current");
    const entry = step ? log.querySelector(`.entry[data-step="${step}"]`) : null;
    if (entry) {
      entry.classList.add("current");
      entry.scrollIntoView({ block: "nearest" });
    }
  }

  // A stored run (history's "open", `record` without its events): its log and timeline, its
  // events fetched in slices (each drawn in the log as it comes), the deck at its end, its results.
  async function replay(record) {
    state.runId = null;
    clearLog();
    wb.results.clear();
    wb.timeline.load(record.events ?? [], { deckDocument: record.plan?.deck ?? null, base: record.plan?.deck_state ?? {},
      markEditor: record.source === state.source });
    const steps = await wb.timeline.fetchRun(record.run_id, record.event_count ?? 0, {
      onEvents: (events) => { for (const event of events) logEvent(event); } });
    if (steps) finished(record, record.plan);
    return steps;
  }

  function finished(result, plan) {
    wb.results.show({ result, plan, states: wb.timeline.statesAt(wb.timeline.length) });
    const real = result.duration_ms;
    const shown = state.plan && plan && state.plan.plan_id === plan.plan_id ? state.plan : plan;
    const estimate = shown?.estimate?.status === "completed" ? shown.estimate.duration_s : null;
    const simulated = result.simulate ?? plan?.simulate ?? true;
    $("#run-duration").textContent = real === undefined || real === null ? ""
      : `took ${formatSeconds(real / 1000)}${estimate === null ? ""
        : simulated ? ` in simulation; on the machines about ${formatSeconds(estimate)} (estimated)` : ` (estimated ${formatSeconds(estimate)})`}`;
  }

  $("#run-button").addEventListener("click", async () => {
    const message = $("#plan-message");
    if (!state.plan || state.plan.stale) {
      message.textContent = "the plan is out of date: plan again, then run";
      message.className = "bad";
      return;
    }
    clearLog();
    wb.results.clear();
    $("#run-duration").textContent = "";
    progress.removeAttribute("value");
    message.textContent = "";
    $("#run-status").textContent = "";
    delete root.dataset.runStatus;
    wb.editor.markLine(null);
    await wb.editor.flush();
    try {
      // Exactly the plan shown: its id, with the values on the form now (a value changed since the
      // plan was made is refused by the worker as stale, whatever this page missed). A run on
      // devices asks the device broker for them: the console lends them and gets them back.
      const started = await labwright.start(state.source, { ...wb.plan.options(), deck: state.planOptions.deck, planId: state.plan.plan_id });
      state.runId = started.runId;
      root.dataset.runId = started.runId;
      wb.timeline.load([], { deckDocument: started.plan.deck ?? null, base: started.plan.deck_state ?? {} });
      if (started.plan.deck) {
        // The plan shown is drawn already (unless a run changed the drawing since): not again.
        deckView.render(started.plan.deck, started.plan.deck_state ?? {}, started.plan.untracked ?? [], started.plan.plan_id);
        wb.plrDeck.show(started.plan.deck, started.plan.deck_state ?? {}, started.plan.plan_id);
      }
      for (const event of early.get(started.runId) ?? []) showEvent(event);
      early.delete(started.runId);
      $("#cancel-button").disabled = false;
      // The result without the run's events (megabytes for a long run): the timeline fetches
      // them in slices, every state change in place (the live batches merge them per resource),
      // and steps through those once they are in; the results need only the end's states.
      const result = await labwright.wait(started.runId, { events: false });
      progress.value = 1;
      wb.timeline.fetchRun(started.runId, result.event_count, { live: true })
        .catch((err) => { message.textContent = `the run's timeline: ${err.message}`; message.className = "bad"; });
      finished(result, started.plan);
      $("#run-status").textContent = result.status;
      root.dataset.runStatus = result.status;
      if (result.error) {
        const where = result.error.line ? ` at line ${result.error.line}` : "";
        const call = result.error.command ? ` (in ${result.error.command.machine}.${result.error.command.command})` : "";
        appendLog(`${result.error.type}: ${result.error.message}${where}${call}`, "error");
        // The protocol's own line that failed, marked in the editor.
        if (result.error.line) wb.editor.markLine(result.error.line, "error");
      }
    } catch (err) {
      message.textContent = err.message;
      message.className = "bad";
      if (err.pythonType === "StalePlan") wb.plan.markStale(err.pythonMessage);
    } finally {
      $("#cancel-button").disabled = true;
      await wb.history.show();
    }
  });
  $("#cancel-button").addEventListener("click", () => state.runId && labwright.cancel(state.runId));

  // Another protocol is in front of the user: nothing of the last run (its log, status, timeline,
  // results) stays on show as if it were this one's; it is in the run history. A run still going
  // stays on show (its Cancel with it).
  function reset() {
    if (!$("#cancel-button").disabled) return;
    clearLog();
    wb.results.clear();
    wb.timeline.load([]);
    $("#run-duration").textContent = "";
    $("#run-status").textContent = "";
    $("#run-count").textContent = "";
    progress.removeAttribute("value");
    delete root.dataset.runStatus;
    delete root.dataset.runId;
    state.runId = null;
    wb.editor.markLine(null);
  }

  return { replay, highlight, reset };
}
