// The workbench's deck layout editor: placements on a numbered position (rails, slots, a carrier's
// sites) can be moved by typing the number or by dragging them on the drawn deck: a carrier along
// the rails, labware to another slot or to another site of any carrier. Python says which can be
// dragged and where a drag lands (area `deck`); every change is planned (validated) again at once,
// and a move the deck refuses (overlap, off the deck, a taken site) is undone with the reason shown
// at the moved item.
import { $, h } from "../dom.js";

export function initLayoutEditor(wb) {
  const { labwright, state, deckView } = wb;
  let layout = null; // the plan's deck layout, edited in place

  async function replan() {
    state.deckLayout = layout;
    return wb.plan.plan();
  }

  // The reason a move of `name` did not happen, next to its number (and in the plan's message).
  function refuse(name, reason) {
    const slot = document.querySelector(`#layout-editor .move-error[data-error-for="${CSS.escape(name)}"]`);
    if (slot) slot.textContent = reason;
    $("#plan-message").textContent = "";
  }

  // Apply `changes` ({rails} / {slot} / {parent, slot}) to `name` and plan again; back to where it
  // was if the planner refuses it, with its reason at the item.
  async function moveTo(name, changes) {
    const placement = layout.placements.find((p) => p.name === name);
    const before = Object.fromEntries(Object.keys(changes).map((key) => [key, placement[key]]));
    Object.assign(placement, changes);
    if (await replan()) return;
    const why = $("#plan-message").textContent.replace(/^\w*Error: /, "");
    Object.assign(placement, before);
    state.deckLayout = layout;
    await show(layout);
    refuse(name, why);
  }

  deckView.onMove = async (name, dx, dy) => {
    if (!layout) return;
    const move = await labwright.deck.move(layout, name, dx, dy);
    if (!move.moved) {
      refuse(name, move.reason);
      return;
    }
    await moveTo(name, { [move.field]: move.value, ...(move.parent ? { parent: move.parent } : {}) });
  };

  async function show(shown) {
    layout = shown ?? null;
    const editor = $("#layout-editor");
    editor.replaceChildren();
    deckView.movable.clear();
    if (!layout) return;
    for (const position of await labwright.deck.positions(layout)) {
      const { placement: name, field, parent } = position;
      const input = h("input", { type: "number", min: field === "slot" && parent ? 0 : 1, value: position.value, "data-placement": name,
        "aria-label": `${name}: ${field === "rails" ? "rail" : parent ? `site of ${parent}` : "slot"}`,
        onchange: () => moveTo(name, { [field]: parseInt(input.value, 10) }) });
      const where = field === "rails" ? "on rail" : parent ? `on ${parent}, site` : "in slot";
      editor.append(h("div", { class: "layout-row" },
        h("label", {}, `${name} (${String(position.resource).split(".").pop()}) ${where} `, input),
        h("span", { class: "move-error", "data-error-for": name, role: "alert" })));
      if (position.draggable) deckView.movable.add(name);
    }
  }

  return { show };
}
