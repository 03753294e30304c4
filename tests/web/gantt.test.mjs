// The schedule's Gantt model: a row per workcell machine, a bar per run on each machine it holds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ganttModel } from "../../web/views/gantt.js";

const machine = (id, name) => ({ id, name, kind: "liquid_handler", capabilities: [] });
const schedule = {
  workcells: [
    { name: "cell A", machines: [machine(1, "STARlet"), machine(2, "Plate reader")] },
    { name: "cell B", machines: [machine(3, "STARlet 2")] },
  ],
  runs: [
    { id: "r1", workcell: "cell A", status: "scheduled", machines: { lh: 1, reader: 2 }, starts_at: "2026-01-01T09:00:00Z", ends_at: "2026-01-01T09:30:00Z" },
    { id: "r2", workcell: "cell B", status: "running", machines: { lh: 3 }, starts_at: "2026-01-01T09:10:00Z", ends_at: "2026-01-01T10:00:00Z" },
    { id: "r3", workcell: null, status: "infeasible", machines: {}, starts_at: null, ends_at: null },
    { id: "r4", workcell: "cell B", status: "scheduled", machines: { lh: 1 }, starts_at: "2026-01-01T11:00:00Z", ends_at: "2026-01-01T11:05:00Z" },
  ],
};

test("rows are every machine of every workcell, in order", () => {
  const { rows } = ganttModel(schedule);
  assert.deepEqual(rows.map((r) => `${r.workcell} · ${r.machine.name}`), ["cell A · STARlet", "cell A · Plate reader", "cell B · STARlet 2"]);
});

test("bars: one per machine a placed run holds, on its own workcell's row only", () => {
  const { bars } = ganttModel(schedule);
  assert.deepEqual(bars.map((b) => [b.run.id, b.parameter, b.row]), [["r1", "lh", 0], ["r1", "reader", 1], ["r2", "lh", 2]]);
  // r3 is not placed; r4 names machine 1, which is not in its workcell (cell B): no bar
  assert.equal(bars[0].end - bars[0].start, 30 * 60_000);
});

test("the time span covers every bar; an empty schedule still spans an hour from now", () => {
  const { from, to } = ganttModel(schedule);
  assert.equal(from, Date.parse("2026-01-01T09:00:00Z"));
  assert.equal(to, Date.parse("2026-01-01T10:00:00Z"));
  const before = Date.now();
  const empty = ganttModel({ workcells: [], runs: [] });
  assert.ok(empty.from >= before && empty.to - empty.from === 3600_000);
  const instant = ganttModel({ workcells: schedule.workcells, runs: [{ ...schedule.runs[0], ends_at: schedule.runs[0].starts_at }] });
  assert.equal(instant.to - instant.from, 60_000); // at least a minute, so bars have a width
});

test("a run's bars are its machine holds: the reader is free while the liquid handler pipettes", () => {
  const withHolds = {
    ...schedule,
    reservations: [
      { asset_id: 1, run_id: "r1", starts_at: "2026-01-01T09:00:00Z", ends_at: "2026-01-01T09:20:00Z" },
      { asset_id: 2, run_id: "r1", starts_at: "2026-01-01T09:20:00Z", ends_at: "2026-01-01T09:30:00Z" },
      { asset_id: 1, run_id: "hand-1", starts_at: "2026-01-01T12:00:00Z", ends_at: "2026-01-01T12:30:00Z", note: "maintenance" },
      { asset_id: 99, run_id: "r1", starts_at: "2026-01-01T09:00:00Z", ends_at: "2026-01-01T09:30:00Z" }, // a plate
    ],
  };
  const { bars } = ganttModel(withHolds);
  const r1 = bars.filter((b) => b.run.id === "r1").map((b) => [b.row, b.parameter, (b.end - b.start) / 60_000]);
  assert.deepEqual(r1, [[0, "lh", 20], [1, "reader", 10]]);
  const hand = bars.find((b) => b.run.id === "hand-1");
  assert.equal(hand.run.status, "hold");
  assert.match(hand.run.protocol, /maintenance/);
  // no two bars of one row overlap
  for (const row of new Set(bars.map((b) => b.row))) {
    const mine = bars.filter((b) => b.row === row);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i].start >= mine[i - 1].end, `row ${row} overlaps`);
  }
});

test("a finished run is drawn at its real times, not its planned ones", () => {
  const done = { workcells: schedule.workcells, runs: [{ id: "f", workcell: "cell A", status: "completed", machines: { lh: 1 },
    starts_at: "2026-01-01T09:00:00Z", ends_at: "2026-01-01T09:30:00Z", started_at: "2026-01-01T09:05:00Z", ended_at: "2026-01-01T09:12:00Z" }] };
  const { bars } = ganttModel(done);
  assert.deepEqual(bars.map((b) => [b.start, b.end]), [[Date.parse("2026-01-01T09:05:00Z"), Date.parse("2026-01-01T09:12:00Z")]]);
});
