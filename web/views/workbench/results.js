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

  function clear() {
    root.replaceChildren();
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
    ...parts);
  }

  return { show, clear };
}
