// The workbench's files: the user's protocol files (the page's library: new, upload, open,
// rename, duplicate, download, delete), the demo protocols (opened as the user's own copy, the
// demo itself never changes) and saved plans. Opening a file puts it in the editor.
import { $, download, h } from "../dom.js";
import { demoProtocols, demoSource } from "../demo-protocols.js";

const LAST_FILE = "labwright.lastFile";

export function initFiles(wb) {
  const { labwright, state } = wb;
  let files = [];

  async function refresh() {
    files = await labwright.library.files();
    $("#file-list").replaceChildren(...(files.length ? files.map((file) =>
      h("li", { "data-file-id": String(file.id), "aria-current": String(file.id === state.fileId) },
        h("button", { type: "button", title: `${file.name} — ${file.origin}, changed ${file.updated_at.slice(0, 16).replace("T", " ")}`,
          onclick: () => open(file.id) }, file.name))) : [h("li", {}, h("small", {}, "No files yet: start a new one, upload one or open a demo."))]));
  }

  // The file in the editor, and remembered for the next load.
  async function open(fileId, options = {}) {
    const file = await labwright.library.open(fileId);
    localStorage.setItem(LAST_FILE, String(file.id));
    await wb.editor.open(file, options);
    await refresh();
    return file;
  }

  async function create(name, source, origin) {
    const file = await labwright.library.create(name, source, origin);
    return open(file.id);
  }

  demoProtocols().then((protocols) => {
    $("#protocol-list").replaceChildren(...protocols.map((entry) =>
      h("li", {}, h("button", { type: "button", "data-file": entry.file, onclick: () => openDemo(entry) }, entry.title),
        h("small", {}, ` ${entry.shows}`))));
  });

  async function openDemo(entry) {
    const copy = await labwright.library.copyDemo(entry.file, await demoSource(entry));
    return open(copy.id);
  }

  $("#new-file").addEventListener("click", () => create("untitled.py", NEW_FILE, "new"));
  $("#protocol-upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await create(file.name, await file.text(), "upload");
  });

  // The open file's own actions (the editor panel's toolbar).
  $("#file-rename").addEventListener("click", async () => {
    const name = prompt("New name for this protocol file", state.filename);
    if (!name || name === state.filename) return;
    try {
      await labwright.library.rename(state.fileId, name);
      await open(state.fileId);
    } catch (err) {
      wb.editor.say(err.pythonMessage ?? err.message, true);
    }
  });
  $("#file-duplicate").addEventListener("click", async () => {
    await wb.editor.flush();
    const copy = await labwright.library.duplicate(state.fileId);
    await open(copy.id);
  });
  $("#file-download").addEventListener("click", () =>
    download(state.filename, new Blob([wb.editor.text], { type: "text/x-python" })));
  $("#file-delete").addEventListener("click", async () => {
    if (!confirm(`Delete ${state.filename} and its saved versions? This cannot be undone.`)) return;
    await labwright.library.delete(state.fileId);
    localStorage.removeItem(LAST_FILE);
    state.fileId = null;
    wb.editor.close();
    await refresh();
  });

  async function showSavedPlans() {
    const plans = await labwright.data.plans();
    $("#saved-plans").replaceChildren(...plans.map((saved) =>
      h("li", {}, h("button", { type: "button", onclick: () => reopenPlan(saved) }, saved.name), h("small", {}, ` ${saved.saved_at}`))));
  }

  // A saved plan: its protocol (as a file of its own, if it is not one yet), values and deck.
  async function reopenPlan(saved) {
    const existing = files.find((file) => file.name === saved.filename);
    const file = existing && (await labwright.library.open(existing.id)).source === saved.source
      ? await open(existing.id)
      : await create(saved.filename, saved.source, "paste");
    state.deckLayout = saved.options.deck;
    state.chosen = { ...(saved.options.chosen ?? {}) };
    wb.analysis.setValues(saved.options.parameters ?? {});
    await wb.plan.plan();
    return file;
  }

  // After a reload: the file that was open, or nothing.
  async function restore() {
    await refresh();
    const last = Number(localStorage.getItem(LAST_FILE));
    if (last && files.some((file) => file.id === last)) await open(last, { later: true });
  }

  return { refresh, open, openDemo, create, showSavedPlans, restore };
}

const NEW_FILE = `"""A new protocol."""

from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack

from browser_runtime.protocols import protocol_function


@protocol_function(name="New protocol", version="0.1.0")
async def new_protocol(lh: LiquidHandler, tips: TipRack, plate: Plate, volume: float = 50.0):
    await lh.pick_up_tips(tips["A1"])
    await lh.aspirate(plate["A1"], vols=[volume])
    await lh.dispense(plate["B1"], vols=[volume])
    await lh.drop_tips(tips["A1"])
`;
