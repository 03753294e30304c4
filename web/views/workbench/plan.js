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
      state.planOptions = options();
      state.plan = await labwright.plan(state.source, state.planOptions);
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
        h("td", {}, entry.kind === "value" ? JSON.stringify(entry.value)
          : shown.candidates?.[name]?.length ? itemChooser(name, entry, shown)
            : entry.asset ?? (entry.kind === "resource" ? "unknown contents" : "simulated")),
        h("td", {}, entry.kind === "machine" ? (entry.backend ?? "").split(".").pop()
          : entry.contents ? Object.entries(entry.contents).map(([k, v]) => `${k}: ${v}`).join(", ") : ""),
        h("td", { class: "reasons" }, (entry.reasons ?? []).join("; ")),
        h("td", {}, entry.kind === "machine" ? deviceChooser(name, entry.machine_kind) : "")));
    $("#plan-table").replaceChildren(h("tr", {}, ...["parameter", "kind", "resolved to", "details", "why", "runs on"].map((t) => h("th", {}, t))), ...rows);
    showRunMode();
    await wb.layout.show(shown.deck_layout); // first: it says which placements can be dragged
    $("#deck-panel").hidden = !shown.deck;
    if (shown.deck) {
      deckView.render(shown.deck, shown.deck_state ?? {}, shown.untracked ?? []);
      wb.plrDeck.show(shown.deck, shown.deck_state ?? {});
    } else {
      $("#deck-view").replaceChildren(h("p", {}, shown.kind === "script" ? "The script builds its own deck when it runs." : "This protocol uses no deck."));
    }
  }

  // The inventory item for a machine or labware parameter: the automatic choice (with its reason)
  // first, then every item that fits (type, lot, expiry). A choice plans again; a labware item of
  // another type is laid out afresh (its own geometry), where it fits.
  function itemChooser(parameter, entry, shown) {
    const chosen = shown.chosen?.[parameter];
    // (The automatic choice's reasons are in the row's "why" column.)
    const automatic = chosen === undefined ? `automatic: ${entry.asset ?? "simulated"}` : "automatic";
    const select = h("select", { class: "item-choice", "data-parameter": parameter, "aria-label": `inventory item for ${parameter}`,
      onchange: async () => {
        state.chosen ??= {};
        if (select.value) state.chosen[parameter] = Number(select.value);
        else delete state.chosen[parameter];
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
