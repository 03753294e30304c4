// The workbench's REPL: the same browser_runtime.repl as the bridge server's, with the last run's
// machines and deck in scope. Its input is an editor of its own: Jedi completion in a popup the
// arrow keys move through (Tab or Enter takes it), signatures as you type, Ctrl+Enter runs,
// Alt+Up / Alt+Down walk the history.
import { $, h } from "../dom.js";
import { ProtocolEditor } from "../editor.js";

export function initRepl(labwright) {
  const output = $("#repl-output");
  const history = [];
  let historyIndex = 0;

  const input = new ProtocolEditor($("#repl-editor"), labwright, {
    label: "REPL input",
    gutters: false,
    providers: {
      complete: (code, line, column) => labwright.repl.complete(code, line, column),
      signatures: (code, line, column) => labwright.repl.signatures(code, line, column),
    },
    keys: [
      { key: "Mod-Enter", run: () => (run(), true) },
      { key: "Shift-Enter", run: () => (run(), true) },
      { key: "Alt-ArrowUp", run: () => walk(-1) },
      { key: "Alt-ArrowDown", run: () => walk(1) },
    ],
  });

  labwright.repl.onOutput(({ stream, text }) => output.append(h("span", { class: stream }, text)));

  function walk(step) {
    const next = historyIndex + step;
    if (next < 0 || next > history.length) return true;
    historyIndex = next;
    input.setText(history[historyIndex] ?? "");
    return true;
  }

  async function run() {
    const code = input.text;
    if (!code.trim()) return;
    history.push(code);
    historyIndex = history.length;
    output.append(h("div", { class: "prompt" }, code));
    input.setText("");
    $("#repl-interrupt").disabled = false;
    try {
      const result = await labwright.repl.execute(code);
      if (result.result !== null) output.append(h("div", { class: "result" }, result.result));
      if (result.error) output.append(h("div", { class: "error" }, result.error.traceback));
    } catch (err) {
      output.append(h("div", { class: "error" }, err.traceback ?? err.message)); // never a silent input
    } finally {
      $("#repl-interrupt").disabled = true;
      output.scrollTop = output.scrollHeight;
      input.focus();
    }
  }

  $("#repl-run").addEventListener("click", run);
  $("#repl-interrupt").addEventListener("click", () => labwright.repl.interrupt());
  return { run, input };
}

// The deck in the console's scope, drawn as console inputs change it (the worker follows it with
// PLR's own callbacks and sends PLR's visualizer events; a deck built in the console comes whole).
export function followConsoleDeck(wb) {
  wb.labwright.repl.onDeck(async ({ event, data }) => {
    if (event === "show") {
      $("#deck-panel").hidden = false;
      $("#deck-tab-plr").click();
      await wb.plrDeck.show(data.resource, data.state ?? {});
    } else if (event === "set_state") {
      for (const [resource, state] of Object.entries(data)) wb.plrDeck.update(resource, state);
    } else {
      wb.plrDeck.event(event, data);
    }
  });
}
