// The run view's pure parts: states at a timeline step rebuilt from a run's state events (with
// checkpoints, in any order of visits), and results: grids found in a return value, CSV, and
// final volumes per plate from well states.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findGrids, gridCSV, plateVolumes, recordsCSV } from "../../web/views/workbench/results.js";
import { describe, RunSteps } from "../../web/views/workbench/timeline.js";

function run(commands, wells = 3) {
  // Each command adds 1 uL to well (i % wells); one state event per command.
  const steps = new RunSteps({ w0: { volume: 0 }, w1: { volume: 0 }, w2: { volume: 0 } });
  steps.push({ type: "log", message: "setting up" });
  for (let i = 0; i < commands; i++) {
    steps.push({ type: "command", machine: "lh", command: "dispense", args: { i } });
    const well = `w${i % wells}`;
    steps.push({ type: "state", resource: well, state: { volume: Math.floor(i / wells) + 1 } });
  }
  return steps;
}

test("the states at a step are the base plus every change up to that command", () => {
  const steps = run(10);
  assert.equal(steps.length, 10);
  assert.deepEqual(steps.statesAt(0), { w0: { volume: 0 }, w1: { volume: 0 }, w2: { volume: 0 } });
  assert.deepEqual(steps.statesAt(1), { w0: { volume: 1 }, w1: { volume: 0 }, w2: { volume: 0 } });
  assert.deepEqual(steps.statesAt(10), { w0: { volume: 4 }, w1: { volume: 3 }, w2: { volume: 3 } });
  assert.equal(steps.command(3).args.i, 2);
  assert.equal(steps.command(0), null);
});

test("checkpoints give the same states as walking from the start, whatever the order of visits", () => {
  const steps = run(2000);
  const fresh = (step) => run(2000).statesAt(step);
  for (const step of [2000, 3, 1500, 999, 1000, 0, 1999, 401, 1600]) {
    assert.deepEqual(steps.statesAt(step), fresh(step), `step ${step}`);
  }
  assert.ok(steps.checkpoints.length > 1);
});

test("a step's command is described with its arguments, long ones cut", () => {
  assert.equal(describe({ machine: "lh", command: "aspirate", args: { vols: [50] } }), 'lh.aspirate(vols=[50])');
  assert.ok(describe({ machine: "lh", command: "x", args: { a: "y".repeat(500) } }).endsWith("…)"));
  assert.equal(describe(null), "before the first command");
});

test("plate readings are found in PLR's return shapes and written as CSV with wells by name", () => {
  const grid = Array.from({ length: 8 }, (_, r) => Array.from({ length: 12 }, (_, c) => r + c / 100));
  const found = findGrids([{ wavelength: 450, time: 1, temperature: null, data: grid }]);
  assert.equal(found.length, 1);
  assert.match(found[0].title, /wavelength 450 nm/);
  const csv = gridCSV(grid).trim().split("\n");
  assert.equal(csv.length, 9);
  assert.equal(csv[0], ",1,2,3,4,5,6,7,8,9,10,11,12");
  assert.equal(csv[8].split(",")[0], "H");
  assert.deepEqual(findGrids(grid).map((g) => g.grid), [grid]);
  assert.deepEqual(findGrids({ a: 1, b: "x" }), []);
  assert.deepEqual(findGrids([[1, "a"]]), []);
});

test("records become CSV with the union of their keys, quoted where needed", () => {
  assert.equal(recordsCSV([{ a: 1, b: "x,y" }, { c: null }]), 'a,b,c\n1,"x,y",\n,,\n');
});

test("final volumes per plate come from well states named like PLR names them", () => {
  const grids = plateVolumes({ plate_well_A1: { volume: 10 }, plate_well_B2: { volume: 5.5 }, tips_tipspot_A1: { tip: null },
    empty_well_A1: { volume: 0 } });
  assert.deepEqual(grids, { plate: [[10, null], [null, 5.5]] });
});

test("the setup sheet says where each labware goes, with its item's lot and what to load", async () => {
  const { sheetRows, whereText } = await import("../../web/views/workbench/setup-sheet.js");
  const layout = { placements: [
    { name: "plate_carrier", resource: "pylabrobot.resources.PLT_CAR_L5AC_A00", rails: 7 },
    { name: "source", resource: "pylabrobot.resources.Cor_96_wellplate_360ul_Fb", parent: "plate_carrier", slot: 0 },
    { name: "tips", resource: "x.tips", slot: 4 },
  ] };
  assert.equal(whereText(layout.placements[1], layout), "position 0 of plate_carrier (PLT_CAR_L5AC_A00, rails 7)");
  assert.equal(whereText(layout.placements[2], layout), "slot 4");
  const plan = { deck_layout: layout, parameters: {
    lh: { kind: "machine", asset: "STARlet", backend: "a.b.LiquidHandlerChatterboxBackend" },
    source: { kind: "resource", type: "pylabrobot.resources.Cor_96_wellplate_360ul_Fb", asset: "plate 1", asset_id: 5,
      contents: { volume_per_well_ul: 200 } },
    tips: { kind: "resource", type: "x.tips", asset: null },
    volume: { kind: "value", value: 50 },
  } };
  const rows = sheetRows(plan, [{ id: 5, lot: "L42", expires_at: "2027-01-31T00:00:00+00:00" }]);
  assert.deepEqual(rows.labware[0], { parameter: "source", labware: "Cor_96_wellplate_360ul_Fb",
    where: "position 0 of plate_carrier (PLT_CAR_L5AC_A00, rails 7)", item: "plate 1", lot: "L42", expires: "2027-01-31",
    load: "volume per well (µL): 200" });
  assert.equal(rows.labware[1].item, "any (untracked)");
  assert.deepEqual(rows.machines, [{ parameter: "lh", machine: "STARlet", backend: "LiquidHandlerChatterboxBackend" }]);
  assert.deepEqual(rows.values, [{ parameter: "volume", value: "50" }]);
  assert.deepEqual(rows.holders.map((r) => r.name), ["plate_carrier"]);
});
