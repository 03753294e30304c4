// The deck-setup sheet of a plan: what goes where (carrier and rails, slot or site), which
// inventory item with its lot and expiry, what to load into it, the machines and the values, with
// the deck drawing; a page of its own that prints cleanly. The deck also downloads as SVG or PNG.
import { $, download, h } from "../dom.js";
import { shortName as short } from "../format.js";

// Where a placement goes, in words: "rails 7" / "slot 2 of plate_carrier (rails 7)" / "slot 4" /
// "in reader" (labware that starts inside a machine).
export function whereText(placement, layout) {
  if (!placement) return "";
  if (placement.machine) return `in ${placement.machine} (it starts inside the machine)`;
  const byName = Object.fromEntries((layout?.placements ?? []).map((p) => [p.name, p]));
  const own = placement.rails !== undefined ? `rails ${placement.rails}`
    : placement.slot !== undefined ? `${placement.parent ? "position" : "slot"} ${placement.slot}`
      : placement.site !== undefined ? `site ${placement.site}`
        : placement.location ? `at (${["x", "y", "z"].map((k) => placement.location[k] ?? 0).join(", ")}) mm` : "";
  if (!placement.parent) return own;
  const parent = byName[placement.parent];
  return `${own} of ${placement.parent}${parent ? ` (${short(parent.resource)}, ${whereText(parent, layout)})` : ""}`;
}

// The sheet's rows from a plan document and the inventory's assets (for lots and expiry).
export function sheetRows(plan, assets = []) {
  const byId = new Map(assets.map((asset) => [asset.id, asset]));
  const placements = Object.fromEntries((plan.deck_layout?.placements ?? []).map((p) => [p.name, p]));
  const labware = [];
  const machines = [];
  const values = [];
  for (const [name, entry] of Object.entries(plan.parameters ?? {})) {
    if (entry.kind === "resource") {
      if (entry.value === null && !entry.type) continue;
      const asset = entry.asset_id !== undefined ? byId.get(entry.asset_id) : null;
      labware.push({
        parameter: name, labware: short(entry.type), where: whereText(entry.placement ?? placements[name], plan.deck_layout),
        item: entry.asset ?? "any (untracked)", lot: asset?.lot ?? "", expires: asset?.expires_at ? asset.expires_at.slice(0, 10) : "",
        load: entry.contents ? Object.entries(entry.contents).map(([k, v]) => `${k.replace(/_ul$/, " (µL)").replace(/_/g, " ")}: ${v}`).join(", ") : "",
      });
    } else if (entry.kind === "machine") {
      machines.push({ parameter: name, machine: entry.asset ?? "simulated", backend: short(entry.backend) });
    } else if (entry.kind === "value") {
      values.push({ parameter: name, value: JSON.stringify(entry.value) });
    }
  }
  // Carriers and other placements no parameter names (they hold the labware).
  const named = new Set(Object.keys(plan.parameters ?? {}));
  const holders = (plan.deck_layout?.placements ?? []).filter((p) => !named.has(p.name))
    .map((p) => ({ name: p.name, labware: short(p.resource), where: whereText(p, plan.deck_layout) }));
  return { labware, machines, values, holders };
}

const table = (columns, rows) => h("table", {},
  h("tr", {}, ...columns.map(([, title]) => h("th", {}, title))),
  ...rows.map((row) => h("tr", {}, ...columns.map(([key]) => h("td", {}, String(row[key] ?? ""))))));

const SHEET_STYLE = `
  body { font: 12px system-ui, sans-serif; margin: 16px; color: #111; }
  h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 14px 0 4px; }
  table { border-collapse: collapse; width: 100%; overflow-wrap: anywhere; } th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; }
  th { background: #eee; } .meta { color: #444; } svg { width: 100%; height: auto; max-height: 9cm; }
  .check { width: 2em; } .tools { margin: 8px 0; }
  @media print { .tools { display: none; } body { margin: 0; } h2 { break-after: avoid; } table { break-inside: avoid; } }
`;

// The deck drawing (the layout tab's SVG, which has rail and slot numbers), standalone.
export function deckSVG() {
  const drawn = $("#deck-view svg.deck-view");
  if (!drawn) return null;
  const copy = drawn.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  // The page's deck styles, so the file looks as the page does.
  style.textContent = [...document.styleSheets].flatMap((sheet) => {
    try { return [...sheet.cssRules].map((rule) => rule.cssText).filter((text) => text.includes("deck-view")); } catch { return []; }
  }).join("\n");
  copy.prepend(style);
  return copy;
}

export function initSetupSheet(wb) {
  const { labwright, state } = wb;

  async function open() {
    const plan = state.plan;
    if (!plan) return;
    const assets = await labwright.inventory().catch(() => []);
    const rows = sheetRows(plan, assets);
    const sheet = window.open("", "_blank");
    if (!sheet) throw new Error("the browser blocked the sheet's window: allow pop-ups for this page");
    const doc = sheet.document;
    doc.title = `Deck setup: ${plan.protocol}`;
    const style = doc.createElement("style");
    style.textContent = SHEET_STYLE;
    doc.head.append(style);
    wb.deckView.flush(); // the layout drawing is made when first needed
    const svg = deckSVG();
    const body = h("div", { id: "setup-sheet" },
      h("div", { class: "tools" }, h("button", { type: "button", onclick: () => sheet.print() }, "Print")),
      h("h1", {}, `Deck setup: ${plan.protocol}`),
      h("p", { class: "meta" }, `${plan.filename} · plan ${plan.plan_id} · ${new Date(plan.created_at).toLocaleString()}`),
      h("h2", {}, "Labware: what goes where"),
      table([["check", "✓"], ["parameter", "parameter"], ["labware", "labware"], ["where", "where"], ["item", "inventory item"],
        ["lot", "lot"], ["expires", "expires"], ["load", "load"]], rows.labware),
      rows.holders.length ? [h("h2", {}, "Carriers and holders"), table([["check", "✓"], ["name", "name"], ["labware", "type"], ["where", "where"]], rows.holders)] : null,
      h("h2", {}, "Machines"), table([["parameter", "parameter"], ["machine", "machine"], ["backend", "backend"]], rows.machines),
      rows.values.length ? [h("h2", {}, "Values"), table([["parameter", "parameter"], ["value", "value"]], rows.values)] : null,
      svg ? [h("h2", {}, "Deck"), svg] : null);
    doc.body.replaceChildren(doc.importNode(body, true));
    doc.querySelector(".tools button").addEventListener("click", () => sheet.print());
    return sheet;
  }

  function downloadSVG() {
    wb.deckView.flush(); // the layout drawing is made when first needed
    const svg = deckSVG();
    if (!svg) return;
    download(`deck-${state.plan?.plan_id ?? "plan"}.svg`, new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" }));
  }

  async function downloadPNG() {
    wb.deckView.flush(); // the layout drawing is made when first needed
    const svg = deckSVG();
    if (!svg) return;
    const box = svg.viewBox.baseVal;
    const scale = 1600 / box.width;
    const image = new Image();
    image.src = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" }));
    await image.decode();
    const canvas = h("canvas", { width: Math.round(box.width * scale), height: Math.round(box.height * scale) });
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(image.src);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    download(`deck-${state.plan?.plan_id ?? "plan"}.png`, blob);
  }

  $("#setup-sheet-button").addEventListener("click", () => open().catch((err) => {
    $("#plan-message").textContent = err.message;
    $("#plan-message").className = "bad";
  }));
  $("#deck-svg").addEventListener("click", downloadSVG);
  $("#deck-png").addEventListener("click", () => downloadPNG());
  return { open, downloadSVG, downloadPNG };
}
