// The schedule: workcells, the run queue and a Gantt chart of every workcell's machines over
// time. All scheduling happens in the worker (browser_runtime.scheduler), or on the bridge
// server for the lab's shared schedule (client/bridge-client.js); this draws it.
import { sharedSchedule } from "../client/bridge-client.js";
import { $, h } from "./dom.js";
import { demoProtocols, demoSource } from "./demo-protocols.js";
import { clock, drawGantt, time } from "./gantt.js";

// A reason as the scheduler records it ({request, kind, subject, message}), or plain text, as text.
export function reasonText(reason) {
  if (reason === null || reason === undefined) return "";
  if (typeof reason === "string") return reason;
  if (Array.isArray(reason)) return reason.map(reasonText).join("; ");
  if (typeof reason.message === "string") return reason.message;
  return JSON.stringify(reason);
}

// How good the schedule is: its makespan, the lower bound no schedule can beat, and the gap.
export function qualityText(quality) {
  if (!quality || !quality.makespan_s) return "";
  const minutes = (s) => `${(s / 60).toFixed(1)} min`;
  return `makespan ${minutes(quality.makespan_s)} · lower bound ${minutes(quality.lower_bound_s)} · ` +
    (quality.proven_optimal ? "proven optimal" : `gap ${(quality.gap * 100).toFixed(1)}%`) + ` (${quality.method})`;
}

// `bridge`: the page's bridge server client; with its token the panel can show the shared schedule.
// `openProtocol()`: the protocol open in the workbench ({source, filename, function, parameters}), if any.
export function initScheduleView(labwright, bridge, root = document.getElementById("schedule"), { openProtocol = () => null } = {}) {
  if (!root) return null;
  root.hidden = false;
  const message = $("#schedule-message", root);
  let current = null;
  let schedule = labwright.schedule; // this page's own, or the bridge server's shared one
  const shared = $("#schedule-shared", root);
  shared.disabled = !bridge?.connected;
  shared.title = bridge?.connected ? "one schedule for every page on this lab PC" : "open the page from `labwright serve`'s URL (with #token=) to share";
  let stopFollowing = null;
  shared.addEventListener("change", async () => {
    schedule = shared.checked ? sharedSchedule(bridge, labwright) : labwright.schedule;
    root.dataset.source = shared.checked ? "server" : "page";
    stopFollowing?.();
    stopFollowing = null;
    delete root.dataset.live;
    if (shared.checked) {
      // The shared schedule changes under us (other pages, other lab PCs): the server says when.
      stopFollowing = bridge.followChanges(["schedule"], () => refresh(), (state) => {
        root.dataset.live = state;
        if (state === "lost") say("lost the bridge server: showing the schedule as last seen, reconnecting...", true);
        else if (message.textContent.startsWith("lost the bridge server")) say("");
      });
    }
    say("");
    await refresh();
  });

  const say = (text, bad = false) => {
    message.textContent = text;
    message.className = bad ? "bad" : "";
  };
  const guarded = (fn) => async (...args) => {
    try {
      say("");
      await fn(...args);
    } catch (err) {
      say(err.message, true);
    }
    await refresh();
  };

  async function refresh() {
    try {
      current = await schedule();
    } catch (err) {
      say(err.message, true);
      return;
    }
    root.dataset.revision = current.revision;
    showMachines(await schedule.machines());
    drawGantt($("#gantt", root), current, { zoom });
    $("#schedule-quality", root).textContent = qualityText(current.quality);
    showQueue(current);
  }

  let zoom = 1;
  let freeMachines = [];
  function showMachines(machines) {
    const free = machines.filter((m) => !m.workcell);
    freeMachines = free;
    // A fresh start has machines and no workcell: one click makes one of them all.
    $("#workcell-default", root).hidden = current.workcells.length > 0 || !free.length;
    // Redrawn on every refresh (a shared schedule follows the lab's changes): keep what the user ticked.
    const ticked = new Set([...root.querySelectorAll("#workcell-machines input:checked")].map((box) => Number(box.value)));
    $("#workcell-machines", root).replaceChildren(...free.map((m) =>
      h("label", {}, h("input", { type: "checkbox", value: m.id, checked: ticked.has(m.id) }), ` ${m.name} (${m.kind})`)));
    $("#workcell-list", root).replaceChildren(...current.workcells.map((w) =>
      h("li", { "data-workcell": w.name }, h("strong", {}, w.name), `: ${w.machines.map((m) => m.name).join(", ")} `,
        h("button", { type: "button", onclick: guarded(() => schedule.removeWorkcell(w.name, current.revision)) }, "remove"))));
  }

  function showQueue(snapshot) {
    const byId = new Map(snapshot.runs.map((run) => [run.id, run]));
    const ordered = [...snapshot.queue.map((id) => byId.get(id)).filter(Boolean),
      ...snapshot.runs.filter((run) => !snapshot.queue.includes(run.id))];
    const rows = ordered.map((run) =>
      h("tr", { "data-run": run.id, "data-status": run.status },
        h("td", {}, run.protocol), h("td", {}, String(run.priority)), h("td", { class: `status ${run.status}` }, run.status),
        h("td", {}, run.workcell ?? ""), h("td", {}, run.starts_at ? clock(time(run.starts_at)) : ""),
        h("td", {}, run.ends_at ? clock(time(run.ends_at)) : ""), h("td", { class: "reasons" }, reasonText(run.reason)),
        h("td", {},
          run.status === "scheduled" ? h("button", { type: "button", class: "execute", onclick: guarded(() => schedule.execute(run.id)) }, "run now") : null,
          ["scheduled", "running"].includes(run.status) ? h("button", { type: "button", onclick: guarded(() => schedule.cancel(run.id, "cancelled from the page")) }, "cancel") : null)));
    $("#schedule-queue", root).replaceChildren(
      h("tr", {}, ...["protocol", "priority", "status", "workcell", "starts", "ends", "why", ""].map((t) => h("th", {}, t))), ...rows);
    $("#schedule-infeasible", root).replaceChildren(...snapshot.infeasible.map((item) =>
      h("li", {}, `${byId.get(item?.request)?.protocol ?? item?.request ?? ""}: ${reasonText(item)}`)));
  }

  $("#workcell-add", root).addEventListener("click", guarded(async () => {
    const ids = [...root.querySelectorAll("#workcell-machines input:checked")].map((box) => Number(box.value));
    const name = $("#workcell-name", root).value.trim();
    if (!name) throw new Error("name the workcell");
    if (!ids.length) throw new Error("choose the workcell's machines");
    await schedule.addWorkcell(name, ids, null, current.revision);
    $("#workcell-name", root).value = "";
  }));
  $("#workcell-default", root).addEventListener("click", guarded(async () => {
    const taken = new Set(current.workcells.map((w) => w.name));
    let name = "Workcell";
    for (let i = 2; taken.has(name); i++) name = `Workcell ${i}`;
    await schedule.addWorkcell(name, freeMachines.map((m) => m.id), null, current.revision);
  }));
  $("#schedule-open", root).addEventListener("click", guarded(async () => {
    const open = openProtocol();
    if (!open) throw new Error("open a protocol in the workbench first");
    const priority = Number($("#schedule-priority", root).value || 0);
    const result = await schedule.submit([{ ...open, priority }], current.revision);
    say(result.placed.length ? `${open.filename} queued` : `${open.filename} cannot be placed: ${reasonText(result.infeasible)}`, !result.placed.length);
  }));
  for (const [id, factor] of [["#gantt-zoom-in", 2], ["#gantt-zoom-out", 0.5]]) {
    $(id, root).addEventListener("click", () => {
      zoom = Math.min(16, Math.max(1, zoom * factor));
      if (current) drawGantt($("#gantt", root), current, { zoom });
    });
  }
  $("#schedule-demos", root).addEventListener("click", guarded(async () => {
    // Each demo as the index says to queue it (its priority, the parameters it runs with).
    const requests = await Promise.all((await demoProtocols()).map(async (entry) => ({
      source: await demoSource(entry), filename: entry.file, function: entry.function, ...entry.schedule,
    })));
    const result = await schedule.submit(requests, current.revision);
    say(`${result.placed.length} placed, ${result.infeasible.length} infeasible`);
  }));
  for (const method of ["heuristic", "optimiser"]) {
    $(`#schedule-${method}`, root).addEventListener("click", guarded(async () => {
      const result = await schedule.replan(method, current.revision);
      say(`${method}: makespan ${(result.makespan_s / 60).toFixed(1)} min, computed in ${(result.compute_s * 1000).toFixed(0)} ms`);
    }));
  }
  refresh();
  return { refresh, get source() { return schedule.shared ? "server" : "page"; } };
}
