// The schedule's Gantt chart: one row per machine of every workcell, one bar per run on each
// machine it holds, over the schedule's time span.
import { svg as s } from "./dom.js";

export const time = (iso) => new Date(iso).getTime();
export const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

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
