// The workbench: pick or upload a protocol, see what it needs, plan it (machines, deck,
// consumables), run it in simulation on a live deck or on the devices of "Connect a device",
// reopen past runs, poke at the REPL. All lab logic runs in the worker; this module only
// presents it.
import { DeckView } from "./deck-view.js";
import { $, h } from "./dom.js";

export function initWorkbench(labwright, picker = null) {
  // devices: machine parameter -> the picker's device that drives it in a hardware run
  const state = { source: "", filename: "protocol.py", analysis: null, protocol: null, plan: null, runId: null, devices: {}, backends: null };
  const root = $("#workbench");
  root.hidden = false;
  const deckView = new DeckView($("#deck-view"));

  // ---- protocol library -----------------------------------------------------------------
  fetch(new URL("./protocols/index.json", import.meta.url))
    .then((response) => response.json())
    .then(({ protocols }) => {
      $("#protocol-list").replaceChildren(
        ...protocols.map((entry) =>
          h("li", {}, h("button", { type: "button", "data-file": entry.file, onclick: () => loadDemo(entry) }, entry.title),
            h("small", {}, ` ${entry.shows}`)),
        ),
      );
    });

  async function loadDemo(entry) {
    const response = await fetch(new URL(`./protocols/${entry.file}`, import.meta.url));
    await useSource(await response.text(), entry.file);
  }

  $("#protocol-upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) await useSource(await file.text(), file.name);
    event.target.value = "";
  });
  $("#protocol-paste-use").addEventListener("click", () => useSource($("#protocol-paste").value, "pasted.py"));

  async function useSource(source, filename) {
    state.source = source;
    state.filename = filename;
    state.plan = null;
    state.devices = {};
    state.backends = null;
    state.deckLayout = null;
    $("#protocol-name").textContent = filename;
    $("#plan-panel").hidden = true;
    const analysis = await labwright.analyze(source, filename);
    state.analysis = analysis;
    showSource(source, analysis.errors);
    showAnalysis(analysis);
  }

  function showSource(source, errors) {
    const bad = new Map(errors.filter((e) => e.line).map((e) => [e.line, e]));
    $("#source-view").replaceChildren(
      ...source.split("\n").map((text, index) => {
        const error = bad.get(index + 1);
        const line = h("div", { class: error ? "line error" : "line", "data-line": index + 1 }, h("span", { class: "no" }, String(index + 1)), text || " ");
        if (error) line.title = error.message;
        return line;
      }),
    );
  }

  function showAnalysis(analysis) {
    const box = $("#analysis");
    box.replaceChildren();
    for (const error of analysis.errors) {
      box.append(h("p", { class: "analysis-error" }, `line ${error.line ?? "?"}, column ${error.column ?? "?"}: ${error.message}`));
    }
    if (!analysis.protocols.length) {
      box.append(h("p", {}, "No @protocol_function found."));
      return;
    }
    const select = h("select", { id: "protocol-function", onchange: () => showProtocol(analysis.protocols[select.selectedIndex]) },
      ...analysis.protocols.map((p) => h("option", { value: p.function }, `${p.name} (${p.function})`)));
    box.append(h("label", {}, "Protocol ", select), h("div", { id: "protocol-detail" }));
    showProtocol(analysis.protocols[0]);
  }

  function showProtocol(protocol) {
    state.protocol = protocol;
    const detail = $("#protocol-detail");
    const machines = protocol.requirements.machines.map((m) =>
      h("li", {}, h("b", {}, m.parameter), `: ${m.machine_kind}`, m.capabilities.length ? ` — needs ${m.capabilities.join(", ")}` : ""));
    const resources = protocol.requirements.resources.map((r) =>
      h("li", {}, h("b", {}, r.parameter ?? r.name ?? "(created)"), `: ${r.category ?? "resource"} (${r.type.split(".").pop()})`));
    const form = h("form", { id: "parameter-form", onsubmit: (event) => { event.preventDefault(); plan(); } });
    for (const parameter of protocol.parameters) {
      if (parameter.kind !== "value") continue;
      const meta = protocol.param_metadata?.[parameter.name] ?? {};
      const limits = meta.constraints ?? {};
      const numeric = ["int", "float"].includes((parameter.annotation ?? "").trim());
      const input = Array.isArray(limits.choices) && limits.choices.length
        ? h("select", { name: parameter.name, "data-type": (parameter.annotation ?? "").trim() },
          ...limits.choices.map((choice) => h("option", { value: String(choice) }, String(choice))))
        : h("input", {
          name: parameter.name,
          type: numeric ? "number" : parameter.annotation === "bool" ? "checkbox" : "text",
          step: parameter.annotation === "int" ? "1" : "any",
          min: limits.min, max: limits.max,
          value: parameter.default ?? "",
          required: !parameter.has_default && !parameter.optional,
          "data-type": (parameter.annotation ?? "").trim(),
        });
      if (input.tagName === "SELECT" && parameter.default !== null) input.value = String(parameter.default);
      if (parameter.annotation === "bool" && parameter.default) input.checked = true;
      const range = [limits.min !== undefined ? `≥ ${limits.min}` : null, limits.max !== undefined ? `≤ ${limits.max}` : null].filter(Boolean).join(", ");
      form.append(h("label", { class: "parameter" }, h("span", {}, parameter.name), input,
        h("small", {}, [parameter.annotation, range, meta.description].filter(Boolean).join(" — ")),
        h("small", { class: "field-error", "data-error-for": parameter.name, role: "alert" })));
    }
    // Any change to a value makes the plan shown out of date: it must be planned again to run.
    form.addEventListener("input", () => markStale("a parameter changed since this plan was made"));
    form.append(h("button", { type: "submit", id: "plan-button" }, "Plan"));
    detail.replaceChildren(
      h("p", { class: "description" }, protocol.description ?? ""),
      h("h4", {}, "Machines"), h("ul", {}, machines.length ? machines : [h("li", {}, "none")]),
      h("h4", {}, "Labware"), h("ul", {}, resources.length ? resources : [h("li", {}, "none")]),
      h("h4", {}, "Parameters"), form,
    );
  }

  function parameterValues() {
    const values = {};
    for (const input of $("#parameter-form")?.querySelectorAll("input, select") ?? []) {
      const type = input.dataset.type;
      if (input.type === "checkbox") values[input.name] = input.checked;
      else if (input.value === "") continue;
      else if (type === "int") values[input.name] = parseInt(input.value, 10);
      else if (type === "float") values[input.name] = parseFloat(input.value);
      else values[input.name] = input.value;
    }
    return values;
  }

  // What a plan is made from; a run sends the same, so one that differs from its plan is refused.
  function options() {
    const hardware = state.backends !== null;
    return { function: state.protocol.function, parameters: parameterValues(), deck: state.deckLayout ?? null,
      filename: state.filename, simulate: !hardware, backends: hardware ? state.backends : null };
  }

  // ---- plan -----------------------------------------------------------------------------
  async function plan() {
    const message = $("#plan-message");
    message.textContent = "planning…";
    message.className = "";
    showFieldErrors([]);
    try {
      state.backends = await backendsForDevices();
      state.planOptions = options();
      state.plan = await labwright.plan(state.source, state.planOptions);
      state.deckLayout = state.plan.deck_layout;
      message.textContent = "";
      showPlan(state.plan);
      return true;
    } catch (err) {
      message.textContent = err.message;
      message.className = "bad";
      showFieldErrors(err.problems ?? []);
      return false;
    }
  }

  // A problem with a value shows at its field, as well as in the plan's message.
  function showFieldErrors(problems) {
    for (const slot of root.querySelectorAll(".field-error")) slot.textContent = "";
    for (const field of root.querySelectorAll("#parameter-form [aria-invalid]")) field.removeAttribute("aria-invalid");
    for (const problem of problems) {
      const slot = problem.parameter && root.querySelector(`.field-error[data-error-for="${CSS.escape(problem.parameter)}"]`);
      if (!slot) continue;
      slot.textContent = problem.message;
      root.querySelector(`#parameter-form [name="${CSS.escape(problem.parameter)}"]`)?.setAttribute("aria-invalid", "true");
    }
  }

  // The plan shown no longer matches the form or the devices: say so, and run only after planning again.
  function markStale(why) {
    if (!state.plan || $("#plan-panel").hidden) return;
    state.plan = { ...state.plan, stale: true };
    $("#plan-panel").dataset.stale = "true";
    $("#run-button").disabled = true;
    $("#plan-stale").hidden = false;
    $("#plan-stale-reason").textContent = why;
  }

  // A machine on a device of 'Connect a device': every machine must have one (a run never mixes
  // simulated and real machines); {parameter: {backend, kwargs}} read by Python from the picker's settings.
  async function backendsForDevices() {
    const chosen = Object.entries(state.devices);
    if (!chosen.length) return null;
    const simulated = machineParameters().filter((name) => !state.devices[name]);
    if (simulated.length) throw new Error(`a run on devices needs a device for every machine: choose one for ${simulated.join(", ")}, or run in simulation`);
    const specs = await Promise.all(chosen.map(async ([parameter, name]) => [parameter, await picker.runSpec(name)]));
    return Object.fromEntries(specs);
  }

  function showPlan(plan) {
    $("#plan-panel").hidden = false;
    delete $("#plan-panel").dataset.stale;
    $("#plan-stale").hidden = true;
    $("#run-button").disabled = false;
    $("#plan-id").textContent = `plan ${plan.plan_id}`;
    const rows = Object.entries(plan.parameters).map(([name, entry]) =>
      h("tr", { "data-parameter": name },
        h("td", {}, name), h("td", {}, entry.kind),
        h("td", {}, entry.kind === "value" ? JSON.stringify(entry.value) : entry.asset ?? (entry.kind === "resource" ? "unknown contents" : "simulated")),
        h("td", {}, entry.kind === "machine" ? (entry.backend ?? "").split(".").pop()
          : entry.contents ? Object.entries(entry.contents).map(([k, v]) => `${k}: ${v}`).join(", ") : ""),
        h("td", { class: "reasons" }, (entry.reasons ?? []).join("; ")),
        h("td", {}, entry.kind === "machine" ? deviceChooser(name, entry.machine_kind) : "")));
    $("#plan-table").replaceChildren(h("tr", {}, ...["parameter", "kind", "resolved to", "details", "why", "runs on"].map((t) => h("th", {}, t))), ...rows);
    showRunMode();
    showLayoutEditor(plan.deck_layout); // first: it says which placements can be dragged
    if (plan.deck) deckView.render(plan.deck, plan.deck_state ?? {}, plan.untracked ?? []);
    else $("#deck-view").replaceChildren(h("p", {}, "This protocol uses no deck."));
  }

  // A machine runs simulated, or on a device the picker has a backend for that serves its kind.
  function deviceChooser(parameter, kind) {
    const devices = picker?.devicesFor(kind) ?? [];
    if (!devices.some((device) => device.name === state.devices[parameter])) delete state.devices[parameter];
    const select = h("select", { class: "machine-device", "data-parameter": parameter, "aria-label": `device for ${parameter}`,
      onchange: async () => {
        if (select.value) state.devices[parameter] = select.value;
        else delete state.devices[parameter];
        showRunMode();
        // The machines' backends are part of the plan: a run on devices is a plan of its own.
        const everyMachine = machineParameters().every((name) => state.devices[name]);
        if (everyMachine || !Object.keys(state.devices).length) await plan();
        else markStale("choose a device for every machine (or none) and the plan is made again");
      } },
      h("option", { value: "" }, "simulated"),
      ...devices.map((device) => h("option", { value: device.name }, `${device.name}: ${device.backend.split(".").pop()} (${device.state})`)));
    select.value = state.devices[parameter] ?? "";
    return select;
  }

  function machineParameters() {
    return Object.entries(state.plan?.parameters ?? {}).filter(([, entry]) => entry.kind === "machine").map(([name]) => name);
  }

  function showRunMode() {
    $("#run-button").textContent = Object.keys(state.devices).length ? "Run on devices" : "Run in simulation";
  }

  // Placements can be moved, by number or by dragging them on the deck; every change is
  // planned (validated) again at once, and problems show as they would for any plan.
  const RAIL_PITCH_MM = 22.5; // PLR's Hamilton decks: one rail every 22.5 mm
  function showLayoutEditor(layout) {
    const editor = $("#layout-editor");
    editor.replaceChildren();
    deckView.movable.clear();
    if (!layout) return;
    const replan = async () => {
      state.deckLayout = layout;
      return plan();
    };
    for (const placement of layout.placements) {
      const key = placement.rails !== undefined && placement.rails !== null ? "rails"
        : placement.slot !== undefined && placement.slot !== null ? "slot" : null;
      if (!key) continue;
      const input = h("input", { type: "number", min: 1, value: placement[key], "data-placement": placement.name,
        onchange: async () => {
          placement[key] = parseInt(input.value, 10);
          await replan();
        } });
      editor.append(h("label", {}, `${placement.name} (${placement.resource.split(".").pop()}) on ${key === "rails" ? "rail" : "slot"} `, input));
      if (key === "rails") deckView.movable.add(placement.name);
    }
    deckView.onMove = async (name, dx) => {
      const placement = layout.placements.find((p) => p.name === name);
      const rails = Math.max(1, placement.rails + Math.round(dx / RAIL_PITCH_MM));
      if (rails === placement.rails) return;
      const before = placement.rails;
      placement.rails = rails;
      // A move the deck refuses (overlap, off the deck) is undone; the reason stays shown.
      if (!(await replan())) placement.rails = before;
    };
  }

  $("#save-plan").addEventListener("click", async () => {
    const name = $("#plan-name").value || `${state.protocol.name} ${new Date().toISOString().slice(0, 16)}`;
    await labwright.data.savePlan(name, state.source, options(), state.filename);
    await showSavedPlans();
  });

  async function showSavedPlans() {
    const plans = await labwright.data.plans();
    $("#saved-plans").replaceChildren(...plans.map((saved) =>
      h("li", {}, h("button", { type: "button", onclick: async () => {
        await useSource(saved.source, saved.filename);
        state.deckLayout = saved.options.deck;
        for (const [name, value] of Object.entries(saved.options.parameters ?? {})) {
          const input = $(`#parameter-form input[name="${name}"]`);
          if (input) input.value = value;
        }
        await plan();
      } }, saved.name), h("small", {}, ` ${saved.saved_at}`))));
  }

  // ---- run ------------------------------------------------------------------------------
  const log = $("#run-log");
  const progress = $("#run-progress");
  // A fast run can post events before `start` has answered: keep them until we know its id.
  const early = new Map();
  labwright.onRunEvent(({ runId, event }) => {
    if (runId !== state.runId) {
      if (!early.has(runId)) early.set(runId, []);
      early.get(runId).push(event);
      if (early.size > 20) early.delete(early.keys().next().value);
      return;
    }
    showEvent(event);
  });

  function showEvent(event) {
    if (event.type === "state") deckView.update(event.resource, event.state);
    else if (event.type === "command") appendLog(`▶ ${event.machine}.${event.command}`, "command");
    else if (event.type === "log") appendLog(event.message, "log");
    else if (event.type === "progress") {
      $("#run-count").textContent = `${event.commands} commands`;
      if (event.fraction !== null) progress.value = event.fraction;
    } else if (event.type === "error") appendLog(event.traceback, "error");
    else if (event.type === "status") $("#run-status").textContent = event.status;
  }

  function appendLog(text, kind) {
    log.append(h("div", { class: `entry ${kind}` }, text));
    if (log.childElementCount > 2000) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  // A hardware run: the devices the picker holds are lent to the run (its backend there is
  // stopped) and set up again after it.
  async function lendDevices() {
    const restore = [];
    try {
      for (const name of new Set(Object.values(state.devices))) restore.push(await picker.lend(name));
    } catch (err) {
      for (const again of restore) await again().catch(() => {});
      throw err;
    }
    return restore;
  }

  $("#run-button").addEventListener("click", async () => {
    const message = $("#plan-message");
    if (!state.plan || state.plan.stale) {
      message.textContent = "the plan is out of date: plan again, then run";
      message.className = "bad";
      return;
    }
    log.replaceChildren();
    progress.removeAttribute("value");
    message.textContent = "";
    let restore = [];
    try {
      const hardware = state.backends !== null;
      if (hardware) restore = await lendDevices();
      // Exactly the plan shown: its id, with the values on the form now (a value changed since the
      // plan was made is refused by the worker as stale, whatever this page missed).
      const started = await labwright.start(state.source, { ...options(), deck: state.planOptions.deck, planId: state.plan.plan_id });
      state.runId = started.runId;
      root.dataset.runId = started.runId;
      if (started.plan.deck) deckView.render(started.plan.deck, started.plan.deck_state ?? {}, started.plan.untracked ?? []);
      for (const event of early.get(started.runId) ?? []) showEvent(event);
      early.delete(started.runId);
      $("#cancel-button").disabled = false;
      const result = await labwright.wait(started.runId);
      progress.value = 1;
      $("#run-status").textContent = result.status;
      root.dataset.runStatus = result.status;
      if (result.error) {
        const where = result.error.line ? ` at line ${result.error.line}` : "";
        const call = result.error.command ? ` (in ${result.error.command.machine}.${result.error.command.command})` : "";
        appendLog(`${result.error.type}: ${result.error.message}${where}${call}`, "error");
      }
    } catch (err) {
      message.textContent = err.message;
      message.className = "bad";
      if (err.pythonType === "StalePlan") markStale(err.pythonMessage);
    } finally {
      $("#cancel-button").disabled = true;
      for (const again of restore) await again().catch(() => {});
      await showHistory();
    }
  });
  $("#cancel-button").addEventListener("click", () => state.runId && labwright.cancel(state.runId));
  $("#replan-button").addEventListener("click", () => plan());

  // ---- history --------------------------------------------------------------------------
  async function showHistory() {
    const runs = await labwright.runs.history(30);
    $("#history-table").replaceChildren(h("tr", {}, ...["started", "protocol", "on", "status", "ms", ""].map((t) => h("th", {}, t))),
      ...runs.map((run) => h("tr", { "data-run": run.run_id },
        h("td", {}, run.started_at.replace("T", " ").slice(0, 19)), h("td", {}, run.protocol),
        h("td", {}, run.simulate ? "simulation" : "devices"),
        h("td", { class: `status ${run.status}` }, run.status), h("td", {}, run.duration_ms ? Math.round(run.duration_ms) : ""),
        h("td", {}, h("button", { type: "button", onclick: () => reopen(run.run_id) }, "open"), " ",
          h("button", { type: "button", onclick: () => exportRun(run.run_id) }, "export")))));
  }

  async function reopen(runId) {
    const record = await labwright.runs.get(runId);
    state.runId = null;
    log.replaceChildren();
    for (const event of record.events ?? []) {
      if (event.type === "command") appendLog(`▶ ${event.machine}.${event.command}`, "command");
      else if (event.type === "log") appendLog(event.message, "log");
      else if (event.type === "error") appendLog(event.traceback, "error");
    }
    $("#run-status").textContent = `${record.status} (run ${runId})`;
    if (record.plan?.deck) {
      deckView.render(record.plan.deck, record.plan.deck_state ?? {}, record.plan.untracked ?? []);
      for (const event of record.events ?? []) if (event.type === "state") deckView.update(event.resource, event.state);
    }
  }

  async function exportRun(runId) {
    const record = await labwright.runs.get(runId);
    download(`run-${runId}.json`, new Blob([JSON.stringify(record, null, 2)], { type: "application/json" }));
  }

  // ---- database export / import ---------------------------------------------------------
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
      sessionStorage.setItem("labwright.dataMessage", `Imported ${file.name}${migrated}. The database it replaced is kept: "Undo the last import" brings it back.`);
      location.reload(); // everything on the page is drawn from the new data
    } catch (err) {
      $("#data-message").textContent = `${file.name} was not imported, nothing changed: ${err.pythonMessage ?? err.message}`;
      $("#data-message").className = "bad";
    }
    event.target.value = "";
  });
  $("#undo-import").addEventListener("click", async () => {
    try {
      await labwright.data.undoImport();
      sessionStorage.setItem("labwright.dataMessage", "The import was undone: the database from before it is back.");
      location.reload();
    } catch (err) {
      $("#data-message").textContent = err.pythonMessage ?? err.message;
      $("#data-message").className = "bad";
    }
  });
  const told = sessionStorage.getItem("labwright.dataMessage");
  if (told) {
    sessionStorage.removeItem("labwright.dataMessage");
    $("#data-message").textContent = told;
  }
  labwright.data.canUndoImport().then((can) => ($("#undo-import").hidden = !can));

  function download(filename, blob) {
    const link = h("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
  }

  initRepl(labwright);
  showHistory();
  showSavedPlans();
  return state;
}

// ---- REPL ---------------------------------------------------------------------------------
function initRepl(labwright) {
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
