// The workbench's data panel: the page's database exported as a SQLite file, imported (checked
// whole, the database it replaced kept), and the last import undone.
import { $, download } from "../dom.js";

const MESSAGE_KEY = "labwright.dataMessage"; // what to tell the user after the reload an import makes

export function initDataPanel(labwright) {
  const message = $("#data-message");

  $("#export-db").addEventListener("click", async () => {
    const exported = await labwright.data.export();
    const bytes = Uint8Array.from(atob(exported.base64), (c) => c.charCodeAt(0));
    download(exported.filename, new Blob([bytes], { type: "application/vnd.sqlite3" }));
  });
  $("#import-db").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    try {
      const imported = await labwright.data.import(btoa(binary));
      const migrated = imported.migrated.length ? ` (brought up to date: ${imported.migrated.join(", ")})` : "";
      sessionStorage.setItem(MESSAGE_KEY, `Imported ${file.name}${migrated}. The database it replaced is kept: "Undo the last import" brings it back.`);
      location.reload(); // everything on the page is drawn from the new data
    } catch (err) {
      message.textContent = `${file.name} was not imported, nothing changed: ${err.pythonMessage ?? err.message}`;
      message.className = "bad";
    }
    event.target.value = "";
  });
  $("#undo-import").addEventListener("click", async () => {
    try {
      await labwright.data.undoImport();
      sessionStorage.setItem(MESSAGE_KEY, "The import was undone: the database from before it is back.");
      location.reload();
    } catch (err) {
      message.textContent = err.pythonMessage ?? err.message;
      message.className = "bad";
    }
  });
  const told = sessionStorage.getItem(MESSAGE_KEY);
  if (told) {
    sessionStorage.removeItem(MESSAGE_KEY);
    message.textContent = told;
  }
  labwright.data.canUndoImport().then((can) => ($("#undo-import").hidden = !can));
}
