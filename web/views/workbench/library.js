// The workbench's library: the demo protocols, a .py uploaded or pasted, and saved plans.
import { $, h } from "../dom.js";
import { demoProtocols, demoSource } from "../demo-protocols.js";

export function initLibrary(wb) {
  const { labwright, state } = wb;

  demoProtocols().then((protocols) => {
    $("#protocol-list").replaceChildren(
      ...protocols.map((entry) =>
        h("li", {}, h("button", { type: "button", "data-file": entry.file, onclick: () => loadDemo(entry) }, entry.title),
          h("small", {}, ` ${entry.shows}`)),
      ),
    );
  });

  async function loadDemo(entry) {
    await wb.analysis.use(await demoSource(entry), entry.file);
  }

  $("#protocol-upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) await wb.analysis.use(await file.text(), file.name);
    event.target.value = "";
  });
  $("#protocol-paste-use").addEventListener("click", () => wb.analysis.use($("#protocol-paste").value, "pasted.py"));

  async function showSavedPlans() {
    const plans = await labwright.data.plans();
    $("#saved-plans").replaceChildren(...plans.map((saved) =>
      h("li", {}, h("button", { type: "button", onclick: () => reopen(saved) }, saved.name), h("small", {}, ` ${saved.saved_at}`))));
  }

  async function reopen(saved) {
    await wb.analysis.use(saved.source, saved.filename);
    state.deckLayout = saved.options.deck;
    wb.analysis.setValues(saved.options.parameters ?? {});
    await wb.plan.plan();
  }

  return { showSavedPlans };
}
