// The schedule's Gantt chart: one row per machine of every workcell. A run's bar on a machine is
// each window it holds that machine (its reservations: a run holds a machine only while its steps
// use it), a finished run's at its real times; a hold by hand is a bar of its own. A "now" line,
// and a zoom that widens the chart inside its scrolling box.
import { svg as s } from "./dom.js";

export const time = (iso) => new Date(iso).getTime();
export const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const FINISHED = ["completed", "failed", "cancelled"];

// rows: one per machine of every workcell; bars: {row, run, parameter, start, end}.
export function ganttModel(schedule, now = Date.now()) {
  const rows = [];
  for (const workcell of schedule.workcells) {
    for (const machine of workcell.machines) rows.push({ workcell: workcell.name, machine });
  }
  const rowsOf = (workcell, assetId) => {
    const own = rows.flatMap((r, index) => (r.machine.id === assetId && r.workcell === workcell ? [index] : []));
    return own.length ? own : rows.flatMap((r, index) => (r.machine.id === assetId && !workcell ? [index] : []));
  };
  const byId = new Map(schedule.runs.map((run) => [run.id, run]));
  const parameterOf = (run, assetId) => Object.entries(run?.machines ?? {}).find(([, id]) => id === assetId)?.[0] ?? null;
  const bars = [];
  const held = new Set(); // runs drawn from their holds
  for (const reservation of schedule.reservations ?? []) {
    if (!rows.some((r) => r.machine.id === reservation.asset_id)) continue; // labware
    const run = byId.get(reservation.run_id) ?? { id: reservation.run_id, protocol: `held: ${reservation.note ?? "by hand"}`, status: "hold", workcell: null };
    const start = time(reservation.starts_at);
    const end = time(reservation.ends_at);
    for (const row of rowsOf(run.workcell, reservation.asset_id)) {
      bars.push({ row, run, parameter: parameterOf(run, reservation.asset_id), start, end });
    }
    held.add(run.id);
  }
  for (const run of schedule.runs) {
    if (held.has(run.id) || !run.workcell) continue;
    const finished = FINISHED.includes(run.status) && run.started_at && run.ended_at;
    const [from, to] = finished ? [run.started_at, run.ended_at] : [run.starts_at, run.ends_at];
    if (!from || !to || (FINISHED.includes(run.status) && !finished)) continue;
    for (const [parameter, assetId] of Object.entries(run.machines ?? {})) {
      const row = rows.findIndex((r) => r.workcell === run.workcell && r.machine.id === assetId);
      if (row >= 0) bars.push({ row, run, parameter, start: time(from), end: time(to) });
    }
  }
  bars.sort((a, b) => a.row - b.row || a.start - b.start);
  const starts = bars.map((b) => b.start);
  const ends = bars.map((b) => b.end);
  const from = starts.length ? Math.min(...starts) : now;
  const to = ends.length ? Math.max(...ends) : from + 3600_000;
  return { rows, bars, from, to: Math.max(to, from + 60_000), now };
}

export function drawGantt(container, schedule, { zoom = 1, now = Date.now() } = {}) {
  const { rows, bars, from, to } = ganttModel(schedule, now);
  const label = 190;
  const width = Math.round(900 * zoom);
  const rowHeight = 24;
  const top = 22;
  const height = top + Math.max(1, rows.length) * rowHeight + 4;
  const x = (ms) => label + ((ms - from) / (to - from)) * (width - label - 10);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, style: `width:${zoom * 100}%`, class: "gantt", role: "img" });
  svg.append(s("title", {}, "Schedule: workcells and machines over time"));
  // time axis: a tick about every 110 px, on whole minutes
  const step = Math.max(60_000, Math.ceil(((to - from) * 110) / (width - label) / 60_000) * 60_000);
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
    rect.append(s("title", {}, `${bar.run.protocol} (${bar.run.status}) ${clock(bar.start)}–${clock(bar.end)}${bar.parameter ? ` · ${bar.parameter}` : ""}`));
    svg.append(rect);
    const room = x(bar.end) - x(bar.start);
    if (room > 40) {
      const text = bar.run.protocol.length * 6.5 > room - 6 ? `${bar.run.protocol.slice(0, Math.max(3, Math.floor((room - 6) / 6.5) - 1))}…` : bar.run.protocol;
      svg.append(s("text", { x: x(bar.start) + 3, y: y + 13, class: "bar-label" }, text));
    }
  }
  if (now >= from && now <= to) {
    svg.append(s("line", { x1: x(now), x2: x(now), y1: top - 6, y2: height, class: "now" }, s("title", {}, `now ${clock(now)}`)));
  }
  container.replaceChildren(svg);
  return { rows: rows.length, bars: bars.length };
}
