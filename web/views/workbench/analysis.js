// The workbench's protocol view: the source (errors highlighted at their line), the analysis
// (protocol functions, machines and labware it needs) and its parameters as a typed form.
import { $, h } from "../dom.js";

export function initAnalysis(wb) {
  const { labwright, state, root } = wb;

  // The text in the editor analysed: its protocols (or, for a plain script, what it builds) and
  // the parameters as a form. `keepForm`: the same file re-analysed while typing; values stay.
  async function use(source, filename, { keepForm = false } = {}) {
    const kept = keepForm ? values() : null;
    const fileChanged = filename !== state.analysedFile;
    state.source = source;
    state.filename = filename;
    state.analysedFile = filename;
    if (fileChanged || !keepForm) {
      // A protocol of its own: nothing planned for it yet, no deck carried over from another.
      state.plan = null;
      state.devices = {};
      state.backends = null;
      state.deckLayout = null;
      state.chosen = {};
      $("#plan-panel").hidden = true;
      $("#deck-panel").hidden = true;
      $("#plan-id").textContent = "";
      $("#run-button").disabled = true;
      if (fileChanged) wb.run?.reset(); // the last run was another protocol's
    }
    let analysis;
    try {
      analysis = await labwright.analyze(source, filename);
    } catch (err) {
      $("#analysis").replaceChildren(h("p", { class: "analysis-error" }, err.pythonMessage ?? err.message));
      return;
    }
    if (source !== state.source) return; // typed on meanwhile: a newer analysis follows
    state.analysis = analysis;
    showAnalysis(analysis);
    if (kept) setValues(kept);
    state.analysedSource = source; // what the form shows now belongs to this text
  }

  function clear() {
    state.analysis = null;
    state.protocol = null;
    $("#analysis").replaceChildren();
    $("#plan-panel").hidden = true;
    $("#deck-panel").hidden = true;
  }

  function showAnalysis(analysis) {
    const box = $("#analysis");
    box.replaceChildren();
    $("#to-protocol").hidden = !analysis.script;
    $("#script-note").hidden = !analysis.script;
    for (const error of analysis.errors) {
      box.append(h("p", { class: "analysis-error" }, `line ${error.line ?? "?"}, column ${error.column ?? "?"}: ${error.message}`));
    }
    if (analysis.script) {
      showScript(analysis.script);
      return;
    }
    if (!analysis.protocols.length) {
      state.protocol = null;
      box.append(h("p", {}, "No @protocol_function here, and no PLR machine built either: nothing to plan yet."));
      return;
    }
    const select = h("select", { id: "protocol-function", onchange: () => showProtocol(analysis.protocols[select.selectedIndex]) },
      ...analysis.protocols.map((p) => h("option", { value: p.function }, `${p.name} (${p.function})`)));
    const previous = state.protocol?.function;
    box.append(h("label", {}, "Protocol ", select), h("div", { id: "protocol-detail" }));
    const index = Math.max(0, analysis.protocols.findIndex((p) => p.function === previous));
    select.selectedIndex = index;
    showProtocol(analysis.protocols[index]);
  }

  // A plain PLR script: what it builds, and that it runs on simulators in place of its backends.
  function showScript(script) {
    state.protocol = { function: null, name: state.filename, parameters: [], script: true };
    $("#script-note").replaceChildren(
      h("b", {}, "A plain PLR script. "),
      "It runs in simulation with each real backend it builds replaced by its machine kind's PLR simulator; ",
      "“Make it a protocol…” turns its machines and labware into parameters.");
    const machines = script.machines.map((m) => h("li", {}, h("b", {}, m.variable), `: ${m.machine_kind} — `,
      `${(m.backend ?? "a backend").split(".").pop()}${m.simulator ? " (a simulator)" : " → simulated"}`,
      m.deck ? ` on ${m.deck.split(".").pop()}` : "", m.capabilities.length ? `; needs ${m.capabilities.join(", ")}` : "",
      h("small", {}, ` line ${m.line}`)));
    const resources = script.resources.map((r) => h("li", {}, h("b", {}, r.variable ?? r.name ?? "(unnamed)"),
      `: ${r.category ?? "resource"} (${r.type.split(".").pop()})`, h("small", {}, ` line ${r.line}`)));
    $("#analysis").append(
      h("h4", {}, "Machines the script builds"), h("ul", {}, ...machines),
      h("h4", {}, "Labware"), h("ul", {}, ...(resources.length ? resources : [h("li", {}, "none")])),
      h("form", { id: "parameter-form", onsubmit: (event) => { event.preventDefault(); wb.plan.plan(); } },
        h("button", { type: "submit", id: "plan-button" }, "Plan")));
  }

  function showProtocol(protocol) {
    state.protocol = protocol;
    const detail = $("#protocol-detail");
    const machines = protocol.requirements.machines.map((m) =>
      h("li", {}, h("b", {}, m.parameter), `: ${m.machine_kind}`, m.capabilities.length ? ` — needs ${m.capabilities.join(", ")}` : ""));
    const resources = protocol.requirements.resources.map((r) =>
      h("li", {}, h("b", {}, r.parameter ?? r.name ?? "(created)"), `: ${r.category ?? "resource"} (${r.type.split(".").pop()})`));
    const form = h("form", { id: "parameter-form", onsubmit: (event) => { event.preventDefault(); wb.plan.plan(); } });
    for (const parameter of protocol.parameters) {
      if (parameter.kind !== "value") continue;
      form.append(parameterField(parameter, protocol.param_metadata?.[parameter.name] ?? {}));
    }
    // Any change to a value makes the plan shown out of date: it must be planned again to run.
    form.addEventListener("input", () => wb.plan.markStale("a parameter changed since this plan was made"));
    form.append(h("button", { type: "submit", id: "plan-button" }, "Plan"));
    detail.replaceChildren(
      h("p", { class: "description" }, protocol.description ?? ""),
      h("details", { class: "needs", open: !state.plan },
        h("summary", {}, `Needs ${machines.length} machine${machines.length === 1 ? "" : "s"}, ${resources.length} labware`),
        h("h4", {}, "Machines"), h("ul", {}, machines.length ? machines : [h("li", {}, "none")]),
        h("h4", {}, "Labware"), h("ul", {}, resources.length ? resources : [h("li", {}, "none")])),
      h("h4", {}, "Parameters"), form,
    );
  }

  // One value parameter: its input as the analysis types it, its limits and description, and a
  // slot for the problem the planner finds with its value.
  function parameterField(parameter, meta) {
    const limits = meta.constraints ?? {};
    const annotation = (parameter.annotation ?? "").trim();
    const numeric = ["int", "float"].includes(annotation);
    const input = Array.isArray(limits.choices) && limits.choices.length
      ? h("select", { name: parameter.name, "data-type": annotation },
        ...limits.choices.map((choice) => h("option", { value: String(choice) }, String(choice))))
      : h("input", {
        name: parameter.name,
        type: numeric ? "number" : parameter.annotation === "bool" ? "checkbox" : "text",
        step: parameter.annotation === "int" ? "1" : "any",
        min: limits.min, max: limits.max,
        value: parameter.default ?? "",
        required: !parameter.has_default && !parameter.optional,
        "data-type": annotation,
      });
    if (input.tagName === "SELECT" && parameter.default !== null) input.value = String(parameter.default);
    if (parameter.annotation === "bool" && parameter.default) input.checked = true;
    const range = [limits.min !== undefined ? `≥ ${limits.min}` : null, limits.max !== undefined ? `≤ ${limits.max}` : null].filter(Boolean).join(", ");
    return h("label", { class: "parameter" }, h("span", {}, parameter.name), input,
      h("small", {}, [parameter.annotation, range, meta.description].filter(Boolean).join(" — ")),
      h("small", { class: "field-error", "data-error-for": parameter.name, role: "alert" }));
  }

  // The form's values, typed as the analysis declared them.
  function values() {
    const found = {};
    for (const input of $("#parameter-form")?.querySelectorAll("input, select") ?? []) {
      const type = input.dataset.type;
      if (input.type === "checkbox") found[input.name] = input.checked;
      else if (input.value === "") continue;
      else if (type === "int") found[input.name] = parseInt(input.value, 10);
      else if (type === "float") found[input.name] = parseFloat(input.value);
      else found[input.name] = input.value;
    }
    return found;
  }

  // Fill the form (a saved plan's values, or what was typed before a re-analysis).
  function setValues(given) {
    for (const [name, value] of Object.entries(given)) {
      const input = $(`#parameter-form [name="${CSS.escape(name)}"]`);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value;
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

  return { use, clear, values, setValues, showFieldErrors };
}
