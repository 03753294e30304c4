// The schedule: workcells, the run queue and a Gantt chart of every workcell's machines over
// time. All scheduling happens in the worker (browser_runtime.scheduler); this draws it.
const SVG = "http://www.w3.org/2000/svg";
const $ = (selector, root = document) => root.querySelector(selector);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

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

export function initScheduleView(labwright, root = document.getElementById("schedule")) {
  if (!root) return null;
  root.hidden = false;
  const message = $("#schedule-message", root);
  let current = null;

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
      current = await labwright.schedule();
    } catch (err) {
      say(err.message, true);
      return;
    }
    root.dataset.revision = current.revision;
    showMachines(await labwright.schedule.machines());
    drawGantt($("#gantt", root), current);
    showQueue(current);
  }

  function showMachines(machines) {
    const free = machines.filter((m) => !m.workcell);
    $("#workcell-machines", root).replaceChildren(...free.map((m) =>
      h("label", {}, h("input", { type: "checkbox", value: m.id }), ` ${m.name} (${m.kind})`)));
    $("#workcell-list", root).replaceChildren(...current.workcells.map((w) =>
      h("li", { "data-workcell": w.name }, h("strong", {}, w.name), `: ${w.machines.map((m) => m.name).join(", ")} `,
        h("button", { type: "button", onclick: guarded(() => labwright.schedule.removeWorkcell(w.name, current.revision)) }, "remove"))));
  }

  function showQueue(schedule) {
    const byId = new Map(schedule.runs.map((run) => [run.id, run]));
    const ordered = [...schedule.queue.map((id) => byId.get(id)).filter(Boolean),
      ...schedule.runs.filter((run) => !schedule.queue.includes(run.id))];
    const rows = ordered.map((run) =>
      h("tr", { "data-run": run.id, "data-status": run.status },
        h("td", {}, run.protocol), h("td", {}, String(run.priority)), h("td", { class: `status ${run.status}` }, run.status),
        h("td", {}, run.workcell ?? ""), h("td", {}, run.starts_at ? clock(time(run.starts_at)) : ""),
        h("td", {}, run.ends_at ? clock(time(run.ends_at)) : ""), h("td", { class: "reasons" }, run.reason ?? ""),
        h("td", {},
          run.status === "scheduled" ? h("button", { type: "button", class: "execute", onclick: guarded(() => labwright.schedule.execute(run.id)) }, "run now") : null,
          ["scheduled", "running"].includes(run.status) ? h("button", { type: "button", onclick: guarded(() => labwright.schedule.cancel(run.id, "cancelled from the page")) }, "cancel") : null)));
    $("#schedule-queue", root).replaceChildren(
      h("tr", {}, ...["protocol", "priority", "status", "workcell", "starts", "ends", "why", ""].map((t) => h("th", {}, t))), ...rows);
    $("#schedule-infeasible", root).replaceChildren(...schedule.infeasible.map((item) =>
      h("li", {}, `${item.request}: ${item.message}`)));
  }

  $("#workcell-add", root).addEventListener("click", guarded(async () => {
    const ids = [...root.querySelectorAll("#workcell-machines input:checked")].map((box) => Number(box.value));
    const name = $("#workcell-name", root).value.trim();
    if (!name) throw new Error("name the workcell");
    if (!ids.length) throw new Error("choose the workcell's machines");
    await labwright.schedule.addWorkcell(name, ids, null, current.revision);
    $("#workcell-name", root).value = "";
  }));
  $("#schedule-demos", root).addEventListener("click", guarded(async () => {
    const { protocols } = await (await fetch(new URL("./protocols/index.json", import.meta.url))).json();
    const requests = await Promise.all(protocols.map(async (entry, index) => ({
      source: await (await fetch(new URL(`./protocols/${entry.file}`, import.meta.url))).text(),
      filename: entry.file, function: entry.function, priority: protocols.length - index,
      parameters: entry.file === "incubation.py" ? { seconds: 30 } : {},
    })));
    const result = await labwright.schedule.submit(requests, current.revision);
    say(`${result.placed.length} placed, ${result.infeasible.length} infeasible`);
  }));
  for (const method of ["heuristic", "optimiser"]) {
    $(`#schedule-${method}`, root).addEventListener("click", guarded(async () => {
      const result = await labwright.schedule.replan(method, current.revision);
      say(`${method}: makespan ${(result.makespan_s / 60).toFixed(1)} min, computed in ${(result.compute_s * 1000).toFixed(0)} ms`);
    }));
  }
  refresh();
  return { refresh };
}
