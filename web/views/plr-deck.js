// The deck as PLR draws it: PLR's own visualizer (pylabrobot/visualizer, served by set-up from
// web/vendor/plr-visualizer) in a frame, fed with PLR's own visualizer protocol — set_root_resource,
// set_state, resource_assigned, resource_unassigned — over postMessage instead of its WebSocket.
// Labels, rail and slot numbers, zoom and pan, hover on a well or tip spot, the resource tree:
// all PLR's. State changes are coalesced and sent once per animation frame.
const FRAME = new URL("../vendor/plr-visualizer/index.html", import.meta.url);
const LIVE_INTERVAL_MS = 100; // a live run's states are drawn at most this often

export class PlrDeck {
  constructor(container) {
    this.container = container;
    this.frame = null;
    this.ready = null;
    this.pending = new Map(); // resource name -> its latest state, not sent yet
    this.scheduled = false;
    this.nextId = 1;
    this.shown = null; // the root last sent
    this.states = new Map(); // resource name -> its whole state as last known (events may carry only changes)
  }

  // Make the frame (once): resolves when PLR's page says it is ready.
  open() {
    if (this.ready) return this.ready;
    this.frame = document.createElement("iframe");
    this.frame.title = "Deck (PyLabRobot's visualizer)";
    this.frame.src = FRAME.href;
    this.ready = new Promise((resolve) => {
      const listen = (event) => {
        if (event.source !== this.frame.contentWindow || event.origin !== location.origin) return;
        const reply = event.data?.labwrightVisualizerReply;
        if (typeof reply !== "string") return;
        try {
          if (JSON.parse(reply).event === "ready") resolve();
        } catch {
          // replies to our events (success / error) need no answer
        }
      };
      window.addEventListener("message", listen);
    });
    this.container.replaceChildren(this.frame);
    return this.ready;
  }

  async send(event, data) {
    await this.open();
    const message = JSON.stringify({ id: String(this.nextId++), version: "0.1.0", event, data });
    this.frame.contentWindow.postMessage({ labwrightVisualizer: message }, location.origin);
  }

  // The whole deck: `root` is PLR's serialize() of it (children nested), `state` {name: state};
  // `key` says what it is (a plan's id): the same key shown and unchanged since is not sent again
  // (PLR's set_root_resource rebuilds every shape: a run of the plan shown starts from its drawing).
  async show(root, state = {}, key = null) {
    if (key !== null && key === this.key && !this.changed) return;
    this.key = key;
    this.changed = false;
    this.pending.clear();
    this.states = new Map(Object.entries(state));
    this.shown = root;
    // The deck first, then each thing on it as PLR's own resource_assigned: one message, so one
    // task in the frame, per carrier; PLR drawing (and bitmap-caching) a whole deck at once was
    // the plan's longest main-thread task.
    const { children = [], ...deck } = root;
    await this.send("set_root_resource", { resource: { ...deck, children: [] }, method_registry: {} });
    for (const child of children) {
      await this.send("resource_assigned", { resource: { ...child, parent_name: root.name }, method_registry: {}, state: {},
        parent_name: root.name });
    }
    if (Object.keys(state).length) await this.send("set_state", state);
  }

  // One resource's new state (a run event); drawn with the others of this animation frame.
  update(resource, state) {
    if (!this.shown) return;
    this.changed = true;
    const whole = { ...(this.states.get(resource) ?? {}), ...state };
    this.states.set(resource, whole);
    this.pending.set(resource, whole);
    this.schedule(LIVE_INTERVAL_MS);
  }

  // Every resource's whole state at once (the timeline's step). Only other objects than those
  // drawn are sent: the timeline rebuilds a state object only where an event touched it, so a
  // step sends the few it changed, without comparing every resource's contents.
  showStates(states) {
    if (!this.shown) return;
    this.changed = true;
    for (const [resource, state] of Object.entries(states)) {
      if (this.states.get(resource) === state) continue;
      this.states.set(resource, state);
      this.pending.set(resource, state);
    }
    this.schedule();
  }

  // Send what is pending at the next animation frame, and not sooner than `interval` ms after the
  // last send: a live run's drawing at 10 per second looks as live and leaves the main thread
  // (PLR redraws with Konva) free; a timeline step asks for the next frame.
  schedule(interval = 0) {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = Math.max(0, (this.lastSent ?? 0) + interval - performance.now());
    const flush = () => requestAnimationFrame(() => {
      this.scheduled = false;
      if (!this.pending.size) return;
      const batch = Object.fromEntries(this.pending);
      this.pending.clear();
      this.lastSent = performance.now();
      this.send("set_state", batch);
    });
    if (wait > 0) setTimeout(flush, wait);
    else flush();
  }

  // PLR's own events as they come from the worker (a plate moved: resource_assigned / unassigned).
  event(name, data) {
    if (!this.shown) return;
    this.changed = true;
    this.send(name, data);
  }
}
