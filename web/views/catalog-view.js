// The catalog view: search PLR's machines, backends and labware; a plate or tip rack is
// drawn from above from its real geometry (PLR's own serialize() document).
import { h, svg } from "./dom.js";

export function initCatalogView(labwright, root = document.getElementById("catalog")) {
  const search = root.querySelector("#catalog-search");
  const section = root.querySelector("#catalog-section");
  const results = root.querySelector("#catalog-results");
  const detail = root.querySelector("#catalog-detail");
  const status = root.querySelector("#catalog-status");
  const addInput = root.querySelector("#catalog-add");
  const addButton = root.querySelector("#catalog-add-button");
  const addMessage = root.querySelector("#catalog-add-message");
  let query = 0;

  async function refresh() {
    const ticket = ++query;
    const entries = await labwright.catalog.search(search.value, { limit: 100, section: section.value || null });
    if (ticket !== query) return; // a newer search already answered
    results.replaceChildren(
      ...entries.map((entry) =>
        h("li", {}, h("button", { type: "button", "data-fqn": entry.fqn, title: entry.fqn, onclick: () => show(entry.fqn) },
          h("span", { class: "name" }, entry.name),
          h("span", { class: "kind" }, `${entry.section.replace(/s$/, "")} · ${entry.kind ?? ""}`)))),
    );
    results.dataset.count = String(entries.length);
  }

  async function show(fqn) {
    const entry = await labwright.catalog.get(fqn);
    detail.replaceChildren();
    if (!entry) return;
    detail.dataset.fqn = entry.fqn;
    const table = h("table");
    const fields = [
      ["fqn", entry.fqn],
      ["category", entry.category ?? entry.kind],
      ["frontend kind", entry.frontend_kind],
      ["io", entry.io],
      ["simulator", entry.simulator === undefined ? undefined : String(entry.simulator)],
      ["usb ids", entry.usb_ids?.map((id) => `${hex4(id.vid)}:${hex4(id.pid)}`).join(", ")],
      ["serial", entry.serial && Object.entries(entry.serial).map(([k, v]) => `${k}=${v}`).join(" ")],
      ["manufacturer", entry.manufacturer],
      ["size (mm)", entry.size && `${entry.size.x} × ${entry.size.y} × ${entry.size.z}`],
      ["grid", entry.geometry?.num_items_x && `${entry.geometry.num_items_x} × ${entry.geometry.num_items_y}`],
      ["max volume (µL)", entry.geometry?.max_volume ?? entry.geometry?.tip_max_volume],
      ["deprecated", entry.deprecated],
      ["not measured", entry.error ?? entry.skipped],
      ["summary", entry.docstring],
    ];
    for (const [name, value] of fields) {
      if (value === undefined || value === null || value === "") continue;
      const row = table.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = value;
    }
    detail.append(h("h3", {}, entry.name), table);
    const url = labwright.catalog.serializedURL(entry);
    if (url && ["plate", "tip_rack", "tube_rack", "trough"].includes(entry.category)) {
      const response = await fetch(url);
      if (response.ok && detail.dataset.fqn === entry.fqn) detail.append(drawTopView(await response.json()));
    }
  }

  search.addEventListener("input", () => refresh().catch(showError));
  section.addEventListener("change", () => refresh().catch(showError));
  addButton.addEventListener("click", () => addInput.click());
  addInput.addEventListener("change", async () => {
    const file = addInput.files[0];
    if (!file) return;
    try {
      const added = await labwright.catalog.addDefinition(JSON.parse(await file.text()));
      addMessage.textContent = `Added ${added.name} (${added.kind}).`;
      addMessage.className = "ok";
      search.value = added.name;
      await refresh();
      await show(added.fqn);
    } catch (err) {
      addMessage.textContent = `${file.name}: ${err.message}`;
      addMessage.className = "bad";
    } finally {
      addInput.value = "";
    }
  });

  function showError(err) {
    status.textContent = `catalog error: ${err.message}`;
  }

  root.hidden = false;
  status.textContent = "loading…";
  return labwright.catalog.loaded.then(async (info) => {
    const counts = info.counts;
    status.textContent =
      `${info.source} catalog, PLR ${info.plr_version}: ${counts.machines} machines, ${counts.backends} backends, ` +
      `${counts.resources} resources, ${counts.decks} decks`;
    root.dataset.state = "loaded";
    search.disabled = false;
    section.disabled = false;
    addButton.disabled = false; // hand-added definitions wait for the first load
    await refresh();
  }, showError);
}

function hex4(value) {
  return `0x${value.toString(16).toUpperCase().padStart(4, "0")}`;
}

// Top view, origin at PLR's front-left: PLR's y grows towards the back, SVG's downwards.
export function drawTopView(resource) {
  const drawing = svg("svg", { viewBox: `-2 -2 ${resource.size_x + 4} ${resource.size_y + 4}`, class: "top-view", role: "img",
    "aria-label": `${resource.name}, top view`, "data-items": String(resource.children?.length ?? 0) },
  svg("rect", { x: 0, y: 0, width: resource.size_x, height: resource.size_y, rx: 2, class: "outline" }));
  for (const child of resource.children ?? []) {
    const x = child.location?.x ?? 0;
    const y = resource.size_y - (child.location?.y ?? 0) - child.size_y;
    const round = child.cross_section_type === "circle" || child.type === "TipSpot" || child.category === "tip_spot";
    const where = round
      ? { cx: x + child.size_x / 2, cy: y + child.size_y / 2, rx: child.size_x / 2, ry: child.size_y / 2 }
      : { x, y, width: child.size_x, height: child.size_y };
    drawing.append(svg(round ? "ellipse" : "rect", { ...where, class: `item ${child.category ?? ""}` }, svg("title", {}, child.name)));
  }
  return drawing;
}
