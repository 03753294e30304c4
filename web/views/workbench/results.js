// The run's results: its return value under each declared data view (a plate reading as a heatmap
// with wells by name and the value on hover, lists of records as tables, anything else as JSON),
// the final volume in each well of every plate the run touched, and downloads as CSV and JSON.
import { $, download, h } from "../dom.js";

const ROWS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// A plate-shaped grid: rows of numbers (or null), all of one length, at most 32 x 48.
export function isGrid(value) {
  return Array.isArray(value) && value.length > 0 && value.length <= 32 &&
    value.every((row) => Array.isArray(row) && row.length === value[0].length && row.length > 0 && row.length <= 48 &&
      row.every((cell) => cell === null || typeof cell === "number"));
}

// Every grid inside `value`, with a title from where it sits (a reading's wavelength, a key).
export function findGrids(value, title = "") {
  if (isGrid(value)) return [{ title, grid: value }];
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => findGrids(item, value.length > 1 ? `${title} #${index + 1}`.trim() : title));
  }
  if (value && typeof value === "object") {
    const about = ["wavelength", "excitation_wavelength", "emission_wavelength"]
      .filter((key) => typeof value[key] === "number").map((key) => `${key.replace(/_/g, " ")} ${value[key]} nm`).join(", ");
    return Object.entries(value).flatMap(([key, item]) =>
      findGrids(item, [title, key === "data" ? about : key].filter(Boolean).join(" · ")));
  }
  return [];
}

export function gridCSV(grid) {
  const header = ["", ...grid[0].map((_, column) => String(column + 1))];
  const lines = [header, ...grid.map((row, index) => [ROWS[index], ...row.map((cell) => (cell === null ? "" : String(cell)))])];
  return lines.map((line) => line.join(",")).join("\n") + "\n";
}

// Records (a list of flat objects) as CSV with the union of their keys as the header.
export function recordsCSV(records) {
  const keys = [...new Set(records.flatMap((record) => Object.keys(record)))];
  const cell = (value) => {
    const text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [keys.join(","), ...records.map((record) => keys.map((key) => cell(record[key])).join(","))].join("\n") + "\n";
}

const isRecords = (value) => Array.isArray(value) && value.length > 0 &&
  value.every((item) => item && typeof item === "object" && !Array.isArray(item));

// Final volumes per plate from the deck's states: {plate: grid} for names like "plate_well_B3".
export function plateVolumes(states) {
  const plates = new Map();
  for (const [name, state] of Object.entries(states ?? {})) {
    const found = /^(.*)_well_([A-Z])(\d+)$/.exec(name);
    const volume = state?.volume ?? state?.liquid_volume;
    if (!found || typeof volume !== "number") continue;
    const [, plate, row, column] = found;
    if (!plates.has(plate)) plates.set(plate, []);
    plates.get(plate).push({ row: ROWS.indexOf(row), column: Number(column) - 1, volume });
  }
  const grids = {};
  for (const [plate, wells] of plates) {
    if (!wells.some((well) => well.volume > 0)) continue;
    const rows = Math.max(...wells.map((w) => w.row)) + 1;
    const columns = Math.max(...wells.map((w) => w.column)) + 1;
    const grid = Array.from({ length: rows }, () => Array(columns).fill(null));
    for (const well of wells) grid[well.row][well.column] = Math.round(well.volume * 100) / 100;
    grids[plate] = grid;
  }
  return grids;
}

// The volume in each plate (its wells summed) or other container after every command of a run
// (`steps`: the timeline's RunSteps with every event): {step count, series: [{name, values}]},
// values[k] the total after command k (0: at the start); only what the run changed.
export function volumeSeries(steps) {
  const groupOf = (resource) => /^(.*)_well_[A-Z]+\d+$/.exec(resource)?.[1] ?? resource;
  const volumes = new Map(); // resource -> its volume now
  const totals = new Map(); // group -> the sum of its resources' volumes now
  const set = (resource, volume) => {
    const group = groupOf(resource);
    totals.set(group, (totals.get(group) ?? 0) + volume - (volumes.get(resource) ?? 0));
    volumes.set(resource, volume);
  };
  for (const [resource, state] of Object.entries(steps.checkpoints[0].states)) {
    if (typeof state?.volume === "number") set(resource, state.volume);
  }
  const series = new Map(); // group -> values, one per step recorded so far
  let recorded = 0;
  const record = () => {
    for (const [group, total] of totals) {
      if (!series.has(group)) series.set(group, Array(recorded).fill(0));
      series.get(group).push(total);
    }
    recorded += 1;
  };
  for (const event of steps.events) {
    if (event.type === "command") record(); // the totals after the previous command
    else if (event.type === "state" && typeof event.state?.volume === "number") set(event.resource, event.state.volume);
  }
  record(); // after the last command
  const changed = [...series].filter(([, values]) => values.some((v) => Math.abs(v - values[0]) > 1e-6));
  return { steps: recorded - 1, series: changed.map(([name, values]) => ({ name, values })) };
}

// The series as lines: x the command, y the change in µL since the start (a 150 mL trough and a
// plate's 20 mL move on one scale); a click goes to that step of the timeline.
function volumeChart({ steps, series }, onStep) {
  const width = 640;
  const height = 260;
  const pad = { left: 80, right: 12, top: 14, bottom: 34 };
  const deltas = series.map((line) => ({ ...line, values: line.values.map((v) => v - line.values[0]) }));
  const high = Math.max(0, ...deltas.flatMap((s) => s.values));
  const low = Math.min(0, ...deltas.flatMap((s) => s.values));
  const span = high - low || 1;
  const x = (k) => pad.left + (steps ? k / steps : 0) * (width - pad.left - pad.right);
  const y = (v) => pad.top + ((high - v) / span) * (height - pad.top - pad.bottom);
  const signed = (v) => `${v > 0 ? "+" : ""}${Math.round(v)} µL`;
  const svgEl = (tag, attrs = {}, ...children) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    node.append(...children);
    return node;
  };
  const color = (index) => `hsl(${(index * 67) % 360} 65% 42%)`;
  const chart = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "volume-chart", role: "img",
    "aria-label": `volume in ${series.map((s) => s.name).join(", ")} over ${steps} commands` },
  svgEl("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "axis" }),
  svgEl("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: "axis" }),
  svgEl("text", { x: pad.left - 6, y: y(high) + 12, "text-anchor": "end", class: "tick" }, signed(high)),
  svgEl("text", { x: pad.left - 6, y: y(0) + 5, "text-anchor": "end", class: "tick" }, "±0"),
  ...(low < 0 ? [svgEl("text", { x: pad.left - 6, y: y(low), "text-anchor": "end", class: "tick" }, signed(low))] : []),
  svgEl("text", { x: width - pad.right, y: height - 8, "text-anchor": "end", class: "tick" }, `command ${steps}`),
  svgEl("text", { x: pad.left, y: height - 8, class: "tick" }, "start"),
  ...deltas.map((line, index) => svgEl("polyline", { class: "series", "data-series": line.name, fill: "none",
    stroke: color(index), "stroke-width": 2.5, points: line.values.map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(" ") },
  svgEl("title", {}, `${line.name}: ${Math.round(line.values[0])} → ${Math.round(line.values.at(-1))} µL`))));
  chart.addEventListener("click", (event) => {
    const box = chart.getBoundingClientRect();
    const at = ((event.clientX - box.left) / box.width) * width;
    onStep(Math.max(0, Math.min(steps, Math.round(((at - pad.left) / (width - pad.left - pad.right)) * steps))));
  });
  const legend = h("ul", { class: "legend" }, ...series.map((line, index) =>
    h("li", { style: `color:${color(index)}` }, `${line.name}: ${Math.round(line.values[0])} → ${Math.round(line.values.at(-1))} µL`)));
  return h("figure", { class: "result volume-over-run", "data-view": "volume-over-run" },
    h("figcaption", {}, "Volume over the run, change since the start (click to go to that command)"), chart, legend);
}

function heatmap(grid, { title, unit = "", name }) {
  const values = grid.flat().filter((v) => typeof v === "number" && Number.isFinite(v));
  const low = Math.min(...values);
  const high = Math.max(...values);
  const shade = (value) => {
    if (typeof value !== "number" || !Number.isFinite(value)) return "transparent";
    const t = high > low ? (value - low) / (high - low) : 0.5;
    return `hsl(${220 - t * 200} 70% ${88 - t * 40}%)`;
  };
  const digits = high - low < 1 ? 3 : high - low < 100 ? 1 : 0;
  return h("figure", { class: "result heatmap", "data-view": name },
    h("figcaption", {}, title, values.length ? h("small", {}, ` min ${low.toFixed(digits)} · max ${high.toFixed(digits)}${unit}`) : null,
      " ", h("button", { type: "button", class: "csv", onclick: () => download(`${name}.csv`, new Blob([gridCSV(grid)], { type: "text/csv" })) }, "CSV")),
    h("table", {},
      h("tr", {}, h("th", {}), ...grid[0].map((_, c) => h("th", {}, String(c + 1)))),
      ...grid.map((row, r) => h("tr", {}, h("th", {}, ROWS[r]),
        ...row.map((value, c) => h("td", {
          "data-well": `${ROWS[r]}${c + 1}`,
          title: `${ROWS[r]}${c + 1}: ${value === null ? "not read" : `${value}${unit}`}`,
          style: `background:${shade(value)}`,
        }, value === null ? "" : value.toFixed(digits)))))));
}

function table(records, name, title) {
  const keys = [...new Set(records.flatMap((record) => Object.keys(record)))];
  const show = (value) => (value !== null && typeof value === "object" ? JSON.stringify(value) : String(value ?? ""));
  return h("figure", { class: "result records", "data-view": name },
    h("figcaption", {}, title, " ", h("button", { type: "button", class: "csv",
      onclick: () => download(`${name}.csv`, new Blob([recordsCSV(records)], { type: "text/csv" })) }, "CSV")),
    h("table", {}, h("tr", {}, ...keys.map((key) => h("th", {}, key))),
      ...records.slice(0, 500).map((record) => h("tr", {}, ...keys.map((key) => h("td", {}, show(record[key])))))));
}

// What a value looks like best: heatmaps for its grids, a table for records, else JSON.
function present(value, name, title) {
  const grids = findGrids(value);
  if (grids.length) {
    return grids.map((found, index) => heatmap(found.grid, { title: [title, found.title].filter(Boolean).join(" · "),
      name: grids.length > 1 ? `${name}-${index + 1}` : name }));
  }
  if (isRecords(value)) return [table(value, name, title)];
  return [h("figure", { class: "result json", "data-view": name }, h("figcaption", {}, title),
    h("pre", {}, value === null || value === undefined ? "(nothing returned)" : JSON.stringify(value, null, 2)))];
}

export function initResults(wb) {
  const root = $("#results");
  let curves = null; // the volume-over-the-run figure of the run shown (once its events are all in)

  function clear() {
    curves = null;
    root.replaceChildren();
  }

  // Every event of the run is in (the timeline's steps): where the liquid went, as lines.
  function showCurves(steps) {
    curves?.remove();
    const found = volumeSeries(steps);
    curves = found.series.length && found.steps ? volumeChart(found, (step) => { wb.timeline.stop(); wb.timeline.go(step); }) : null;
    if (curves && root.querySelector(".results-head")) root.append(curves);
  }

  // result: the run's result ({status, value, run_id}); plan: its plan (data views); states: final deck states.
  function show({ result, plan, states }) {
    const views = (plan?.data_views ?? []).filter((view) => (view.source_type ?? "function_output") === "function_output");
    const id = result.run_id ?? "run";
    const parts = [];
    if (result.status === "completed") {
      const main = views[0];
      const title = main ? `${main.name}${main.description ? ` — ${main.description}` : ""}` : "Return value";
      parts.push(...present(result.value, `${id}-${main?.name ?? "value"}`, title));
    }
    for (const [plate, grid] of Object.entries(plateVolumes(states))) {
      parts.push(heatmap(grid, { title: `Final volume per well · ${plate}`, unit: " µL", name: `${id}-${plate}-volumes` }));
    }
    if (!parts.length) return clear();
    root.replaceChildren(h("div", { class: "results-head" }, h("h3", {}, "Results"),
      h("button", { type: "button", id: "results-json", onclick: () => download(`results-${id}.json`,
        new Blob([JSON.stringify({ run_id: id, status: result.status, value: result.value ?? null,
          final_volumes: plateVolumes(states) }, null, 2)], { type: "application/json" })) }, "Download JSON")),
    ...parts, ...(curves ? [curves] : []));
  }

  return { show, clear, showCurves };
}
