// The page's layout: panes resized with the splitters between them (mouse or arrow keys,
// remembered), and tab lists that show one panel of several.
const SIZES = "labwright.paneSizes";

// Each `.splitter[data-pane=id]` resizes the pane before it (a CSS variable on the grid).
export function initSplitters(grid) {
  const sizes = JSON.parse(localStorage.getItem(SIZES) ?? "{}");
  const variable = (pane) => `--w-${pane.replace(/-(panel|column)$/, "")}`;
  for (const [pane, width] of Object.entries(sizes)) grid.style.setProperty(variable(pane), `${width}px`);
  const set = (pane, width) => {
    const clamped = Math.max(140, Math.min(width, grid.clientWidth - 400));
    grid.style.setProperty(variable(pane), `${Math.round(clamped)}px`);
    sizes[pane] = Math.round(clamped);
    localStorage.setItem(SIZES, JSON.stringify(sizes));
  };
  for (const splitter of grid.querySelectorAll(".splitter[data-pane]")) {
    const pane = document.getElementById(splitter.dataset.pane);
    splitter.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      splitter.setPointerCapture(event.pointerId);
      const startX = event.clientX;
      const startWidth = pane.getBoundingClientRect().width;
      const move = (moved) => set(splitter.dataset.pane, startWidth + moved.clientX - startX);
      const up = () => {
        splitter.removeEventListener("pointermove", move);
        splitter.removeEventListener("pointerup", up);
      };
      splitter.addEventListener("pointermove", move);
      splitter.addEventListener("pointerup", up);
    });
    splitter.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowLeft" ? -24 : event.key === "ArrowRight" ? 24 : 0;
      if (!step) return;
      event.preventDefault();
      set(splitter.dataset.pane, pane.getBoundingClientRect().width + step);
    });
  }
}

// A tab list: `buttons` with aria-selected; `show(button)` shows its panel and hides the others.
export function initTabs(buttons, panelOf, { shownClass = null } = {}) {
  const select = (chosen) => {
    for (const button of buttons) {
      const selected = button === chosen;
      button.setAttribute("aria-selected", String(selected));
      const panel = panelOf(button);
      if (!panel) continue;
      if (shownClass) panel.classList.toggle(shownClass, selected);
      else panel.hidden = !selected;
    }
  };
  for (const button of buttons) button.addEventListener("click", () => select(button));
  return select;
}
