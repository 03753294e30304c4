// window.labwright: the page's scripting API, backed by the Python worker.
//
//   await labwright.ready            -> {pyodide, python, pylabrobot, libcst, labwright}
//   await labwright.runPython(code)  -> repr of the last expression; rejects with an Error
//                                       whose .message is the Python traceback text and
//                                       .pythonType the exception's class name
//   labwright.bootTimings            -> ms since the worker started, per stage (after ready; after the data opened, its marks too)
//   labwright.onProgress(fn)         -> fn({stage, detail, fraction}) for every boot step
//
// Every page API call is `api.call("area.function", {argument: value})` with an object literal
// naming the Python function's own parameters (browser_runtime/page/<area>.py): a contract test
// (tests/unit/page/test_js_contract.py) reads this file and checks each against the page API.
import * as M from "./messages.js";

//   `io` is the page's port manager (io/port-manager.js): it serves the worker's device IO, and its
//   broker grants devices to the console (REPL, runPython, the device picker) and to hardware runs.
//   `bridge` is the page's bridge server client (bridge-client.js): with its token, the inventory
//   is the lab's (the server's database) rather than the page's own.
export function createLabwright({ io = null, bridge = null, workerURL = new URL("../worker/worker.js", import.meta.url) } = {}) {
  const { worker, early } = startWorker(workerURL);
  io?.attach(worker);
  // The console's grant (REPL, runPython, the device picker): it holds every device the user
  // granted the page unless it released it or a hardware run holds it. It lends a device to a run
  // by stopping its backend there (PLR's stop, page/devices.py suspend) and closing what the REPL
  // left open on it; when the run gives it back, the backend is set up again (resume).
  const consoleGrant = io
    ? io.broker.grant("console", {
        kind: "console",
        yieldDevice: async (name) => {
          await api.call("devices.suspend", { device: name }, { grant: consoleGrant });
          await io.closeHandlesOf(consoleGrant, name);
        },
        restoreDevice: (name) =>
          api.call("devices.resume", { device: name }, { grant: consoleGrant }).then(
            (resumed) => io.broker.changed(name, { restored: resumed.resumed }),
            (err) => io.broker.changed(name, { restored: false, restoreError: err.pythonMessage ?? err.message }),
          ),
      })
    : null;
  if (consoleGrant) io.broker.holdsTheRest(consoleGrant);
  const hardwareListeners = new Set();
  const hardwareRun = (event) => {
    for (const listener of hardwareListeners) listener(event);
  };
  const protocols = new Map(); // hardware run id -> its protocol's name
  // The operator: PLR's input() in a run on devices (or the console) asks the person at the page
  // (webbridge/operator.py); the run waits until someone answers (operator.answer or the view's).
  const questions = new Set();
  const askListeners = new Set();
  if (io) {
    io.operator = (grant, prompt) =>
      new Promise((resolve) => {
        const runId = grant?.kind === "run" ? grant.holder.replace(/^run /, "") : null;
        const question = { runId, holder: grant?.holder ?? null, prompt, answer: (text = "") => (questions.delete(question), resolve(String(text))) };
        questions.add(question);
        if (runId) hardwareRun({ runId, phase: "waiting", prompt, protocol: protocols.get(runId) ?? null, devices: io.broker.devicesOf(grant) });
        for (const listener of askListeners) listener(question);
      });
  }
  const pending = new Map();
  const progressListeners = new Set();
  const eventListeners = new Map(); // channel -> Set of listeners
  let nextId = 1;
  let resolveReady, rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a boot failure is reported through the page and to awaiters
  // The page's data (one tab at a time has it open: see web/data-owner.js).
  let resolveData;
  const dataOpen = new Promise((resolve) => (resolveData = resolve));
  const dataListeners = new Set();
  const dataState = { state: "opening", detail: null, recovered: [] };

  // The inventory: the lab's (the bridge server's database, one for every page and lab PC) when
  // the page was opened from `labwright serve` (#token=) and the server answers; else this page's
  // own (browser-only demo mode, or a lost server). `inventory.source` says which ("server" |
  // "page"), `inventory.lost` why the server's was not used; `inventory.own()` is always the page's.
  async function labInventory() {
    if (bridge?.connected) {
      try {
        const lab = await bridge.inventory();
        Object.assign(labInventory, { source: "server", lost: null, reservations: lab.reservations });
        return lab.assets;
      } catch (error) {
        labInventory.lost = `the bridge server's inventory is out of reach (${error.message}); this page's own is shown`;
      }
    }
    const own = await labInventory.own();
    Object.assign(labInventory, { source: "page", reservations: null });
    return own;
  }
  Object.assign(labInventory, { source: null, lost: null, reservations: null, own: () => api.call("runs.inventory"),
    // This page's own items, edited: with their open reservations; add, change, retire.
    items: (includeRetired = false) => api.call("inventory.items", { include_retired: includeRetired }),
    add: ({ name, type, lot = null, expiresAt = null, volume = null, tips = null, barcode = null, location = null }) =>
      api.call("inventory.add_labware", { name, catalog_fqn: type, lot, expires_at: expiresAt, remaining_volume_ul: volume,
        remaining_tips: tips, barcode, location }),
    update: (assetId, changes) => api.call("inventory.update", { asset_id: assetId, changes }),
    retire: (assetId) => api.call("inventory.retire", { asset_id: assetId }),
  });

  const api = {
    ready,
    bootTimings: null,
    bootInfo: null,
    bootError: null,
    onProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    // Runs in the console's namespace (the REPL's), holding the console's devices.
    runPython(code) {
      return request(M.OPS.runPython, { code, grant: wire(consoleGrant) });
    },
    // Low level: run a page API function in the worker (see browser_runtime/page/door.py).
    // `grant` is for calls that may drive devices (the console's, or a hardware run's).
    call(name, args = {}, { grant = null } = {}) {
      return request(M.OPS.call, { name, args, grant: wire(grant) });
    },
    // Where the page's data is: {state: opening | open | elsewhere | released | error, detail, recovered}.
    data: null, // filled below
    dataOpen,
    catalog: createCatalogApi(),
    // Planning and runs (see README): options = {function, parameters, deck, simulate: true, filename};
    // a hardware run is simulate: false with backends = {parameter: {backend: fqn, kwargs}}.
    async analyze(source, filename = "protocol.py") {
      await api.catalog.loaded;
      return api.call("protocols.analyze", { source, filename });
    },
    // The plan a run would execute, with its `plan_id`: run exactly it with start(source, {planId, ...}).
    async plan(source, options = {}) {
      await api.catalog.loaded;
      return api.call("runs.plan", { source, ...planOptions(options) });
    },
    // options.planId: run that plan (refused as stale if the other options differ from what it was
    // planned from); without it, plan and start at once. A hardware run (simulate: false) asks the
    // device broker for the devices its backends name: the console lends its own (stopping its
    // backends there, setting them up again afterwards); a device another run holds is refused
    // ("held by run 12 — it ends in ~3 min") unless options.takeOver, which stops that run first.
    async start(source, options = {}) {
      await api.catalog.loaded;
      const { simulate, backends } = planOptions(options);
      const start = (grant = null) => api.call("runs.start", { plan_id: options.planId ?? null, source, ...planOptions(options) }, { grant });
      if (simulate) return start();
      const grant = await grantDevices(backends, { takeOver: Boolean(options.takeOver) });
      let started;
      try {
        started = await start(grant);
      } catch (err) {
        await io?.endGrant(grant);
        throw err;
      }
      const runId = started.runId;
      protocols.set(runId, started.protocol);
      // The devices it held, for what is said when it ends (an alert names them): the grant is gone by then.
      let devices = io.broker.devicesOf(grant);
      const ended = api.wait(runId).then(
        (result) => hardwareRun({ runId, phase: "ended", status: result.status, error: result.error, protocol: started.protocol, devices }),
        (err) => hardwareRun({ runId, phase: "ended", status: "failed", error: { type: err.pythonType ?? "Error", message: err.pythonMessage ?? err.message }, protocol: started.protocol, devices }),
      ).finally(() => io.endGrant(grant));
      // Taking a device over stops the run cleanly: cancelled, machines stopped, devices given back.
      io.broker.update(grant, { holder: `run ${runId}`, hooks: { stop: () => api.cancel(runId).then(() => ended) } });
      devices = io.broker.devicesOf(grant);
      hardwareRun({ runId, phase: "started", protocol: started.protocol, devices });
      // When it should end, for "held by run 12 — it ends in ~3 min": the scheduler's estimate.
      const { function: fn, parameters, deck, filename } = planOptions(options);
      api.schedule.estimate(source, { function: fn, parameters, deck, filename })
        .then((estimate) => {
          if (estimate?.duration_s != null && io.broker.grants.has(grant.token)) io.broker.update(grant, { expectedEnd: grant.since + estimate.duration_s * 1000 });
        })
        .catch(() => {});
      return started;
    },
    // { events: false }: the result without its events (`event_count` instead; a long run's are
    // megabytes): runs.events gives them in slices.
    wait: (runId, { events = true } = {}) => api.call("runs.wait", { run_id: runId, events }).then(withWholeStates),
    async run(source, options = {}) {
      const { runId } = await api.start(source, options);
      return api.wait(runId);
    },
    // Cancel stops the protocol at its next await; a protocol busy without awaiting (the worker
    // does not answer) is interrupted through the shared buffer.
    cancel(runId) {
      // A run waiting for the operator (input()) is blocked until answered: answer it empty.
      for (const question of questions) if (question.runId === runId) question.answer("");
      return interrupting(api.call("runs.cancel", { run_id: runId }));
    },
    // Prompts waiting for the operator: [{runId, holder, prompt, answer(text)}]; fn(question) for each new one.
    operator: {
      pending: () => [...questions],
      onAsk(listener) {
        askListeners.add(listener);
        return () => askListeners.delete(listener);
      },
    },
    runs: {
      history: (limit = 50) => api.call("runs.history", { limit }),
      get: (runId, { events = true } = {}) => api.call("runs.get", { run_id: runId, events }).then(withWholeStates),
      // {events, total}: the run's events start..stop as stored (a state event holds what changed,
      // see "Run events" below), of a running, ended or stored run.
      events: (runId, start = 0, stop = null) => api.call("runs.events", { run_id: runId, start, stop }),
      active: () => api.call("runs.active"),
      // A hardware run's device IO in PLR's capture format ({version, commands, labwright}).
      capture: (runId) => api.call("devices.run_capture", { run_id: runId }),
      // Replay a capture (a run's id, or the capture itself) against its protocol, or `source`:
      // the same real backends, no device touched; fails at the first divergent command.
      async replay(runOrCapture, { source = null } = {}) {
        await api.catalog.loaded;
        const byId = typeof runOrCapture === "string";
        const { runId } = await api.call("devices.replay", { run_id: byId ? runOrCapture : null, capture: byId ? null : runOrCapture, source });
        return api.wait(runId);
      },
    },
    // fn({runId, phase: "started" | "waiting" | "ended", status, error, prompt, protocol, devices})
    // for every hardware run: it started, waits for the operator (input()), ended.
    onHardwareRun(listener) {
      hardwareListeners.add(listener);
      return () => hardwareListeners.delete(listener);
    },
    inventory: labInventory,
    // Protocol files being edited (page/protocols.py): problems at their lines, Jedi completion and
    // signatures over the file alone (none of its code runs), a plain PLR script made a protocol.
    protocols: {
      diagnose: (source, filename = "protocol.py", { plan = true } = {}) => api.call("protocols.diagnose", { source, filename, plan }),
      complete: (source, line, column, limit = 60) => api.call("protocols.complete", { source, line, column, limit }),
      signatures: (source, line, column) => api.call("protocols.signatures", { source, line, column }),
      toProtocol: (source, filename = "script.py") => api.call("protocols.to_protocol", { source, filename }),
    },
    // The page's protocol files (page/library.py): autosaved drafts, numbered versions, diffs.
    library: {
      files: () => api.call("library.files"),
      open: (fileId) => api.call("library.open_file", { file_id: fileId }),
      create: (name, source = "", origin = "new") => api.call("library.create", { name, source, origin }),
      copyDemo: (demo, source) => api.call("library.copy_demo", { demo, source }),
      saveDraft: (fileId, source, revision = null) => api.call("library.save_draft", { file_id: fileId, source, revision }),
      saveVersion: (fileId, label = null) => api.call("library.save_version", { file_id: fileId, label }),
      versions: (fileId) => api.call("library.versions", { file_id: fileId }),
      diff: (fileId, older = null, newer = null) => api.call("library.diff", { file_id: fileId, older, newer }),
      restore: (fileId, number) => api.call("library.restore", { file_id: fileId, number }),
      rename: (fileId, name) => api.call("library.rename", { file_id: fileId, name }),
      duplicate: (fileId, name = null) => api.call("library.duplicate", { file_id: fileId, name }),
      delete: (fileId) => api.call("library.delete", { file_id: fileId }),
    },
    repl: {
      execute: (code) => api.call("repl.execute", { code }, { grant: consoleGrant }),
      complete: (code, line = null, column = null) => api.call("repl.complete", { code, line, column }),
      signatures: (code, line = null, column = null) => api.call("repl.signatures", { code, line, column }),
      scope: () => api.call("repl.scope"),
      onOutput: (listener) => api.onEvent("repl", listener),
      // fn({event, data}) for each change console inputs make to the deck in scope: PLR's visualizer
      // events (set_state, resource_assigned, resource_unassigned) or "show" for a new deck
      onDeck: (listener) => api.onEvent("deck", listener),
      // Busy Python gets KeyboardInterrupt through the shared buffer; a statement waiting
      // at an await is cancelled by the worker.
      interrupt() {
        return interrupting(api.call("repl.cancel"));
      },
    },
    // The schedule (browser_runtime.scheduler.page_api): labwright.schedule() is the whole
    // schedule as JSON; writes take the revision they were based on (a stale one is refused).
    schedule: Object.assign(() => api.call("schedule.schedule"), {
      workcells: () => api.call("schedule.workcells"),
      machines: () => api.call("schedule.machines"),
      addWorkcell: (name, machineIds, deck = null, expectedRevision = null) =>
        api.call("schedule.add_workcell", { name, machine_ids: machineIds, deck, expected_revision: expectedRevision }),
      removeWorkcell: (name, expectedRevision = null) =>
        api.call("schedule.remove_workcell", { name, expected_revision: expectedRevision }),
      async estimate(source, options = {}) {
        await api.catalog.loaded;
        const { function: fn = null, parameters = {}, filename = "protocol.py", deck = null } = options;
        return api.call("schedule.estimate", { source, function: fn, parameters, filename, deck });
      },
      async submit(requests, expectedRevision = null) {
        await api.catalog.loaded;
        return api.call("schedule.submit", { requests, expected_revision: expectedRevision });
      },
      replan: (method = "heuristic", expectedRevision = null, { seed = 0, iterations = 400 } = {}) =>
        api.call("schedule.replan", { method, seed, iterations, expected_revision: expectedRevision }),
      start: (runId) => api.call("schedule.start", { run_id: runId }),
      heartbeat: (runId) => api.call("schedule.heartbeat", { run_id: runId }),
      execute: (runId) => api.call("schedule.execute", { run_id: runId }),
      finish: (runId, status = "completed", reason = null) => api.call("schedule.finish", { run_id: runId, status, reason }),
      cancel: (runId, reason = "cancelled") => api.call("schedule.cancel", { run_id: runId, reason }),
      // filters: {asset_id, run_id, starts_at, ends_at, status}, each optional
      reservations: ({ asset_id = null, run_id = null, starts_at = null, ends_at = null, status = null } = {}) =>
        api.call("schedule.reservations", { asset_id, run_id, starts_at, ends_at, status }),
      clearReservation: (reservationId, reason, expectedRevision = null) =>
        api.call("schedule.clear_reservation", { reservation_id: reservationId, reason, expected_revision: expectedRevision }),
    }),
    // Devices: the scripting surface (README, "Devices from scripts"). What the page was granted,
    // who holds each (the console or a run: the device broker), PLR backends connected on them in
    // the console (page/devices.py), which runPython and the REPL see under the same variables.
    devices: {
      async list() {
        return (await io.list()).map((device) => ({ ...device, holder: io.broker.holderOf(device.name), held: io.broker.describe(device.name).text }));
      },
      // Who holds the device: "console", "run 3fa2c1", or null (released: nobody).
      owner: (name) => io.broker.holderOf(name),
      // {holder, kind, since, expectedEnd, lentBy, text: "held by run 12 — it ends in ~3 min"}.
      describe: (name) => io.broker.describe(name),
      // The console takes the device (back): refused while a run holds it, unless takeOver, which
      // stops that run cleanly first. Returns the holder.
      async hold(name, { takeOver = false } = {}) {
        await io.handOver(name, consoleGrant, { takeOver });
        return io.broker.holderOf(name);
      },
      // The console lets go of the device: its backend there is stopped (PLR's stop), what the
      // REPL opened on it is closed, and nobody holds it (another tab or program may open it)
      // until hold() or a hardware run asks for it. Refused for a device a run holds. Returns the
      // holder (null).
      async release(name) {
        const holder = io.broker.ownerOf(name);
        if (holder && holder !== consoleGrant.token) throw new Error(`${name} is ${io.broker.describe(name).text}: it is not the console's to release`);
        await api.call("devices.disconnect", { device: name }, { grant: consoleGrant });
        await io.letGo(consoleGrant, name);
        return io.broker.holderOf(name);
      },
      onChange: (listener) => io.broker.onChange(listener),
      // The USB ids the browser's choosers are filtered by, and the FTDI chips among them.
      usbIds: () => api.call("devices.usb_ids"),
      // The backends that can drive a granted `kind` ("serial" | "usb" | "hid") device, best first, with
      // why, whether one may be preselected (`preselect`) or the user must choose (`ambiguous`).
      backendsFor: (kind, vendorId = null, productId = null) =>
        api.call("devices.backends_for", { kind, vendor_id: vendorId, product_id: productId }),
      // A backend's constructor parameters, with the values to fill in for `device` ({name, kind, serial_number}).
      backendParameters: (fqn, device = null) => api.call("devices.backend_parameters", { fqn, device }),
      // Set up `backend` on the device with `settings` ({parameter: literal text}); the console holds
      // it (taken back if it had released it; refused while a run holds it).
      async connect(name, backend, settings = {}) {
        if (io.broker.ownerOf(name) !== consoleGrant.token) await io.handOver(name, consoleGrant);
        return api.call("devices.connect", { device: name, backend, settings }, { grant: consoleGrant });
      },
      // A machine (a heater-shaker at index 2) talking through what is connected on `name` (its box,
      // a STAR): one connection carries both. Resolves to {device: "<name>/<n>", variable}.
      route: (name, backend, settings = {}) => api.call("devices.route", { device: name, backend, settings }, { grant: consoleGrant }),
      disconnect: (name) => api.call("devices.disconnect", { device: name }, { grant: consoleGrant }),
      connections: () => api.call("devices.connections"),
      // {backend, kwargs} for labwright.run's `backends`; `interface`: {backend, settings} of the
      // device a routed machine talks through.
      runSpec: (name, backend, settings = {}, interface_ = null) =>
        api.call("devices.run_spec", { device: name, backend, settings, interface: interface_ }),
      // Record the console's device IO (PLR's capture format) until stop(), which returns it.
      capture: {
        start: () => api.call("devices.capture_start", {}, { grant: consoleGrant }),
        stop: () => api.call("devices.capture_stop", {}, { grant: consoleGrant }),
      },
    },
    // The deck of a plan's layout: which placements sit at a numbered position (and can be dragged),
    // and where one goes when dragged by dx, dy mm (rails on Hamilton decks, slots on an OT-2).
    deck: {
      positions: (layout) => api.call("deck.positions", { layout }),
      move: (layout, placement, dx, dy = 0) => api.call("deck.move", { layout, placement, dx, dy }),
    },
    // fn({runId, event}) for every run event, as it comes (the worker sends them in batches:
    // api.onEvent("run", fn) gets each batch {runId, events}); a state event's `state` is the
    // resource's whole state (see "Run events" below).
    onRunEvent: (listener) => api.onEvent("run", ({ runId, events }) => {
      for (const event of events) listener({ runId, event });
    }),
    // fn(payload) for every event the worker posts on `channel` ("run", ...)
    onEvent(channel, listener) {
      if (!eventListeners.has(channel)) eventListeners.set(channel, new Set());
      eventListeners.get(channel).add(listener);
      return () => eventListeners.get(channel).delete(listener);
    },
  };

  // The PLR definitions catalog, held by the worker (SQLite in IndexedDB). `loaded` settles
  // once the first load (bridge server, cached copy or the prebuilt catalog) is done.
  function createCatalogApi() {
    let loading = null;
    const catalogApi = {
      load() {
        loading = ready.then(() => dataOpen).then(() =>
          api.call("catalog.load", { prebuilt: api.bootInfo.catalog && { url: api.bootInfo.catalog.url, sha256: api.bootInfo.catalog.sha256 } }),
        );
        return loading;
      },
      get loaded() {
        return loading ?? catalogApi.load();
      },
      status: () => api.call("catalog.status"),
      get: (fqn) => api.call("catalog.get", { fqn }),
      search: (text = "", { limit = 50, section = null } = {}) => api.call("catalog.search", { text, limit, section }),
      byCategory: (category) => api.call("catalog.by_category", { category }),
      dimensions: (fqn) => api.call("catalog.dimensions", { fqn }),
      addDefinition: (serialized) => api.call("catalog.add_custom_definition", { serialized }),
      // Where a resource's PLR serialize() document is (prebuilt catalog files, fetched lazily).
      serializedURL(entry) {
        const base = api.bootInfo?.catalog?.base;
        return base && entry?.serialized ? new URL(entry.serialized, base).href : null;
      },
    };
    return catalogApi;
  }

  // What a plan is made from besides the source (a run is refused if these differ from its plan's).
  function planOptions(options) {
    const { function: fn = null, parameters = {}, deck = null, filename = "protocol.py", simulate = true, backends = null,
      chosen = null } = options;
    return { function: fn, parameters, deck, filename, simulate, backends, chosen: chosen && Object.keys(chosen).length ? chosen : null };
  }

  // A grant for a hardware run: every device its backends name, handed over by the broker.
  async function grantDevices(backends, { takeOver }) {
    if (!io) throw new Error("hardware runs need the page's port manager (createLabwright({io}))");
    const selectors = await api.call("runs.devices", { backends: backends ?? {} });
    const grant = io.broker.grant("a hardware run", { kind: "run" });
    try {
      for (const [parameter, wanted] of Object.entries(selectors)) {
        const names = await io.resolve(wanted);
        if (!names.length) {
          const described = wanted.map((w) => w.port ?? `${w.vid.toString(16).padStart(4, "0")}:${w.pid.toString(16).padStart(4, "0")}`).join(" or ");
          throw new Error(`${parameter}: no granted device is ${described}; connect it first`);
        }
        for (const name of names) await io.handOver(name, grant, { takeOver });
      }
    } catch (err) {
      await io.endGrant(grant);
      throw err;
    }
    return grant;
  }

  // What travels to the worker of a grant: its token and holder, never its hooks.
  function wire(grant) {
    return grant ? { token: grant.token, holder: grant.holder } : null;
  }

  // Wait for `reply`; if the worker has not answered in a second it is busy in Python: interrupt it
  // (the worker stops only the user's busy code with it: browser_runtime/interrupts.py). A run pauses
  // between commands at least every 100 ms, so its cancel is answered well before: it then stops
  // cleanly between two commands, where an interrupt could land inside one.
  // Every second until it answers: an interrupt that lands before the user's code runs (the
  // worker still parsing, say) is dropped there, so one is not enough on a busy machine.
  function interrupting(reply) {
    const timer = interruptBuffer ? setInterval(() => Atomics.store(interruptBuffer, 0, 2), 1000) : null;
    return reply.finally(() => {
      clearInterval(timer);
      if (interruptBuffer) Atomics.store(interruptBuffer, 0, 0);
    });
  }

  api.data = Object.assign(dataState, {
    onChange(listener) {
      dataListeners.add(listener);
      return () => dataListeners.delete(listener);
    },
    // Move the page's data to this tab (the tab that has it saves and lets go).
    takeOver: () => request(M.OPS.takeOver, {}),
    export: () => api.call("data.export_database"),
    import: (base64) => api.call("data.import_database", { base64_data: base64 }),
    undoImport: () => api.call("data.undo_import"),
    canUndoImport: () => api.call("data.can_undo_import"),
    plans: () => api.call("data.saved_plans"),
    savePlan: (name, source, options = {}, filename = "protocol.py") =>
      api.call("data.save_plan", { name, source, options, filename }),
    deletePlan: (name) => api.call("data.delete_plan", { name }),
  });

  function request(op, args) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, op });
      worker.postMessage({ type: M.REQUEST, id, op, ...args });
    });
  }

  const interruptBuffer = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
  if (interruptBuffer) worker.postMessage({ type: M.INTERRUPT_BUFFER, buffer: interruptBuffer.buffer });

  worker.onmessage = (event) => {
    const message = event.data;
    switch (message.type) {
      case M.PROGRESS:
        for (const listener of progressListeners) listener(message);
        break;
      case M.READY:
        api.bootTimings = message.timings;
        api.bootInfo = { snapshot: message.snapshot, buildId: message.buildId, catalog: message.catalog };
        resolveReady(message.versions);
        break;
      case M.BOOT_ERROR: {
        const error = new Error(message.message);
        error.stage = message.stage;
        api.bootError = { stage: message.stage, message: message.message };
        for (const listener of progressListeners) listener({ stage: message.stage, error: message.message });
        rejectReady(error);
        for (const { reject } of pending.values()) reject(error);
        pending.clear();
        break;
      }
      case M.DATA: {
        Object.assign(dataState, { state: message.state, detail: message.detail, recovered: message.recovered ?? dataState.recovered });
        if (message.timings) api.bootTimings = message.timings; // the marks after ready too (files, data)
        if (message.state === "open") resolveData();
        for (const listener of dataListeners) listener({ ...dataState });
        break;
      }
      case M.EVENT: {
        const payload = message.channel === "run" ? liveStates.apply(message.payload) : message.payload;
        for (const listener of eventListeners.get(message.channel) ?? []) listener(payload);
        break;
      }
      case M.RESULT:
      case M.FAILURE: {
        const waiter = pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id);
        if (message.type === M.RESULT) {
          waiter.resolve(message.value);
        } else {
          // runPython rejects with the traceback text itself; API calls with "Type: message".
          const text =
            waiter.op === M.OPS.runPython ? message.error.traceback : `${message.error.type}: ${message.error.message}`;
          const error = new Error(text);
          error.traceback = message.error.traceback;
          error.pythonType = message.error.type;
          error.pythonMessage = message.error.message;
          error.problems = message.error.problems ?? []; // [{parameter | field, message, ...}] of a PlanError
          waiter.reject(error);
        }
        break;
      }
    }
  };
  // ---- Run events -----------------------------------------------------------------------
  // A state event holds what changed in the resource's PLR state since its previous one in the
  // run (the first holds all of it; `replace: true` all of it again): browser_runtime/runner/
  // events.py. What the page's code gets holds the whole state, as PLR's serialize_state() gives.
  const liveStates = {
    runs: new Map(), // runId -> Map(resource -> whole state), while the run goes on
    apply({ runId, events }) {
      if (!this.runs.has(runId)) this.runs.set(runId, new Map());
      const whole = wholeStates(this.runs.get(runId), events);
      const last = events[events.length - 1];
      if (last?.type === "status" && last.status !== "running") this.runs.delete(runId);
      return { runId, events: whole };
    },
  };

  function wholeStates(states, events) {
    return events.map((event) => {
      if (event.type !== "state") return event;
      const before = event.replace ? undefined : states.get(event.resource);
      const state = { ...before, ...event.state };
      states.set(event.resource, state);
      return { ...event, state };
    });
  }

  // A run's result or record (runs.wait, runs.get) with whole states in its events.
  function withWholeStates(run) {
    return run?.events ? { ...run, events: wholeStates(new Map(), run.events) } : run;
  }

  worker.onerror = (event) => {
    const error = new Error(`the Python worker failed: ${event.message ?? "unknown error"}`);
    api.bootError = api.bootError ?? { stage: "runtime", message: error.message };
    rejectReady(error);
  };
  for (const event of early) worker[`on${event.type}`](event); // what it posted (or failed) before this took it over
  return api;
}

// The worker web/worker/early.js started as the page began (if it is this one, and not taken
// yet) with what it has posted so far; else a new one.
function startWorker(url) {
  const started = self.labwrightEarlyWorker;
  if (started && started.url === new URL(url).href) {
    delete self.labwrightEarlyWorker;
    return started;
  }
  return { worker: new Worker(url, { type: "module", name: "labwright-python" }), early: [] };
}
