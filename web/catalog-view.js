// The catalog view: search PLR's machines, backends and labware; a plate or tip rack is
// drawn from above from its real geometry (PLR's own serialize() document).
const SVG = "http://www.w3.org/2000/svg";

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
      ...entries.map((entry) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.fqn = entry.fqn;
        button.innerHTML = `<span class="name"></span><span class="kind"></span>`;
        button.querySelector(".name").textContent = entry.name;
        button.querySelector(".kind").textContent = `${entry.section.replace(/s$/, "")} · ${entry.kind ?? ""}`;
        button.title = entry.fqn;
        button.addEventListener("click", () => show(entry.fqn));
        item.append(button);
        return item;
      }),
    );
    results.dataset.count = String(entries.length);
  }

  async function show(fqn) {
    const entry = await labwright.catalog.get(fqn);
    detail.replaceChildren();
    if (!entry) return;
    detail.dataset.fqn = entry.fqn;
    const title = document.createElement("h3");
    title.textContent = entry.name;
    const table = document.createElement("table");
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
    detail.append(title, table);
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
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `-2 -2 ${resource.size_x + 4} ${resource.size_y + 4}`);
  svg.setAttribute("class", "top-view");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${resource.name}, top view`);
  const outline = document.createElementNS(SVG, "rect");
  Object.entries({ x: 0, y: 0, width: resource.size_x, height: resource.size_y, rx: 2, class: "outline" }).forEach(([k, v]) =>
    outline.setAttribute(k, v),
  );
  svg.append(outline);
  for (const child of resource.children ?? []) {
    const x = child.location?.x ?? 0;
    const y = resource.size_y - (child.location?.y ?? 0) - child.size_y;
    const round = child.cross_section_type === "circle" || child.type === "TipSpot" || child.category === "tip_spot";
    const shape = document.createElementNS(SVG, round ? "ellipse" : "rect");
    if (round) {
      shape.setAttribute("cx", x + child.size_x / 2);
      shape.setAttribute("cy", y + child.size_y / 2);
      shape.setAttribute("rx", child.size_x / 2);
      shape.setAttribute("ry", child.size_y / 2);
    } else {
      Object.entries({ x, y, width: child.size_x, height: child.size_y }).forEach(([k, v]) => shape.setAttribute(k, v));
    }
    shape.setAttribute("class", `item ${child.category ?? ""}`);
    const label = document.createElementNS(SVG, "title");
    label.textContent = child.name;
    shape.append(label);
    svg.append(shape);
  }
  svg.dataset.items = String(resource.children?.length ?? 0);
  return svg;
}
