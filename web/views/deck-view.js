// The deck drawn from above from PLR's own serialize() tree; tip and volume state is
// applied as run events arrive. Wells fill with their volume, tip spots show a tip or not,
// and labware whose contents are unknown (tracking off) is drawn hatched with a "?".
import { svg as el } from "./dom.js";

export class DeckView {
  constructor(container) {
    this.container = container;
    this.items = new Map(); // resource name -> {shape, kind, maxVolume}
    this.svg = null;
    // Placements whose names are here (on the deck, or on a carrier's site) can be dragged; on drop,
    // onMove(name, dx, dy) gets the move in millimetres in PLR's frame (y to the back).
    this.movable = new Set();
    this.onMove = null;
  }

  // deck: PLR Deck.serialize(); state: {name: serialize_state()}; untracked: [names]; key: what it
  // is (a plan's id): the same key drawn and unchanged since is not drawn again (a run of the plan
  // shown starts from the drawing it has; a whole deck is thousands of shapes).
  // Drawn when its tab is on show (or `flush()` asks): thousands of shapes nobody looks at on
  // the main thread would be the plan's longest task; states that come meanwhile are kept.
  render(deck, state = {}, untracked = [], key = null) {
    if (key !== null && key === this.key && !this.changed && (this.svg?.isConnected || this.pending)) return;
    this.key = key;
    this.changed = false;
    this.pending = { deck, state: { ...state }, untracked };
    if (this.container.offsetParent !== null) this.flush();
  }

  // Nothing to draw (a protocol without a deck): whatever the container shows next is the caller's.
  clear() {
    this.pending = null;
    this.key = null;
    this.svg = null;
    this.items.clear();
  }

  // Draw what `render` was given, if not drawn yet.
  flush() {
    if (!this.pending) return;
    const { deck, state, untracked } = this.pending;
    this.pending = null;
    this.draw(deck, state, untracked);
  }

  draw(deck, state, untracked) {
    this.items.clear();
    const height = deck.size_y;
    const svg = el("svg", { viewBox: `-70 -10 ${deck.size_x + 140} ${deck.size_y + 20}`, class: "deck-view", role: "img" });
    const defs = el("defs");
    svg.append(defs);
    defs.innerHTML =
      '<pattern id="unknown-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<line x1="0" y1="0" x2="0" y2="4" stroke="#a0aec0" stroke-width="1.5"/></pattern>';
    svg.append(el("rect", { x: 0, y: 0, width: deck.size_x, height: deck.size_y, class: "deck" }));
    const unknown = new Set(untracked);
    const draw = (node, ox, oy, inUnknown, into = svg) => {
      const x = ox + (node.location?.x ?? 0);
      const y = oy + (node.location?.y ?? 0);
      const isUnknown = inUnknown || unknown.has(node.name);
      const top = height - y - node.size_y; // PLR's y grows to the back, SVG's downwards
      const kind = node.type === "Well" || node.category === "well" ? "well" : node.type === "TipSpot" ? "tip_spot" : "resource";
      if (node !== deck) {
        let shape;
        if (kind === "resource") {
          shape = el("rect", { x, y: top, width: node.size_x, height: node.size_y, class: `resource ${node.category ?? ""}` });
        } else {
          shape = el("ellipse", { cx: x + node.size_x / 2, cy: top + node.size_y / 2, rx: node.size_x / 2, ry: node.size_y / 2, class: kind });
        }
        if (isUnknown && kind !== "resource") shape.classList.add("unknown");
        shape.dataset.name = node.name;
        const title = el("title");
        title.textContent = node.name;
        shape.append(title);
        into.append(shape);
        this.items.set(node.name, { shape, kind, maxVolume: node.max_volume ?? null, unknown: isUnknown });
        if (isUnknown && kind === "resource" && ["plate", "tip_rack", "trough", "tube_rack"].includes(node.category)) {
          const mark = el("text", { x: x + node.size_x / 2, y: top + node.size_y / 2, class: "unknown-mark" });
          mark.textContent = "?";
          into.append(mark);
        }
      }
      for (const child of node.children ?? []) {
        let target = into;
        if (node === deck || this.movable.has(child.name)) {
          // Each placement on the deck, and each movable one on a carrier's site, is one group,
          // so it can be dragged as a whole.
          target = el("g", { class: "placement" });
          target.dataset.placement = child.name;
          (node === deck ? svg : into).append(target);
          if (this.movable.has(child.name)) this.makeDraggable(target, child.name);
        }
        draw(child, node === deck ? 0 : x, node === deck ? 0 : y, isUnknown, target);
      }
    };
    draw(deck, 0, 0, false);
    this.container.replaceChildren(svg);
    this.svg = svg;
    for (const [name, resourceState] of Object.entries(state)) this.update(name, resourceState);
  }

  makeDraggable(group, name) {
    group.classList.add("movable");
    group.addEventListener("pointerdown", (down) => {
      down.preventDefault();
      down.stopPropagation(); // a plate on a carrier moves alone, not with its carrier
      const toDeck = group.ownerSVGElement.getScreenCTM().inverse();
      const point = (event) => new DOMPoint(event.clientX, event.clientY).matrixTransform(toDeck);
      const start = point(down);
      let dx = 0;
      let dy = 0;
      group.setPointerCapture(down.pointerId);
      group.classList.add("dragging");
      const move = (event) => {
        const here = point(event);
        dx = here.x - start.x;
        dy = here.y - start.y;
        group.setAttribute("transform", `translate(${dx} ${dy})`);
      };
      const up = () => {
        group.removeEventListener("pointermove", move);
        group.classList.remove("dragging");
        group.removeAttribute("transform");
        if (this.onMove && (Math.abs(dx) > 1 || Math.abs(dy) > 1)) this.onMove(name, dx, -dy);
      };
      group.addEventListener("pointermove", move);
      group.addEventListener("pointerup", up, { once: true });
      group.addEventListener("pointercancel", up, { once: true });
    });
  }

  update(name, resourceState) {
    this.changed = true;
    if (this.pending) {
      this.pending.state[name] = { ...(this.pending.state[name] ?? {}), ...resourceState };
      return;
    }
    const item = this.items.get(name);
    if (!item || item.unknown) return;
    if (item.kind === "tip_spot") {
      const hasTip = Boolean(resourceState.tip);
      item.shape.classList.toggle("has-tip", hasTip);
      item.shape.dataset.tip = hasTip ? "1" : "0";
    } else if (item.kind === "well" && resourceState.volume !== undefined) {
      const max = Number(resourceState.max_volume ?? item.maxVolume ?? 0) || 1;
      const fraction = Math.max(0, Math.min(1, Number(resourceState.volume) / max));
      item.shape.style.fill = `rgba(49, 130, 206, ${0.1 + 0.85 * fraction})`;
      item.shape.dataset.volume = String(resourceState.volume);
    }
  }
}
