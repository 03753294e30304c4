// The inventory: this page's items with their type, lot, expiry, contents, location and the runs
// that hold them; add labware of a catalog type, edit an item in its row, retire one. All rules
// (what is labware, valid dates and amounts, not retiring a reserved item) are the worker's.
import { $, h } from "./dom.js";
import { shortName as short } from "./format.js";
const DAY = 86_400_000;

export function expiryClass(iso, now = Date.now()) {
  if (!iso) return "";
  const left = Date.parse(iso) - now;
  return left < 0 ? "expired" : left < 30 * DAY ? "expiring" : "";
}

export function contentsText(item) {
  const parts = [];
  if (item.remaining_volume_ul !== null && item.remaining_volume_ul !== undefined) parts.push(`${item.remaining_volume_ul} µL`);
  if (item.remaining_tips !== null && item.remaining_tips !== undefined) parts.push(`${item.remaining_tips} tips`);
  return parts.join(", ");
}

export function initInventoryView(labwright, root = document.getElementById("inventory")) {
  if (!root) return null;
  const message = $("#inventory-message", root);
  const say = (text, bad = false) => {
    message.textContent = text;
    message.className = bad ? "bad" : "";
  };

  async function refresh() {
    const items = await labwright.inventory.items($("#inventory-retired", root).checked);
    const rows = items.map((item) => row(item));
    $("#inventory-table", root).replaceChildren(
      h("tr", {}, ...["name", "type", "lot", "expires", "contents", "location", "status", "held by", ""].map((t) => h("th", {}, t))), ...rows);
    root.dataset.count = String(items.length);
  }

  function row(item) {
    const expires = item.expires_at ? item.expires_at.slice(0, 10) : "";
    const held = item.reservations.map((r) => `run ${r.run_id} until ${new Date(r.ends_at).toLocaleString()}`).join("; ");
    const tr = h("tr", { "data-asset": item.id, "data-kind": item.kind },
      h("td", {}, item.name), h("td", { title: item.catalog_fqn }, short(item.catalog_fqn)),
      h("td", {}, item.lot ?? ""), h("td", { class: `expires ${expiryClass(item.expires_at)}` }, expires),
      h("td", {}, contentsText(item)), h("td", {}, item.location ?? ""), h("td", { class: `status ${item.status}` }, item.status),
      h("td", {}, held),
      h("td", {}, item.kind === "labware" && item.status !== "retired"
        ? [h("button", { type: "button", class: "edit", onclick: () => edit(tr, item) }, "edit"), " ",
          h("button", { type: "button", class: "retire", onclick: () => act(() => labwright.inventory.retire(item.id), `${item.name} retired`) }, "retire")]
        : null));
    return tr;
  }

  // The row becomes a form: lot, expiry, volume, tips, location; Enter or Save writes, Escape cancels.
  function edit(tr, item) {
    const field = (name, value, attrs = {}) => h("input", { name, value: value ?? "", "aria-label": name, ...attrs });
    const inputs = {
      lot: field("lot", item.lot),
      expires_at: field("expires_at", item.expires_at?.slice(0, 10), { type: "date" }),
      remaining_volume_ul: field("remaining_volume_ul", item.remaining_volume_ul, { type: "number", min: 0, step: "any", placeholder: "µL" }),
      remaining_tips: field("remaining_tips", item.remaining_tips, { type: "number", min: 0, step: 1, placeholder: "tips" }),
      location: field("location", item.location),
    };
    const save = async () => {
      const changes = {};
      for (const [key, input] of Object.entries(inputs)) {
        const before = key === "expires_at" ? item.expires_at?.slice(0, 10) ?? "" : String(item[key] ?? "");
        if (input.value === before) continue;
        changes[key] = input.type === "number" ? (input.value === "" ? null : Number(input.value)) : input.value || null;
      }
      if (!Object.keys(changes).length) return refresh();
      await act(() => labwright.inventory.update(item.id, changes), `${item.name} saved`);
    };
    const cells = tr.children;
    cells[2].replaceChildren(inputs.lot);
    cells[3].replaceChildren(inputs.expires_at);
    cells[4].replaceChildren(inputs.remaining_volume_ul, inputs.remaining_tips);
    cells[5].replaceChildren(inputs.location);
    cells[8].replaceChildren(h("button", { type: "button", class: "save", onclick: save }, "Save"), " ",
      h("button", { type: "button", onclick: () => refresh() }, "Cancel"));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter") save();
      else if (event.key === "Escape") refresh();
    });
    inputs.lot.focus();
  }

  async function act(fn, done) {
    try {
      await fn();
      say(done);
    } catch (err) {
      say(err.message, true);
    }
    await refresh();
  }

  // The type field offers the catalog's labware as the user types.
  let searching = null;
  $("#inventory-type", root).addEventListener("input", (event) => {
    clearTimeout(searching);
    searching = setTimeout(async () => {
      const found = await labwright.catalog.search(event.target.value, { limit: 30, section: "resources" }).catch(() => []);
      $("#inventory-types", root).replaceChildren(...found.map((entry) => h("option", { value: entry.fqn }, entry.name ?? short(entry.fqn))));
    }, 150);
  });

  $("#inventory-add", root).addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const number = (name) => (form.elements[name].value === "" ? null : Number(form.elements[name].value));
    act(() => labwright.inventory.add({
      name: form.elements.name.value, type: form.elements.type.value, lot: form.elements.lot.value || null,
      expiresAt: form.elements.expires.value || null, volume: number("volume"), tips: number("tips"),
      location: form.elements.location.value || null,
    }).then((item) => {
      form.reset();
      return item;
    }), `${form.elements.name.value} added`);
  });
  $("#inventory-retired", root).addEventListener("change", () => refresh());
  return { refresh };
}
