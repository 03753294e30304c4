// The schedule: workcells, the run queue and a Gantt chart of every workcell's machines over
// time. All scheduling happens in the worker (browser_runtime.scheduler); this draws it.
import { $, h } from "./dom.js";
import { tokenFromFragment } from "./page-token.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

const time = (iso) => new Date(iso).getTime();
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

// rows: one per machine of every workcell; bars: each run on each machine it holds.
export function ganttModel(schedule) {
  const rows = [];
  for (const workcell of schedule.workcells) {
    for (const machine of workcell.machines) rows.push({ workcell: workcell.name, machine });
  }
  const runs = schedule.runs.filter((run) => run.starts_at && run.ends_at && run.workcell);
  const bars = [];
  for (const run of runs) {
    for (const [parameter, assetId] of Object.entries(run.machines ?? {})) {
      const row = rows.findIndex((r) => r.workcell === run.workcell && r.machine.id === assetId);
      if (row >= 0) bars.push({ row, run, parameter, start: time(run.starts_at), end: time(run.ends_at) });
    }
  }
  const starts = bars.map((b) => b.start);
  const ends = bars.map((b) => b.end);
  const from = starts.length ? Math.min(...starts) : Date.now();
  const to = ends.length ? Math.max(...ends) : from + 3600_000;
  return { rows, bars, from, to: Math.max(to, from + 60_000) };
}

export function drawGantt(container, schedule) {
  const { rows, bars, from, to } = ganttModel(schedule);
  const label = 190;
  const width = 900;
  const rowHeight = 24;
  const top = 22;
  const height = top + Math.max(1, rows.length) * rowHeight + 4;
  const x = (ms) => label + ((ms - from) / (to - from)) * (width - label - 10);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "gantt", role: "img" });
  svg.append(s("title", {}, "Schedule: workcells and machines over time"));
  // time axis: about six ticks
  const step = Math.max(60_000, Math.ceil((to - from) / 6 / 60_000) * 60_000);
  for (let t = from; t <= to; t += step) {
    svg.append(s("line", { x1: x(t), x2: x(t), y1: top - 4, y2: height, class: "tick" }));
    svg.append(s("text", { x: x(t) + 2, y: 12, class: "tick-label" }, clock(t)));
  }
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    svg.append(s("rect", { x: 0, y, width, height: rowHeight, class: index % 2 ? "row odd" : "row" }));
    svg.append(s("text", { x: 4, y: y + 16, class: "row-label" }, `${row.workcell} · ${row.machine.name}`));
  });
  for (const bar of bars) {
    const y = top + bar.row * rowHeight + 3;
    const rect = s("rect", {
      x: x(bar.start), y, width: Math.max(2, x(bar.end) - x(bar.start)), height: rowHeight - 6,
      class: `bar ${bar.run.status}`, "data-run": bar.run.id,
    });
    rect.append(s("title", {}, `${bar.run.protocol} (${bar.run.status}) ${clock(bar.start)}–${clock(bar.end)} · ${bar.parameter}`));
    svg.append(rect);
    if (x(bar.end) - x(bar.start) > 60) {
      svg.append(s("text", { x: x(bar.start) + 3, y: y + 13, class: "bar-label" }, bar.run.protocol));
    }
  }
  container.replaceChildren(svg);
  return { rows: rows.length, bars: bars.length };
}

// The bridge server's one schedule for every page on the lab PC (/api/v1/schedule), with the
// surface of labwright.schedule. Writes send the revision they were based on (If-Match); a
// run executes here, in this page's worker, and reports start, heartbeats and its end.
export function serverSchedule(labwright, token, base = "/api/v1/schedule") {
  const client = `page-${crypto.randomUUID()}`;
  async function call(method, path = "", body = undefined, revision = null) {
    const headers = { Authorization: `Bearer ${token}`, "X-Labwright-Client": client };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (revision !== null && revision !== undefined) headers["If-Match"] = String(revision);
    const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const document = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(response.status === 409
        ? `ScheduleConflict: another page changed the schedule first (${document.detail ?? "stale revision"}); it has been reloaded, try again`
        : `${document.title ?? response.status}: ${document.detail ?? response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return document;
  }
  const api = Object.assign(() => call("GET"), {
    shared: true,
    machines: async () => (await labwright.schedule.machines()).map((m) => ({ ...m, workcell: null })),
    async addWorkcell(name, machineIds, deck = null, expectedRevision = null) {
      const local = await labwright.schedule.machines();
      const machines = machineIds.map((id) => local.find((m) => m.id === id)).map((m) => ({
        name: m.name, machine_kind: m.kind, capabilities: m.capabilities,
      }));
      return call("POST", "/workcells", { name, machines, ...(deck ? { deck } : {}) }, expectedRevision);
    },
    removeWorkcell: (name, expectedRevision = null) => call("DELETE", `/workcells/${encodeURIComponent(name)}`, undefined, expectedRevision),
    submit: (requests, expectedRevision = null) => call("POST", "/requests", { requests }, expectedRevision),
    replan: (method = "heuristic", expectedRevision = null) => call("POST", "/plan", { method }, expectedRevision),
    cancel: (runId, reason = "cancelled") => call("POST", `/runs/${encodeURIComponent(runId)}/cancel`, { reason }),
    reservations: (filters = {}) => call("GET", `/reservations?${new URLSearchParams(filters)}`).then((d) => d.reservations),
    async execute(runId) {
      const path = `/runs/${encodeURIComponent(runId)}`;
      const { run } = await call("GET", path);
      const request = run.request ?? {};
      if (!request.source) throw new Error(`run ${runId} has no protocol source; start and finish it by hand`);
      await call("POST", `${path}/start`, {});
      const beat = setInterval(() => call("POST", `${path}/heartbeat`, {}).catch(() => {}), 20_000);
      try {
        const result = await labwright.run(request.source, {
          function: request.function, parameters: request.parameters ?? {}, filename: request.filename ?? "protocol.py",
        });
        const reason = result.error ? `${result.error.type}: ${result.error.message}` : null;
        const action = result.status === "completed" ? "finish" : result.status === "cancelled" ? "cancel" : "fail";
        const ended = await call("POST", `${path}/${action}`, reason ? { reason } : {});
        return { run: ended.run, result };
      } catch (error) {
        await call("POST", `${path}/fail`, { reason: error.message.slice(0, 500) }).catch(() => {});
        throw error;
      } finally {
        clearInterval(beat);
      }
    },
  });
  return api;
}

export function initScheduleView(labwright, root = document.getElementById("schedule")) {
  if (!root) return null;
  root.hidden = false;
  const message = $("#schedule-message", root);
  let current = null;
  let schedule = labwright.schedule; // this page's own, or the bridge server's shared one
  const token = tokenFromFragment();
  const shared = $("#schedule-shared", root);
  shared.disabled = !token;
  shared.title = token ? "one schedule for every page on this lab PC" : "open the page from `labwright serve`'s URL (with #token=) to share";
  shared.addEventListener("change", async () => {
    schedule = shared.checked ? serverSchedule(labwright, token) : labwright.schedule;
    root.dataset.source = shared.checked ? "server" : "page";
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
    drawGantt($("#gantt", root), current);
    showQueue(current);
  }

  function showMachines(machines) {
    const free = machines.filter((m) => !m.workcell);
    // Redrawn on every refresh (a shared schedule polls): keep what the user ticked.
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
        h("td", {}, run.ends_at ? clock(time(run.ends_at)) : ""), h("td", { class: "reasons" }, run.reason ?? ""),
        h("td", {},
          run.status === "scheduled" ? h("button", { type: "button", class: "execute", onclick: guarded(() => schedule.execute(run.id)) }, "run now") : null,
          ["scheduled", "running"].includes(run.status) ? h("button", { type: "button", onclick: guarded(() => schedule.cancel(run.id, "cancelled from the page")) }, "cancel") : null)));
    $("#schedule-queue", root).replaceChildren(
      h("tr", {}, ...["protocol", "priority", "status", "workcell", "starts", "ends", "why", ""].map((t) => h("th", {}, t))), ...rows);
    $("#schedule-infeasible", root).replaceChildren(...snapshot.infeasible.map((item) =>
      h("li", {}, `${item.request}: ${item.message}`)));
  }

  $("#workcell-add", root).addEventListener("click", guarded(async () => {
    const ids = [...root.querySelectorAll("#workcell-machines input:checked")].map((box) => Number(box.value));
    const name = $("#workcell-name", root).value.trim();
    if (!name) throw new Error("name the workcell");
    if (!ids.length) throw new Error("choose the workcell's machines");
    await schedule.addWorkcell(name, ids, null, current.revision);
    $("#workcell-name", root).value = "";
  }));
  $("#schedule-demos", root).addEventListener("click", guarded(async () => {
    const { protocols } = await (await fetch(new URL("./protocols/index.json", import.meta.url))).json();
    const requests = await Promise.all(protocols.map(async (entry, index) => ({
      source: await (await fetch(new URL(`./protocols/${entry.file}`, import.meta.url))).text(),
      filename: entry.file, function: entry.function, priority: protocols.length - index,
      parameters: entry.file === "incubation.py" ? { seconds: 30 } : {},
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
  // A shared schedule changes under us: follow it while it is shown.
  setInterval(() => { if (schedule.shared && !document.hidden) refresh(); }, 5000);
  refresh();
  return { refresh, get source() { return schedule.shared ? "server" : "page"; } };
}
