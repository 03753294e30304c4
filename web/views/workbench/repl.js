// The workbench's REPL: the same browser_runtime.repl as the bridge server's, with the last run's
// machines and deck in scope; Ctrl+Enter runs, Tab completes (Jedi), signatures as you type.
import { $, h } from "../dom.js";

export function initRepl(labwright) {
  const input = $("#repl-input");
  const output = $("#repl-output");
  const completions = $("#repl-completions");
  const signature = $("#repl-signature");
  const history = [];
  let historyIndex = 0;
  let pending = null;

  labwright.repl.onOutput(({ stream, text }) => output.append(h("span", { class: stream }, text)));

  async function run() {
    const code = input.value;
    if (!code.trim()) return;
    history.push(code);
    historyIndex = history.length;
    output.append(h("div", { class: "prompt" }, code));
    input.value = "";
    completions.replaceChildren();
    $("#repl-interrupt").disabled = false;
    try {
      const result = await labwright.repl.execute(code);
      if (result.result !== null) output.append(h("div", { class: "result" }, result.result));
      if (result.error) output.append(h("div", { class: "error" }, result.error.traceback));
    } finally {
      $("#repl-interrupt").disabled = true;
      output.scrollTop = output.scrollHeight;
    }
  }

  async function complete() {
    const code = input.value.slice(0, input.selectionStart);
    const lines = code.split("\n");
    const line = lines.length;
    const column = lines[lines.length - 1].length;
    const ticket = (pending = {});
    const [found, signatures] = await Promise.all([
      labwright.repl.complete(input.value, line, column),
      labwright.repl.signatures(input.value, line, column),
    ]);
    if (ticket !== pending) return;
    completions.replaceChildren(...found.slice(0, 50).map((c) =>
      h("li", { "data-name": c.name, onclick: () => insert(c.complete) }, c.name, h("small", {}, ` ${c.type}`))));
    signature.textContent = signatures.length ? `${signatures[0].name}(${signatures[0].params.join(", ")})` : "";
  }

  function insert(text) {
    const at = input.selectionStart;
    input.value = input.value.slice(0, at) + text + input.value.slice(at);
    input.selectionStart = input.selectionEnd = at + text.length;
    input.focus();
    complete();
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.shiftKey || event.metaKey)) {
      event.preventDefault();
      run();
    } else if (event.key === "Tab") {
      event.preventDefault();
      const first = completions.firstElementChild;
      if (first) insert(completionsText(first));
      else complete();
    } else if (event.key === "ArrowUp" && event.altKey && historyIndex > 0) {
      input.value = history[--historyIndex];
    } else if (event.key === "ArrowDown" && event.altKey && historyIndex < history.length) {
      input.value = history[++historyIndex] ?? "";
    }
  });
  input.addEventListener("input", () => {
    const last = input.value.slice(0, input.selectionStart).slice(-1);
    if (/[\w.(]/.test(last)) complete();
  });
  $("#repl-run").addEventListener("click", run);
  $("#repl-interrupt").addEventListener("click", () => labwright.repl.interrupt());

  function completionsText(item) {
    // The part still to type: the completion's name minus what is already typed after the dot.
    const typed = input.value.slice(0, input.selectionStart).match(/[\w]*$/)[0];
    return item.dataset.name.slice(typed.length);
  }
}
