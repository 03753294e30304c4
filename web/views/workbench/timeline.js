// The run's timeline: step (or play at a chosen speed) command by command through a running or
// finished run, also one reopened from history. At each step PLR's deck drawing shows the state
// right after that command (plates where they were then too), the command is highlighted in the
// log and its line in the editor. States are rebuilt from the run's state events (each a
// resource's change), from checkpoints (kept whenever a walk was long), so scrubbing a long run
// stays cheap. A run's events come live (each resource's states merged per batch), then exactly,
// in slices from the worker (runs.events): never one message of megabytes on the main thread.
import { $ } from "../dom.js";

const CHECKPOINT_EVENTS = 400; // a checkpoint after walking this many events
const SLICE = 2000; // events per request when the timeline fetches a run's events

const isMove = (event) => event.type === "assigned" || event.type === "unassigned";

// The run's steps: for each command event, its index in `events` (step k is after command k).
// Events are as stored (a state event holds what changed; `replace`: all of it) or whole.
export class RunSteps {
  constructor(base = {}) {
    this.events = [];
    this.commands = []; // event index of each command
    this.moves = []; // event index of each assigned / unassigned event (a plate moved)
    this.firstMove = new Map(); // resource -> its first move event (where it was before; its tree)
    this.moveBySeq = new Map();
    // {upto, states}: the states after applying every state event before index `upto`.
    this.checkpoints = [{ upto: 0, states: { ...base } }];
  }

  push(event) {
    if (event.type === "command") this.commands.push(this.events.length);
    else if (isMove(event)) {
      this.moves.push(this.events.length);
      this.moveBySeq.set(event.seq, event);
      if (!this.firstMove.has(event.resource)) this.firstMove.set(event.resource, event);
    }
    this.events.push(event);
  }

  get length() {
    return this.commands.length;
  }

  command(step) {
    return step >= 1 ? this.events[this.commands[step - 1]] : null;
  }

  // Step k's events end where command k + 1 begins (the last step's at the end of the run).
  endOf(step) {
    return step < this.commands.length ? this.commands[step] : this.events.length;
  }

  // {resource: state} right after command `step` (0: before the first command). A state object
  // is new only where an event changed it (PLR's drawing is sent those only).
  statesAt(step) {
    const end = this.endOf(Math.max(0, Math.min(step, this.commands.length)));
    let best = this.checkpoints[0];
    for (const checkpoint of this.checkpoints) if (checkpoint.upto <= end && checkpoint.upto > best.upto) best = checkpoint;
    const states = { ...best.states };
    for (let i = best.upto; i < end; i++) {
      const event = this.events[i];
      if (event.type === "state") {
        states[event.resource] = event.replace ? { ...event.state } : { ...(states[event.resource] ?? {}), ...event.state };
      }
    }
    if (end - best.upto > CHECKPOINT_EVENTS) this.checkpoints.push({ upto: end, states: { ...states } });
    return states;
  }

  // Where each resource the run moved is right after command `step`: resource -> the seq of its
  // last move event by then, or null (where it was when the run started).
  placementsAt(step) {
    const end = this.endOf(Math.max(0, Math.min(step, this.commands.length)));
    const placements = new Map();
    for (const index of this.moves) {
      const event = this.events[index];
      if (index < end) placements.set(event.resource, event.seq);
      else if (!placements.has(event.resource)) placements.set(event.resource, null);
    }
    return placements;
  }

  // A placement (a seq from placementsAt, or null) as {parent, location, rotation}, or null:
  // not on the deck (taken off it, or not there yet).
  where(resource, placement) {
    const event = placement === null ? this.firstMove.get(resource) : this.moveBySeq.get(placement);
    if (!event) return null;
    const onDeck = placement === null ? event.type === "unassigned" : event.type === "assigned";
    return onDeck ? { parent: event.parent, location: event.location, rotation: event.rotation } : null;
  }

  tree(resource) {
    return this.firstMove.get(resource)?.tree ?? null;
  }
}

// What PLR's drawing shows of the run's moves: each moved resource's placement drawn, brought to
// another step's by PLR's own resource_unassigned / resource_assigned events.
class DrawnPlacements {
  constructor() {
    this.drawn = new Map(); // resource -> placement drawn (null: as the deck document has it)
  }

  show(steps, step, plrDeck, states) {
    for (const [resource, placement] of steps.placementsAt(step)) {
      const drawn = this.drawn.has(resource) ? this.drawn.get(resource) : null;
      if (drawn === placement) continue;
      const before = steps.where(resource, drawn);
      const after = steps.where(resource, placement);
      const tree = steps.tree(resource);
      if (after && !tree) continue; // its tree comes with its first move: not fetched yet
      this.drawn.set(resource, placement);
      if (before) plrDeck.event("resource_unassigned", { resource_name: resource });
      if (after) {
        const placed = { ...tree, parent_name: after.parent, location: after.location ?? tree.location,
          ...(after.rotation ? { rotation: after.rotation } : {}) };
        const state = {};
        (function collect(node) {
          if (states[node.name]) state[node.name] = states[node.name];
          for (const child of node.children ?? []) collect(child);
        })(placed);
        plrDeck.event("resource_assigned", { resource: placed, method_registry: {}, state, parent_name: after.parent });
      }
    }
  }
}

export function describe(command) {
  if (!command) return "before the first command";
  const args = Object.entries(command.args ?? {})
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(", ");
  return `${command.machine}.${command.command}(${args.length > 160 ? `${args.slice(0, 157)}…` : args})`;
}

export function initTimeline(wb) {
  const root = $("#timeline");
  const slider = $("#step-slider");
  const label = $("#step-label");
  const playButton = $("#step-play");
  let steps = new RunSteps();
  let deck = null; // the deck document the steps are drawn on
  let base = {};
  let placements = new DrawnPlacements();
  let following = true; // at the last step while a run goes on: stay there as steps come
  let timer = null;
  let current = 0;
  let loading = 0; // the fetch of a run's events going on (a newer one stops an older)
  let drawn = -1; // the step PLR's drawing shows; a frame draws the newest step asked for
  let drawScheduled = false;
  let shown = null; // the states of the step drawn (null: the live run drew since)
  let marking = true; // steps mark their line in the editor
  let liveScheduled = false; // a live run's slider and label are drawn at the next frame

  // `markEditor`: the open file is the run's own text, so each step's line is marked in it (a run
  // of another text, reopened from the history, marks nothing: its lines are not this file's).
  function load(events, { deckDocument = null, base: baseStates = {}, markEditor = true } = {}) {
    stop();
    marking = markEditor;
    loading += 1;
    delete root.dataset.loading;
    steps = new RunSteps(baseStates);
    deck = deckDocument;
    base = baseStates;
    placements = new DrawnPlacements();
    drawn = -1;
    shown = null;
    for (const event of events) steps.push(event);
    following = true;
    refresh();
    if (steps.length) go(steps.length, { draw: false });
  }

  // The run's events exactly (states per command, not merged per batch as live), fetched in
  // slices of the worker's record: `onEvents(events)` for each slice as it comes. The timeline
  // swaps to them when all are in (`#timeline[data-loading]` until then), at the run's end;
  // `live`: the deck shows the end already (the live run drew it). Resolves to the steps.
  async function fetchRun(runId, total, { onEvents = () => {}, live = false } = {}) {
    const ticket = ++loading;
    root.dataset.loading = "";
    const exact = new RunSteps(base);
    for (let start = 0; start < total; start += SLICE) {
      const slice = await wb.labwright.runs.events(runId, start, Math.min(total, start + SLICE));
      if (ticket !== loading) return null; // another run or record took the timeline over
      for (const event of slice.events) exact.push(event);
      onEvents(slice.events);
    }
    const back = following ? null : current; // the user went back to this step meanwhile
    steps = exact;
    delete root.dataset.loading;
    refresh();
    wb.results.showCurves(steps); // where the liquid went, command by command
    if (back === null && live) {
      // The deck shows the run's end already (the live states end where the exact ones do).
      shown = steps.statesAt(steps.length);
      go(steps.length, { draw: false });
    } else {
      drawn = -1;
      go(back ?? steps.length);
    }
    return steps;
  }

  // A live run's event: its step appears; the view follows it unless the user went back.
  function push(event) {
    steps.push(event);
    if (event.type === "state" && following) shown = null; // the live run draws it
    if (isMove(event) && following && deck) {
      placements.show(steps, steps.length, wb.plrDeck, steps.statesAt(steps.length));
    }
    if (event.type !== "command") return;
    if (following) current = steps.length;
    // The slider, count and label once per animation frame, however many commands a batch brings.
    if (liveScheduled) return;
    liveScheduled = true;
    requestAnimationFrame(() => {
      liveScheduled = false;
      refresh();
      if (!following) return;
      slider.value = String(current);
      showLabel();
    });
  }

  function refresh() {
    root.hidden = steps.length === 0;
    slider.max = String(steps.length);
    $("#step-count").textContent = `of ${steps.length}`;
  }

  function showLabel() {
    label.textContent = `${current} · ${describe(steps.command(current))}`;
  }

  // Show step `step`: the deck at it (drawn once per animation frame, at the newest step asked
  // for: a slider dragged or a key held asks faster than a frame), its log entry and its line.
  // `draw: false`: the deck shows that step already (the live run's).
  function go(step, { draw = true } = {}) {
    current = Math.max(0, Math.min(step, steps.length));
    following = current === steps.length;
    slider.value = String(current);
    showLabel();
    if (!draw) drawn = current;
    if (drawScheduled) return;
    drawScheduled = true;
    requestAnimationFrame(frame);
  }

  function frame() {
    drawScheduled = false;
    wb.run.highlight(current);
    const command = steps.command(current);
    if (command?.line && marking) wb.editor.markLine(command.line, "step");
    if (!deck || drawn === current) return;
    drawn = current;
    const states = steps.statesAt(current);
    placements.show(steps, current, wb.plrDeck, states);
    // Only the resources whose state objects changed since the step drawn (a state object is
    // new only where an event changed it); after live drawing, PLR's drawing compares them all.
    let changed = states;
    if (shown) {
      changed = {};
      for (const name in states) if (states[name] !== shown[name]) changed[name] = states[name];
    }
    shown = states;
    wb.plrDeck.showStates(changed);
  }

  function play() {
    if (timer) return stop();
    if (current >= steps.length) go(0);
    playButton.textContent = "Pause";
    playButton.setAttribute("aria-label", "Pause");
    const tick = () => {
      if (current >= steps.length) return stop();
      go(current + 1);
      timer = setTimeout(tick, 1000 / Number($("#step-speed").value));
    };
    tick();
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    playButton.textContent = "Play";
    playButton.setAttribute("aria-label", "Play");
  }

  slider.addEventListener("input", () => { stop(); go(Number(slider.value)); });
  $("#step-first").addEventListener("click", () => { stop(); go(0); });
  $("#step-back").addEventListener("click", () => { stop(); go(current - 1); });
  $("#step-forward").addEventListener("click", () => { stop(); go(current + 1); });
  $("#step-last").addEventListener("click", () => { stop(); go(steps.length); });
  playButton.addEventListener("click", play);

  return { load, fetchRun, push, go, stop, get step() { return current; }, get length() { return steps.length; },
    get loading() { return root.dataset.loading !== undefined; }, statesAt: (s) => steps.statesAt(s) };
}
