// The workbench's editor panel: the open protocol file in the editor, saved as it is typed (every
// keystroke goes to this browser's storage at once and to the page's database a moment later, so
// a reload or crash loses nothing), its problems listed and underlined, its versions (save,
// compare, restore) and, for a plain PLR script, the change that makes it a @protocol_function.
import { $, h } from "../dom.js";
import { ProtocolEditor } from "../editor.js";

const SAVE_AFTER_MS = 250;
const ANALYSE_AFTER_MS = 500;
const draftKey = (fileId) => `labwright.draft.${fileId}`;

export function initEditorPanel(wb) {
  const { labwright, state } = wb;
  let saveTimer = null;
  let analyseTimer = null;
  let dirty = false;
  let saving = Promise.resolve();

  const editor = new ProtocolEditor($("#editor"), labwright, {
    onChange: changed,
    onDiagnostics: showProblems,
    filename: () => state.filename,
  });

  function say(text, bad = false) {
    const status = $("#save-state");
    status.textContent = text;
    status.className = bad ? "bad" : "";
  }

  function changed(text) {
    if (state.fileId === null || state.fileId === undefined) return;
    state.source = text;
    dirty = true;
    // Synchronously kept in this browser first: a crash before the database save loses nothing.
    localStorage.setItem(draftKey(state.fileId), JSON.stringify({ source: text, revision: state.revision }));
    say("editing…");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(flush, SAVE_AFTER_MS);
    clearTimeout(analyseTimer);
    analyseTimer = setTimeout(() => wb.analysis.use(text, state.filename, { keepForm: true }), ANALYSE_AFTER_MS);
    editor.markLine(null);
    wb.plan.markStale("the protocol's text changed since this plan was made");
  }

  // Save the draft to the page's database now (what the editor shows is what is stored).
  function flush() {
    clearTimeout(saveTimer);
    saving = saving.then(async () => {
      if (!dirty || state.fileId === null || state.fileId === undefined) return;
      dirty = false;
      const fileId = state.fileId;
      const source = editor.text;
      try {
        const saved = await labwright.library.saveDraft(fileId, source, state.revision);
        if (fileId !== state.fileId) return;
        state.revision = saved.revision;
        if (editor.text === source) localStorage.removeItem(draftKey(fileId));
        say(`saved ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`);
      } catch (err) {
        dirty = true;
        say(`not saved: ${err.pythonMessage ?? err.message}`, true);
      }
    });
    return saving;
  }
  window.addEventListener("pagehide", () => flush());

  // Open `file` in the editor; its analysis follows (awaited, unless `later`: a file restored at
  // start-up is there to read and type in at once, its analysis comes after).
  async function open(file, { later = false } = {}) {
    await flush();
    state.fileId = file.id;
    state.filename = file.name;
    state.revision = file.revision;
    let source = file.source;
    // Typed in this browser but not in the database yet (the page went away first): keep it.
    const kept = JSON.parse(localStorage.getItem(draftKey(file.id)) ?? "null");
    if (kept && kept.revision === file.revision && kept.source !== file.source) {
      source = kept.source;
      dirty = true;
    } else {
      localStorage.removeItem(draftKey(file.id));
      dirty = false;
    }
    state.source = source;
    editor.setText(source);
    $("#protocol-name").textContent = file.name;
    for (const id of ["file-rename", "file-duplicate", "file-download", "file-delete", "save-version", "show-versions"]) {
      $(`#${id}`).disabled = false;
    }
    $("#versions-box").hidden = true;
    $("#show-versions").setAttribute("aria-expanded", "false");
    say(dirty ? "restored what was typed before the page closed" : "saved");
    if (dirty) flush();
    const analysed = wb.analysis.use(source, file.name);
    if (!later) await analysed;
  }

  function close() {
    state.fileId = null;
    state.source = "";
    editor.setText("");
    $("#protocol-name").textContent = "No protocol yet";
    for (const id of ["file-rename", "file-duplicate", "file-download", "file-delete", "save-version", "show-versions"]) {
      $(`#${id}`).disabled = true;
    }
    showProblems([]);
    wb.analysis.clear();
  }

  // ---- problems -----------------------------------------------------------------------------
  function showProblems(diagnostics) {
    $("#problem-count").textContent = String(diagnostics.length);
    $("#problem-list").replaceChildren(...diagnostics.map((d) =>
      h("li", { class: d.severity, "data-line": String(d.line), onclick: () => editor.goTo(d.line, d.column) },
        h("span", { class: "where" }, `${d.line}:${d.column + 1}`), d.message, h("small", {}, ` (${d.source})`))));
  }

  // ---- versions -----------------------------------------------------------------------------
  $("#save-version").addEventListener("click", async () => {
    await flush();
    const label = prompt("A label for this version (optional)") ?? null;
    const saved = await labwright.library.saveVersion(state.fileId, label || null);
    say(saved.new ? `saved as version ${saved.number}` : `unchanged since version ${saved.number}`);
    if (!$("#versions-box").hidden) await showVersions();
  });

  $("#show-versions").addEventListener("click", async () => {
    const box = $("#versions-box");
    if (!box.hidden) {
      box.hidden = true;
      $("#show-versions").setAttribute("aria-expanded", "false");
      return;
    }
    await flush();
    await showVersions();
  });

  async function showVersions() {
    const box = $("#versions-box");
    const versions = await labwright.library.versions(state.fileId);
    box.hidden = false;
    $("#show-versions").setAttribute("aria-expanded", "true");
    const diffView = h("pre", { class: "diff", hidden: true });
    box.replaceChildren(
      versions.length ? h("ul", {}, ...versions.map((v) => h("li", { "data-version": String(v.number) },
        h("b", {}, `v${v.number}`), ` ${v.label ?? ""} `, h("small", {}, v.saved_at.slice(0, 16).replace("T", " ")), " ",
        h("button", { type: "button", class: "diff-button", onclick: async () => showDiff(diffView, await labwright.library.diff(state.fileId, v.number)) }, "compare with now"), " ",
        h("button", { type: "button", onclick: () => restore(v.number) }, "restore"))))
        : h("p", {}, "No saved versions yet: “Save version” keeps the text as it is now."),
      diffView);
  }

  async function restore(number) {
    await flush();
    const restored = await labwright.library.restore(state.fileId, number);
    const file = await labwright.library.open(state.fileId);
    await open(file);
    say(`version ${restored.restored} restored; the text it replaced is version ${restored.kept_draft_as}`);
  }

  function showDiff(view, diff) {
    view.hidden = false;
    view.replaceChildren(...(diff ? diff.split("\n") : ["(no differences)"]).map((line) =>
      h("span", { class: line.startsWith("@@") ? "hunk" : line.startsWith("+") && !line.startsWith("+++") ? "add"
        : line.startsWith("-") && !line.startsWith("---") ? "del" : "" }, `${line}\n`)));
  }

  // ---- a plain script made a protocol ----------------------------------------------------------
  $("#to-protocol").addEventListener("click", async () => {
    let made;
    try {
      made = await labwright.protocols.toProtocol(editor.text, state.filename);
    } catch (err) {
      say(err.pythonMessage ?? err.message, true);
      return;
    }
    const view = h("pre", { class: "diff" });
    showDiff(view, made.diff);
    const dialog = h("dialog", { class: "codemod", "aria-label": "Make it a protocol" },
      h("h3", {}, "Make this script a @protocol_function"),
      h("p", {}, `Its machines and labware become the parameters of ${made.function}(${made.parameters.map((p) => `${p.name}: ${p.annotation}`).join(", ")}); `
        + "building them, setup()/stop() and placing things on the deck are left to the plan and the runner."),
      view,
      h("form", { method: "dialog" },
        h("button", { value: "apply", id: "to-protocol-apply" }, "Apply"), " ", h("button", { value: "cancel" }, "Cancel")));
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "apply") editor.replaceText(made.source); // an edit: undo brings the script back
      dialog.remove();
    });
    dialog.showModal();
  });

  return {
    open,
    close,
    flush,
    say,
    get text() { return editor.text; },
    markLine: (line, kind) => editor.markLine(line, kind),
    goTo: (line, column) => editor.goTo(line, column),
    editor,
  };
}
