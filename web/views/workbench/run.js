// The workbench's run: run exactly the plan shown (in simulation, or on the devices chosen for
// its machines), cancel it, and follow it on the live deck, the progress bar and the log.
import { $, h } from "../dom.js";

export function initRunPanel(wb) {
  const { labwright, state, root, deckView } = wb;
  const log = $("#run-log");
  const progress = $("#run-progress");
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
    if (event.type === "state") {
      deckView.update(event.resource, event.state);
      wb.plrDeck.update(event.resource, event.state);
    }
    else if (event.type === "command") appendLog(`▶ ${event.machine}.${event.command}`, "command");
    else if (event.type === "log") appendLog(event.message, "log");
    else if (event.type === "progress") {
      $("#run-count").textContent = `${event.commands} commands`;
      if (event.fraction !== null) progress.value = event.fraction;
    } else if (event.type === "error") appendLog(event.traceback, "error");
    else if (event.type === "status") $("#run-status").textContent = event.status;
  }

  function appendLog(text, kind) {
    log.append(h("div", { class: `entry ${kind}` }, text));
    if (log.childElementCount > 2000) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  // A stored run's log, as it was written (history's "open").
  function replay(events) {
    state.runId = null;
    log.replaceChildren();
    for (const event of events) {
      if (event.type === "command") appendLog(`▶ ${event.machine}.${event.command}`, "command");
      else if (event.type === "log") appendLog(event.message, "log");
      else if (event.type === "error") appendLog(event.traceback, "error");
    }
  }

  $("#run-button").addEventListener("click", async () => {
    const message = $("#plan-message");
    if (!state.plan || state.plan.stale) {
      message.textContent = "the plan is out of date: plan again, then run";
      message.className = "bad";
      return;
    }
    log.replaceChildren();
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
      if (started.plan.deck) {
        deckView.render(started.plan.deck, started.plan.deck_state ?? {}, started.plan.untracked ?? []);
        wb.plrDeck.show(started.plan.deck, started.plan.deck_state ?? {});
      }
      for (const event of early.get(started.runId) ?? []) showEvent(event);
      early.delete(started.runId);
      $("#cancel-button").disabled = false;
      const result = await labwright.wait(started.runId);
      progress.value = 1;
      $("#run-status").textContent = result.status;
      root.dataset.runStatus = result.status;
      if (result.error) {
        const where = result.error.line ? ` at line ${result.error.line}` : "";
        const call = result.error.command ? ` (in ${result.error.command.machine}.${result.error.command.command})` : "";
        appendLog(`${result.error.type}: ${result.error.message}${where}${call}`, "error");
        // The protocol's own line that failed, marked in the editor.
        if (result.error.line) wb.editor.markLine(result.error.line);
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

  return { replay };
}
