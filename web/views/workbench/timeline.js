// The run's timeline: step (or play at a chosen speed) command by command through a running or
// finished run, also one reopened from history. At each step PLR's deck drawing shows the state
// right after that command, the command is highlighted in the log and its line in the editor.
// States are rebuilt from the run's state events (each a resource's change), from checkpoints
// (kept whenever a walk was long), so scrubbing a long run stays cheap.
import { $ } from "../dom.js";

const CHECKPOINT_EVENTS = 400; // a checkpoint after walking this many events

// The run's steps: for each command event, its index in `events` (step k is after command k).
export class RunSteps {
  constructor(base = {}) {
    this.events = [];
    this.commands = []; // event index of each command
    // {upto, states}: the states after applying every state event before index `upto`.
    this.checkpoints = [{ upto: 0, states: { ...base } }];
  }

  push(event) {
    if (event.type === "command") this.commands.push(this.events.length);
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

  // {resource: state} right after command `step` (0: before the first command).
  statesAt(step) {
    const end = this.endOf(Math.max(0, Math.min(step, this.commands.length)));
    let best = this.checkpoints[0];
    for (const checkpoint of this.checkpoints) if (checkpoint.upto <= end && checkpoint.upto > best.upto) best = checkpoint;
    const states = { ...best.states };
    for (let i = best.upto; i < end; i++) {
      const event = this.events[i];
      if (event.type === "state") states[event.resource] = { ...(states[event.resource] ?? {}), ...event.state };
    }
    if (end - best.upto > CHECKPOINT_EVENTS) this.checkpoints.push({ upto: end, states: { ...states } });
    return states;
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
  let following = true; // at the last step while a run goes on: stay there as steps come
  let timer = null;
  let current = 0;

  function load(events, { deckDocument = null, base = {} } = {}) {
    stop();
    steps = new RunSteps(base);
    deck = deckDocument;
    for (const event of events) steps.push(event);
    following = true;
    refresh();
    if (steps.length) go(steps.length, { draw: false });
  }

  // A live run's event: its step appears; the view follows it unless the user went back.
  function push(event) {
    steps.push(event);
    if (event.type !== "command") return;
    refresh();
    if (following) {
      current = steps.length;
      slider.value = String(current);
      showLabel();
    }
  }

  function refresh() {
    root.hidden = steps.length === 0;
    slider.max = String(steps.length);
    $("#step-count").textContent = `of ${steps.length}`;
  }

  function showLabel() {
    label.textContent = `${current} · ${describe(steps.command(current))}`;
  }

  // Show step `step`: the deck at it, its log entry and its line.
  function go(step, { draw = true } = {}) {
    current = Math.max(0, Math.min(step, steps.length));
    following = current === steps.length;
    slider.value = String(current);
    showLabel();
    wb.run.highlight(current);
    const command = steps.command(current);
    if (command?.line) wb.editor.markLine(command.line, "step");
    if (draw && deck) wb.plrDeck.showStates(steps.statesAt(current));
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

  return { load, push, go, stop, get step() { return current; }, get length() { return steps.length; }, statesAt: (s) => steps.statesAt(s) };
}
