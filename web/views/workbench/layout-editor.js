// The workbench's deck layout editor: placements on a numbered position (rails, slots) can be
// moved by typing the number or by dragging them on the drawn deck. Python says which can be
// dragged and where a drag lands (area `deck`); every change is planned (validated) again at once,
// and a move the deck refuses (overlap, off the deck) is undone with the reason shown.
import { $, h } from "../dom.js";

export function initLayoutEditor(wb) {
  const { labwright, state, deckView } = wb;
  let layout = null; // the plan's deck layout, edited in place

  async function replan() {
    state.deckLayout = layout;
    return wb.plan.plan();
  }

  // Move `name` to `value` on its `field` and plan again; back to where it was if that fails.
  async function moveTo(name, field, value) {
    const placement = layout.placements.find((p) => p.name === name);
    const before = placement[field];
    placement[field] = value;
    if (!(await replan())) placement[field] = before;
  }

  deckView.onMove = async (name, dx, dy) => {
    if (!layout) return;
    const move = await labwright.deck.move(layout, name, dx, dy);
    if (!move.moved) {
      $("#plan-message").textContent = move.reason;
      $("#plan-message").className = "";
      return;
    }
    await moveTo(name, move.field, move.value);
  };

  async function show(shown) {
    layout = shown ?? null;
    const editor = $("#layout-editor");
    editor.replaceChildren();
    deckView.movable.clear();
    if (!layout) return;
    for (const position of await labwright.deck.positions(layout)) {
      const { placement: name, field } = position;
      const input = h("input", { type: "number", min: 1, value: position.value, "data-placement": name,
        onchange: async () => {
          layout.placements.find((p) => p.name === name)[field] = parseInt(input.value, 10);
          await replan();
        } });
      editor.append(h("label", {}, `${name} (${String(position.resource).split(".").pop()}) on ${field === "rails" ? "rail" : "slot"} `, input));
      if (position.draggable) deckView.movable.add(name);
    }
  }

  return { show };
}
