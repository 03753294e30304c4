// The workbench's plan: every parameter resolved (machines, labware from the inventory, values)
// with the reasons, which device each machine runs on, out-of-date marking, and saving the plan.
import { $, h } from "../dom.js";
import { formatSeconds, shortName as short } from "../format.js";

export function initPlanPanel(wb) {
  const { labwright, picker, state, deckView } = wb;

  // What a plan is made from; a run sends the same, so one that differs from its plan is refused.
  function options() {
    const hardware = state.backends !== null;
    return { function: state.protocol.function, parameters: wb.analysis.values(), deck: state.deckLayout ?? null,
      filename: state.filename, simulate: !hardware, backends: hardware ? state.backends : null,
      chosen: Object.keys(state.chosen ?? {}).length ? { ...state.chosen } : null };
  }

  async function plan() {
    if (!state.protocol) return false;
    const message = $("#plan-message");
    message.textContent = "planning…";
    message.className = "";
    wb.analysis.showFieldErrors([]);
    try {
      state.backends = await backendsForDevices();
      const asked = options();
      state.plan = await labwright.plan(state.source, asked);
      state.planOptions = asked; // only a plan made: a refused one leaves the plan shown runnable
      state.deckLayout = state.plan.deck_layout;
      message.textContent = "";
      await showPlan(state.plan);
      estimate(state.plan);
      return true;
    } catch (err) {
      message.textContent = err.message;
      message.className = "bad";
      wb.analysis.showFieldErrors(err.problems ?? []);
      return false;
    }
  }

  // How long the plan's run should take: the scheduler's discrete-event estimate (the protocol run
  // on a virtual clock with each command's modelled duration), shown when it comes.
  async function estimate(shown) {
    const line = $("#plan-estimate");
    line.textContent = "";
    if (shown.kind === "script" || !state.planOptions.simulate) return; // the estimate runs protocol functions in simulation
    line.textContent = "estimating the duration…";
    try {
      const found = await labwright.schedule.estimate(state.source, state.planOptions);
      if (state.plan?.plan_id !== shown.plan_id) return;
      shown.estimate = found;
      line.textContent = found.status === "completed"
        ? `Estimated duration ${formatSeconds(found.duration_s)} (${found.commands.length} commands on a virtual clock)`
        : `no estimate: in simulation it fails (${found.error?.message ?? found.status})`;
    } catch (err) {
      if (state.plan?.plan_id === shown.plan_id) line.textContent = `no estimate: ${err.message}`;
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

  // The machines on devices of 'Connect a device': {parameter: {backend, kwargs}} read by Python from
  // the picker's settings (the planner refuses a run that mixes simulated and real machines).
  async function backendsForDevices() {
    const chosen = Object.entries(state.devices);
    if (!chosen.length) return null;
    const specs = await Promise.all(chosen.map(async ([parameter, name]) => [parameter, await picker.runSpec(name)]));
    return Object.fromEntries(specs);
  }

  async function showPlan(shown) {
    $("#plan-panel").hidden = false;
    const needs = document.querySelector("#analysis details.needs");
    if (needs) needs.open = false; // the plan says it all now; the deck gets the room
    delete $("#plan-panel").dataset.stale;
    $("#plan-stale").hidden = true;
    $("#run-button").disabled = false;
    $("#plan-id").textContent = `plan ${shown.plan_id}`;
    const rows = Object.entries(shown.parameters).map(([name, entry]) =>
      h("tr", { "data-parameter": name },
        h("td", {}, name), h("td", {}, entry.kind),
        h("td", {}, entry.kind === "value" ? JSON.stringify(entry.value) : h("div", { class: "choices" },
          shown.models?.[name]?.length ? modelChooser(name, shown) : null,
          shown.definitions?.[name]?.length ? definitionChooser(name, entry, shown) : null,
          shown.candidates?.[name]?.length ? itemChooser(name, entry, shown)
            : h("span", {}, entry.asset ?? (entry.kind === "resource" ? "unknown contents" : "simulated")),
          h("span", { class: "choice-error", "data-error-for": name, role: "alert" }))),
        h("td", {}, details(entry)),
        h("td", { class: "reasons" }, (entry.reasons ?? []).join("; ")),
        h("td", {}, entry.kind === "machine" ? deviceChooser(name, entry.machine_kind) : "")));
    $("#plan-table").replaceChildren(h("tr", {}, ...["parameter", "kind", "resolved to", "details", "why", "runs on"].map((t) => h("th", {}, t))), ...rows);
    showRunMode();
    await wb.layout.show(shown.deck_layout); // first: it says which placements can be dragged
    $("#deck-panel").hidden = !shown.deck;
    if (shown.deck) {
      deckView.render(shown.deck, shown.deck_state ?? {}, shown.untracked ?? [], shown.plan_id);
      wb.plrDeck.show(shown.deck, shown.deck_state ?? {}, shown.plan_id);
    } else {
      deckView.clear();
      $("#deck-view").replaceChildren(h("p", {}, shown.kind === "script" ? "The script builds its own deck when it runs." : "This protocol uses no deck."));
    }
  }

  // The plan table's details: a machine's backend; labware's contents, and the machine it starts in.
  function details(entry) {
    if (entry.kind === "machine") return (entry.backend ?? "").split(".").pop();
    const parts = Object.entries(entry.contents ?? {}).map(([k, v]) => `${k}: ${v}`);
    if (entry.placement?.machine) parts.unshift(`in ${entry.placement.machine}`);
    return parts.join(", ");
  }

  // A choice that plans again; when that plan fails the choice is undone and the reason shown
  // next to the control that caused it.
  async function choose(parameter, control, apply, undo) {
    apply();
    if (await plan()) return;
    const why = $("#plan-message").textContent.replace(/^\w*Error: /, "");
    $("#plan-message").textContent = ""; // the plan shown still stands; the reason goes to the control
    undo();
    control.value = control.dataset.shown;
    const slot = document.querySelector(`#plan-table .choice-error[data-error-for="${CSS.escape(parameter)}"]`);
    if (slot) slot.textContent = why;
    control.setAttribute("aria-invalid", "true");
  }

  // The liquid handler's model: PLR's decks auto-layout can fill (a STAR and a STARlet differ by
  // their deck). Another deck is a fresh layout on it.
  function modelChooser(parameter, shown) {
    const current = shown.deck_layout?.deck ?? "";
    const select = h("select", { class: "model-choice", "data-parameter": parameter, "aria-label": `model (deck) for ${parameter}`,
      "data-shown": current,
      onchange: () => {
        const before = state.deckLayout;
        return choose(parameter, select, () => { state.deckLayout = select.value; }, () => { state.deckLayout = before; });
      } },
      ...shown.models[parameter].map((model) => h("option", { value: model.fqn },
        [model.manufacturer, model.name, model.rails ? `${model.rails} rails` : model.slots ? `${model.slots} slots` : null]
          .filter(Boolean).join(" · "))));
    select.value = current;
    return select;
  }

  // The labware definition from PLR's catalog (those of the parameter's category that fit the deck),
  // by manufacturer; "automatic" is the planner's own choice.
  function definitionChooser(parameter, entry, shown) {
    const picked = typeof shown.chosen?.[parameter] === "string" ? shown.chosen[parameter] : "";
    const groups = new Map();
    for (const definition of shown.definitions[parameter]) {
      const key = definition.manufacturer ?? "other";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(h("option", { value: definition.fqn }, definition.name));
    }
    const select = h("select", { class: "definition-choice", "data-parameter": parameter, "data-shown": picked,
      "aria-label": `labware definition for ${parameter}`,
      onchange: () => {
        const before = state.chosen?.[parameter];
        const layout = state.deckLayout;
        return choose(parameter, select, () => {
          state.chosen ??= {};
          if (select.value) state.chosen[parameter] = select.value; // replaces an item chosen before
          else delete state.chosen[parameter];
          // Laid out afresh: the chosen definition's own geometry, or the planner's choice again.
          if (layout?.placements) state.deckLayout = { ...layout, placements: layout.placements.filter((p) => p.name !== parameter) };
        }, () => {
          if (before === undefined) delete state.chosen[parameter];
          else state.chosen[parameter] = before;
          state.deckLayout = layout;
        });
      } },
      h("option", { value: "" }, `automatic: ${short(entry.type ?? "")}`),
      ...[...groups].map(([manufacturer, options]) => h("optgroup", { label: manufacturer }, ...options)));
    select.value = picked;
    return select;
  }

  // The inventory item for a machine or labware parameter: the automatic choice (with its reason)
  // first, then every item that fits (type, lot, expiry). A choice plans again; a labware item of
  // another type is laid out afresh (its own geometry), where it fits.
  function itemChooser(parameter, entry, shown) {
    const chosen = typeof shown.chosen?.[parameter] === "number" ? shown.chosen[parameter] : undefined;
    // (The automatic choice's reasons are in the row's "why" column.)
    const automatic = chosen === undefined
      ? `automatic: ${entry.asset ?? (entry.kind === "resource" ? "none from the inventory" : "simulated")}` : "automatic";
    const select = h("select", { class: "item-choice", "data-parameter": parameter, "aria-label": `inventory item for ${parameter}`,
      onchange: async () => {
        state.chosen ??= {};
        if (select.value) state.chosen[parameter] = Number(select.value);
        else if (typeof state.chosen[parameter] === "number") delete state.chosen[parameter];
        const picked = shown.candidates[parameter].find((item) => String(item.id) === select.value);
        if (state.deckLayout && (!picked || picked.type !== entry.type)) {
          state.deckLayout = { ...state.deckLayout, placements: state.deckLayout.placements.filter((p) => p.name !== parameter) };
        }
        await plan();
      } },
      h("option", { value: "" }, automatic),
      ...shown.candidates[parameter].map((item) => h("option", { value: String(item.id) },
        [item.name, entry.kind === "resource" ? short(item.type) : null, item.lot ? `lot ${item.lot}` : null,
          item.expires_at ? `expires ${item.expires_at.slice(0, 10)}` : null].filter(Boolean).join(" · "))));
    select.value = chosen === undefined ? "" : String(chosen);
    return select;
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

  $("#save-plan").addEventListener("click", async () => {
    await wb.editor.flush();
    const name = $("#plan-name").value || `${state.protocol.name} ${new Date().toISOString().slice(0, 16)}`;
    await labwright.data.savePlan(name, state.source, options(), state.filename);
    await wb.files.showSavedPlans();
  });
  $("#replan-button").addEventListener("click", () => plan());

  return { plan, options, markStale };
}
