// The device picker: the user gesture Chrome needs to grant a serial port, USB or HID device
// (filtered by the USB ids PLR's backends declare in the catalog), the PLR backends that match
// a granted device, that backend's settings, its connection state and who holds it (the device
// broker). Which backends fit a device, in what order, whether one may be chosen for the user,
// and what to fill in for it, Python says (page/devices.py).
//
// A device is remembered by its identity (port-manager.js identityOf: its USB serial number, else
// its USB id) and, for devices sharing an identity, by the name the user gives each and their
// order: the backend chosen for it, its settings (never the per-load port name, which is filled in
// anew), whether it was connected and the machines routed through it. A reload reconnects what was
// connected without a prompt; a replugged device takes its own row back and reconnects.
import { IOError } from "../io/io-protocol.js";
import { h } from "./dom.js";

const STORE_KEY = "labwright.devicePicker";
const STORE_VERSION = 2;
// How the catalog's serial line settings (pyserial's names) are shown.
const LINE_LABELS = { baudrate: "baud", bytesize: "data bits", parity: "parity", stopbits: "stop bits", rtscts: "RTS/CTS", dsrdtr: "DSR/DTR" };
// A per-load counter name ('webserial-0'): filled in on every load, never remembered.
const COUNTER_NAME = /^\s*(['"])web(serial|usb|hid)-\d+\1\s*$/;

function hex4(n) {
  return (n ?? 0).toString(16).toUpperCase().padStart(4, "0");
}

function usbId(vid, pid) {
  return vid == null ? null : `${hex4(vid)}:${hex4(pid)}`;
}

// The browser's chooser filters for `kind` from the USB ids Python lists ({vid, pid}).
function chooserFilters(kind, ids) {
  return ids.map(({ vid, pid }) => (kind === "serial" ? { usbVendorId: vid, usbProductId: pid } : { vendorId: vid, productId: pid }));
}

// {version, devices: {identity: [record, ...]}, remotePorts}: one record per device with that
// identity, in the order they were seen; a record is {label, backend, settings, connected, routes}.
function loadStore() {
  let stored;
  try {
    stored = JSON.parse(localStorage.getItem(STORE_KEY) ?? "{}");
  } catch {
    stored = {};
  }
  const store = { version: STORE_VERSION, devices: {}, remotePorts: stored.remotePorts ?? [] };
  if (stored.version === STORE_VERSION) {
    store.devices = stored.devices ?? {};
  } else {
    // Version 1 keyed "kind:VVVV:PPPP:serial" and kept the per-load port name in the settings.
    for (const [key, record] of Object.entries(stored.devices ?? {})) {
      const [kind, id, serial] = key.split(":").length >= 3 ? [key.split(":")[0], `${key.split(":")[1]}:${key.split(":")[2]}`, key.split(":").slice(3).join(":")] : [null];
      if (!kind || key.startsWith("remote:")) continue;
      const identity = `${kind}:${id.toLowerCase()}${serial ? `:${serial}` : ""}`;
      const settings = Object.fromEntries(Object.entries(record.settings ?? {}).filter(([, text]) => !COUNTER_NAME.test(text)));
      store.devices[identity] = [{ label: "", backend: record.backend, settings, connected: Boolean(record.connected), routes: [] }];
    }
  }
  return store;
}

// `ports`: the page's port manager; `bridge`: the bridge server's client (its serial ports are
// offered as remote ports when the page has the token).
export function initDevicePicker(labwright, ports, bridge = null, root = document.getElementById("device-picker")) {
  if (!root || !ports) return null;
  const store = loadStore();
  const save = () => localStorage.setItem(STORE_KEY, JSON.stringify(store));
  const rows = new Map(); // row key (identity#ordinal) -> row
  let usbIds = null; // {choosers: {kind: [{vid, pid}]}, ftdi, backends}, once the catalog is loaded

  const status = h("small", { class: "picker-status" });
  const anyDevice = h("input", { type: "checkbox", class: "any-device" });
  const kindButton = (kind, label, api) =>
    h("button", { type: "button", class: "request", disabled: true, "data-kind": kind, title: api ? `${label} (${api})` : label }, label);
  const buttons = {
    serial: kindButton("serial", "Serial port…", ports.serial ? "Web Serial" : "this browser has no Web Serial"),
    usb: kindButton("usb", "USB device…", ports.usb ? "WebUSB" : "this browser has no WebUSB"),
    hid: kindButton("hid", "HID device…", ports.hid ? "WebHID" : "this browser has no WebHID"),
  };
  // The serial ports the lab PC lists (its discovery, with the backends it infers), offered
  // as suggestions when this page came from `labwright serve` with its token.
  const serverPorts = h("datalist", { id: "bridge-serial-ports" });
  const remotePath = h("input", { class: "remote-path", placeholder: "/dev/ttyUSB0", "aria-label": "Serial port path on the bridge server", list: serverPorts.id });
  const remoteForm = h("form", { class: "remote-port" },
    h("label", {}, "Serial port on the bridge server ", remotePath),
    serverPorts,
    h("button", { type: "submit" }, "Add remote port"));
  const message = h("p", { class: "picker-message", role: "status" });
  const list = h("ul", { class: "picker-devices" });
  root.classList.add("panel");
  root.replaceChildren(
    h("h2", {}, "Connect a device ", status),
    h("div", { class: "picker-actions" }, buttons.serial, buttons.usb, buttons.hid,
      h("label", {}, anyDevice, " any device, not only the USB ids PLR's backends declare")),
    remoteForm,
    message,
    list,
  );

  function say(text, kind = "") {
    message.textContent = text;
    message.className = `picker-message ${kind}`;
  }

  const rowNamed = (name) => [...rows.values()].find((row) => row.name === name) ?? null;

  // ------------------------------------------------------------ granting (the user gesture)

  async function request(kind) {
    const filters = anyDevice.checked ? [] : chooserFilters(kind, usbIds.choosers[kind]);
    const api = ports[kind];
    if (!api) return say(`This browser cannot reach ${kind} devices (use Chrome or Edge).`, "bad");
    try {
      let granted;
      if (kind === "serial") granted = [await api.requestPort({ filters })];
      else if (kind === "usb") granted = [await api.requestDevice({ filters })];
      else granted = await api.requestDevice({ filters });
      if (!granted?.length) return say("No device was chosen.");
      await refresh();
      const names = granted.map((target) => ports.nameOf(kind, target));
      const described = names.map((name) => {
        const row = rowNamed(name);
        return `${name}${row?.usbId ? ` (${row.usbId})` : ""}${row?.suggestion ? `: ${row.suggestion}` : ""}`;
      });
      say(`Granted ${described.join(", ")}.`, "ok");
    } catch (err) {
      // NotFoundError: the user closed the chooser without picking anything
      say(err?.name === "NotFoundError" ? "No device was chosen." : `Could not ask for a device: ${err.name}: ${err.message}`, err?.name === "NotFoundError" ? "" : "bad");
    }
  }

  for (const [kind, button] of Object.entries(buttons)) button.addEventListener("click", () => request(kind));

  remoteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const path = remotePath.value.trim();
    try {
      const name = ports.addBridgePort(path);
      if (!store.remotePorts.includes(path)) store.remotePorts.push(path);
      save();
      remotePath.value = "";
      await refresh();
      say(`Added ${name}: PLR backends open it as port '${name}'.`, "ok");
    } catch (err) {
      say(err instanceof IOError ? err.message : `${err.name}: ${err.message}`, "bad");
    }
  });

  // ------------------------------------------------------------ what is remembered of a device

  function record(row) {
    const records = (store.devices[row.id] ??= []);
    while (records.length <= row.ordinal) records.push({ label: "", backend: null, settings: {}, connected: false, routes: [] });
    return records[row.ordinal];
  }

  // Settings worth remembering: what the user typed, except the per-load port names.
  function rememberable(settings) {
    return Object.fromEntries(Object.entries(settings).filter(([, text]) => !COUNTER_NAME.test(text)));
  }

  // ------------------------------------------------------------ rows

  function setState(row, state, reason = "") {
    row.state = state;
    row.element.dataset.state = state;
    row.stateLabel.textContent = reason ? `${state}: ${reason}` : state;
    row.stateLabel.title = reason;
    const heldElsewhere = row.held?.holder && row.held.holder !== "console";
    row.connectButton.disabled = state === "connecting" || state === "connected" || !row.backend || heldElsewhere || !row.present;
    row.disconnectButton.disabled = state !== "connected";
    row.routes.hidden = !(state === "connected" && row.backend?.routes?.length);
  }

  // Who holds the device (the broker): shown on the row; a run's can be taken over. A connected
  // device lent to a run is "lent" until the run gives it back and the console has set it up again.
  function showHolder(row, news = {}) {
    const held = ports.broker.describe(row.name);
    row.held = held;
    row.element.dataset.holder = held.holder ?? "";
    const byRun = held.kind === "run";
    row.holderLabel.textContent = byRun || held.holder === null ? held.text : "";
    row.takeOverButton.hidden = !byRun;
    row.takeOverButton.textContent = byRun ? `Take over (stops ${held.holder})` : "Take over";
    // `givenBack`: the console lent its set-up device and waits to set it up again, whatever the
    // row shows meanwhile (a take-over shows "connecting" while it stops the run).
    if (byRun && (row.state === "connected" || row.state === "lent")) {
      row.givenBack = true;
      setState(row, "lent", `to ${held.holder}`);
    } else if (row.givenBack && news.restored === true) {
      row.givenBack = false;
      setState(row, "connected", row.connectedText);
    } else if (row.givenBack && news.restored === false) {
      row.givenBack = false;
      setState(row, "error", `could not be set up again: ${news.restoreError ?? "it was not connected"}`);
    } else setState(row, row.state, row.stateLabel.title);
  }

  function makeRow(device, id, ordinal) {
    const row = { key: `${id}#${ordinal}`, id, ordinal, name: device.name, kind: device.kind, device, present: true, usbId: usbId(device.vendorId, device.productId), routed: [] };
    row.nameInput = h("input", { class: "device-label", placeholder: "name it", "aria-label": `Your name for ${device.name}`, spellcheck: "false" });
    row.backendSelect = h("select", { class: "backend", "aria-label": `PLR backend for ${device.name}` });
    row.note = h("span", { class: "match-note" });
    row.settings = h("div", { class: "settings" });
    row.line = h("p", { class: "line-settings" });
    row.help = h("p", { class: "driver-help", hidden: true });
    row.stateLabel = h("span", { class: "state" });
    row.holderLabel = h("span", { class: "holder" });
    row.connectButton = h("button", { type: "button", class: "connect" }, "Connect");
    row.disconnectButton = h("button", { type: "button", class: "disconnect" }, "Disconnect");
    row.takeOverButton = h("button", { type: "button", class: "take-over", hidden: true }, "Take over");
    row.routeSelect = h("select", { class: "route-backend", "aria-label": "Machine on this device" });
    row.routeSettings = h("span", { class: "route-settings" });
    row.routeButton = h("button", { type: "button", class: "add-route" }, "Add");
    row.routeList = h("ul", { class: "routed" });
    row.routes = h("div", { class: "routes", hidden: true },
      h("label", {}, "Machines on it ", row.routeSelect), row.routeSettings, row.routeButton, row.routeList);
    row.element = h("li", { "data-name": device.name, "data-id": id, "data-kind": device.kind },
      h("div", { class: "device-head" },
        h("b", { class: "device-name" }, device.name),
        row.usbId ? h("code", { class: "usb-id" }, row.usbId) : null,
        device.serialNumber ? h("code", { class: "serial-number" }, device.serialNumber) : null,
        h("span", { class: "product" }, device.remote ? "on the bridge server" : device.productName ?? ""),
        row.nameInput,
        row.holderLabel,
        row.stateLabel),
      h("label", {}, "PLR backend ", row.backendSelect),
      row.note,
      row.settings,
      row.line,
      row.help,
      h("div", { class: "device-actions" }, row.connectButton, row.disconnectButton, row.takeOverButton),
      row.routes);
    row.backendSelect.addEventListener("change", () => chooseBackend(row, row.backendSelect.value).catch((err) => setState(row, "error", err.message)));
    row.connectButton.addEventListener("click", () => connect(row));
    row.disconnectButton.addEventListener("click", () => disconnect(row));
    row.takeOverButton.addEventListener("click", () => takeOver(row));
    row.routeSelect.addEventListener("change", () => chooseRoute(row).catch((err) => (row.note.textContent = err.message)));
    row.routeButton.addEventListener("click", () => addRoute(row));
    row.nameInput.addEventListener("change", () => nameDevice(row, row.nameInput.value.trim()));
    setState(row, "available");
    return row;
  }

  // The user's name for the device: remembered with it, and a name Python can open it by.
  function nameDevice(row, label) {
    const taken = [...rows.values()].some((other) => other !== row && other.label === label && label);
    if (taken) {
      row.nameInput.value = row.label ?? "";
      return say(`Another device is named ${label} already.`, "bad");
    }
    row.label = label;
    record(row).label = label;
    save();
    ports.setLabel(row.name, label);
    row.element.dataset.label = label;
  }

  // A device (re)appeared as `device` in this page load: the row is bound to its current name.
  function bind(row, device) {
    if (row.name !== device.name) row.previousName = row.name;
    row.name = device.name;
    row.device = device;
    row.present = true;
    row.element.dataset.name = device.name;
    row.element.querySelector(".device-name").textContent = device.name;
    row.backendSelect.setAttribute("aria-label", `PLR backend for ${device.name}`);
    if (row.label) ports.setLabel(device.name, row.label);
    for (const { parameter, input } of row.fields ?? []) {
      if (parameter.device && COUNTER_NAME.test(input.value)) input.value = `'${device.name}'`;
    }
  }

  // The backends that can drive the row's device, best first as Python ranks them (page/devices.py
  // backends_for), offered in its backend choice with the note saying why these.
  async function offerBackends(row) {
    const found = await labwright.devices.backendsFor(row.kind, row.device.vendorId, row.device.productId);
    const { matched, backends, io_kinds: ioKinds } = found;
    row.candidates = backends;
    row.preselect = found.preselect;
    row.backendSelect.replaceChildren(
      h("option", { value: "" }, "— choose a backend —"),
      ...backends.map((entry) => h("option", { value: entry.fqn, title: [entry.fqn, ...entry.why].join("\n") }, entry.deprecated ? `${entry.name} (deprecated)` : entry.name)),
    );
    row.element.dataset.backends = backends.map((entry) => entry.name).join(" ");
    row.matched = matched;
    row.ambiguous = found.ambiguous;
    row.element.dataset.ambiguous = found.ambiguous ? "true" : "false";
    row.note.textContent = found.ambiguous
      ? `${found.ambiguous}: ${backends.map((entry) => entry.name).join(", ")}`
      : matched
        ? `USB id ${row.usbId} is declared by ${backends.map((entry) => entry.name).join(", ")}`
        : `no backend in the catalog declares ${row.usbId ? `USB id ${row.usbId}` : "this port"}: every ${ioKinds.join("/")} backend is offered`;
    row.suggestion = matched ? backends.map((entry) => entry.name).join(", ") : "";
  }

  // The backend remembered for the row's device, else the one Python says may be preselected
  // (none for an ambiguous id: a general-purpose chip, or machines of several kinds).
  async function chooseRemembered(row) {
    const remembered = store.devices[row.id]?.[row.ordinal];
    if (remembered?.label) {
      row.label = remembered.label;
      row.nameInput.value = remembered.label;
      row.element.dataset.label = remembered.label;
      ports.setLabel(row.name, remembered.label);
    }
    const chosen = remembered?.backend ?? row.preselect ?? "";
    if (!chosen) return null;
    row.backendSelect.value = chosen;
    return chooseBackend(row, chosen, remembered?.settings);
  }

  async function chooseBackend(row, fqn, rememberedSettings = null) {
    row.backend = row.candidates?.find((entry) => entry.fqn === fqn) ?? null;
    row.settings.replaceChildren();
    row.line.textContent = "";
    row.fields = [];
    if (!row.backend) return setState(row, row.state === "connected" ? "connected" : "available");
    if (!rememberedSettings) {
      // A choice the user made is remembered for this device at once (an ambiguous id asked for it).
      record(row).backend = fqn;
      save();
    }
    setState(row, row.state === "connected" ? "connected" : "available");
    const entry = row.backend;
    const serial = entry.serial ?? null;
    if (serial) {
      const parts = Object.entries(LINE_LABELS)
        .filter(([key]) => serial[key] !== null && serial[key] !== undefined)
        .map(([key, label]) => `${label} ${serial[key]}`);
      row.line.textContent = `Line settings PLR's backend opens the port with (from the catalog): ${parts.join(", ") || "not stated"}`;
    }
    row.settings.dataset.loading = "true";
    // Read in the worker from the class, with the values for this device filled in (its port, serial number).
    const device = { name: row.name, kind: row.kind, serial_number: row.device.serialNumber ?? null };
    const parameters = await labwright.devices.backendParameters(entry.fqn, device);
    if (row.backend !== entry) return null; // another backend was chosen meanwhile
    delete row.settings.dataset.loading;
    for (const parameter of parameters) {
      const remembered = rememberedSettings?.[parameter.name];
      const value = remembered !== undefined && !(parameter.device && COUNTER_NAME.test(remembered)) ? remembered : parameter.value;
      const input = h("input", { name: parameter.name, value, placeholder: parameter.required ? "required" : "", spellcheck: "false", "data-default": parameter.default ?? "" });
      row.fields.push({ parameter, input });
      row.settings.append(h("label", { title: parameter.annotation ?? "" }, `${parameter.name} `, input));
    }
    offerRoutes(row);
    return null;
  }

  // The row's settings as typed: {parameter: Python literal text}; the worker reads them.
  function settingsOf(fields) {
    return Object.fromEntries(fields
      .filter(({ parameter, input }) => input.value.trim() && input.value.trim() !== (parameter.default ?? ""))
      .map(({ parameter, input }) => [parameter.name, input.value.trim()]));
  }

  async function connect(row, { restoring = false } = {}) {
    if (!row.backend) return setState(row, "error", "choose a backend first");
    const missing = row.fields.filter(({ parameter, input }) => parameter.required && !input.value.trim()).map(({ parameter }) => parameter.name);
    if (missing.length) return setState(row, "error", `${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} required`);
    const remembered = record(row);
    remembered.backend = row.backend.fqn;
    remembered.settings = rememberable(Object.fromEntries(row.fields.map(({ parameter, input }) => [parameter.name, input.value])));
    save();
    setState(row, "connecting");
    row.help.hidden = true;
    let connected;
    try {
      // The console holds the device from now on: the REPL and runPython can use it.
      connected = await labwright.devices.connect(row.name, row.backend.fqn, settingsOf(row.fields));
    } catch (err) {
      showHelp(row, err);
      return setState(row, "error", err.pythonMessage ?? err.message);
    }
    row.variable = connected.variable;
    remembered.connected = true;
    save();
    row.element.dataset.variable = connected.variable;
    row.connectedText = `${row.backend.name} set up; in the REPL as ${connected.variable}`;
    setState(row, "connected", row.connectedText);
    // The machines that were on it (a heater-shaker on its box) come back with it.
    row.routed = [];
    row.routeList.replaceChildren();
    for (const routed of [...(remembered.routes ?? [])]) if (routed.connected) await addRoute(row, routed, { restoring: true });
    if (!restoring) say("");
    return connected;
  }

  async function disconnect(row, { reason = "stopped" } = {}) {
    if (row.state !== "connected") return;
    setState(row, "connecting", "stopping");
    const result = await labwright.devices.disconnect(row.name).then(() => ({}), (err) => ({ error: { type: err.pythonType ?? err.name, message: err.pythonMessage ?? err.message } }));
    record(row).connected = false;
    save();
    row.routed = [];
    row.routeList.replaceChildren();
    setState(row, "disconnected", result.error ? `stop failed: ${result.error.type}: ${result.error.message}` : reason);
    return !result.error;
  }

  async function takeOver(row) {
    const holder = row.held?.holder;
    setState(row, "connecting", `stopping ${holder} to take the device over`);
    try {
      await labwright.devices.hold(row.name, { takeOver: true });
      say(`${holder} was stopped; the console holds ${row.name}.`, "ok");
    } catch (err) {
      return setState(row, "error", err.pythonMessage ?? err.message);
    }
    showHolder(row);
    // a device lent by the console comes back connected when it is set up again (news.restored)
    if (row.state === "connecting") setState(row, row.givenBack ? "lent" : "available", row.givenBack ? "being set up again" : "");
  }

  // When the browser cannot open a device, the error says the likely cause and the fix for this
  // OS (io/driver-help.js); the row shows it apart from the state.
  function showHelp(row, err) {
    const text = err.pythonMessage ?? err.message ?? "";
    const help = /likely cause:([\s\S]*)$/i.exec(text);
    row.help.hidden = !help;
    row.help.textContent = help ? `Likely cause:${help[1]}` : "";
  }

  // ------------------------------------------------------------ machines routed through a device

  function offerRoutes(row) {
    const routes = row.backend?.routes ?? [];
    row.routeSelect.replaceChildren(...routes.map((entry) => h("option", { value: entry.fqn }, entry.name)));
    row.routeFields = [];
    row.routeSettings.replaceChildren();
    if (routes.length) chooseRoute(row).catch(() => {});
    setState(row, row.state, row.stateLabel.title);
  }

  async function chooseRoute(row) {
    const fqn = row.routeSelect.value;
    const parameters = await labwright.devices.backendParameters(fqn, null);
    row.routeFields = [];
    row.routeSettings.replaceChildren();
    for (const parameter of parameters.filter((p) => !p.interface)) {
      const input = h("input", { name: parameter.name, value: parameter.value ?? "", placeholder: parameter.required ? "required" : "", spellcheck: "false", "data-default": parameter.default ?? "" });
      row.routeFields.push({ parameter, input });
      row.routeSettings.append(h("label", {}, `${parameter.name} `, input));
    }
  }

  // Set up a machine (a heater-shaker at an index) on the row's connection; remembered with it.
  async function addRoute(row, remembered = null, { restoring = false } = {}) {
    const fqn = remembered?.backend ?? row.routeSelect.value;
    const settings = remembered?.settings ?? settingsOf(row.routeFields ?? []);
    const entry = row.backend.routes.find((route) => route.fqn === fqn);
    if (!entry) return null;
    let routed;
    try {
      routed = await labwright.devices.route(row.name, fqn, settings);
    } catch (err) {
      row.note.textContent = `could not add ${entry.name}: ${err.pythonMessage ?? err.message}`;
      return null;
    }
    const item = { name: routed.device, backend: fqn, entry, settings, variable: routed.variable };
    row.routed.push(item);
    row.routeList.append(h("li", { "data-name": routed.device, "data-variable": routed.variable },
      `${routed.device}: ${entry.name} (${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(", ")}) in the REPL as ${routed.variable}`));
    if (!restoring) {
      const routes = (record(row).routes ??= []);
      routes.push({ backend: fqn, settings, connected: true });
      save();
    }
    return routed;
  }

  // ------------------------------------------------------------ the devices as they come and go

  // Port manager events: an unplugged or lost device turns its row to disconnected.
  ports.onChange(({ name, state, reason }) => {
    const row = rowNamed(name);
    if (!row) return;
    if (state === "disconnected") {
      row.present = false;
      setState(row, "disconnected", reason || "unplugged");
    } else if (state === "error" && row.state === "connecting") row.stateLabel.title = reason;
  });
  ports.broker.onChange(({ device, ...news }) => {
    const row = rowNamed(device);
    if (row) showHolder(row, news);
  });

  // Granted devices (getPorts / getDevices: no prompt) and remote ports, as rows. A device whose
  // identity has a row no device holds any more (unplugged, or from an earlier load) takes that
  // row back; devices sharing an identity are told apart by their order (and the user's names).
  async function refresh() {
    const devices = await ports.list();
    const bound = new Set();
    const taken = new Map(); // identity -> ordinals in use by present devices
    const pending = [];
    const reconnect = [];
    for (const device of devices) {
      let row = rowNamed(device.name);
      if (row && row.id === device.id) {
        bound.add(row);
        (taken.get(row.id) ?? taken.set(row.id, new Set()).get(row.id)).add(row.ordinal);
      }
    }
    for (const device of devices) {
      if ([...bound].some((row) => row.name === device.name)) continue;
      const used = taken.get(device.id) ?? taken.set(device.id, new Set()).get(device.id);
      // The row this device had: one of its identity that no present device holds, first by order.
      let row = [...rows.values()].filter((r) => r.id === device.id && !bound.has(r) && !used.has(r.ordinal)).sort((a, b) => a.ordinal - b.ordinal)[0];
      const returning = Boolean(row);
      if (!row) {
        let ordinal = 0;
        while (used.has(ordinal) || rows.has(`${device.id}#${ordinal}`)) ordinal++;
        row = makeRow(device, device.id, ordinal);
        rows.set(row.key, row);
      }
      bind(row, device);
      bound.add(row);
      used.add(row.ordinal);
      showHolder(row);
      if (returning) {
        // Replugged: its row, its choices; connected again if it was.
        setState(row, "available", "plugged in again");
        if (usbIds && record(row).connected && row.backend) reconnect.push(row);
        continue;
      }
      // A row appears with its backends offered (once the catalog is loaded); their settings follow.
      if (usbIds) await offerBackends(row).catch((err) => setState(row, "error", err.message));
      else row.note.textContent = "waiting for the catalog…";
      list.append(row.element);
      if (usbIds && row.candidates) pending.push(chooseRemembered(row).then(() => row, (err) => setState(row, "error", err.message)));
    }
    for (const row of rows.values()) {
      if (!bound.has(row) && row.state !== "disconnected") {
        row.present = false;
        setState(row, "disconnected", "no longer available");
      }
    }
    list.dataset.count = String(rows.size);
    await Promise.all(pending);
    for (const row of reconnect) {
      // What the console had on the device under its old name went with it: let it go first.
      if (row.previousName) await labwright.devices.disconnect(row.previousName).catch(() => {});
      await connect(row, { restoring: true });
    }
  }

  // After a reload: devices that were connected reconnect, without a prompt.
  async function reconnectRemembered() {
    for (const row of rows.values()) {
      const remembered = store.devices[row.id]?.[row.ordinal];
      if (remembered?.connected && row.backend && row.present && row.state !== "connected" && row.state !== "connecting") await connect(row, { restoring: true });
    }
  }

  async function listServerPorts() {
    if (!bridge?.connected) return;
    let found;
    try {
      found = await bridge.get("/hardware/discover/serial");
    } catch {
      return; // a static host, or another server: nothing to suggest
    }
    serverPorts.replaceChildren(...found.devices.map((device) => {
      const backends = (device.plr_backends ?? []).map((fqn) => fqn.split(".").pop());
      const described = [device.manufacturer, device.model].filter((part) => part && part !== "unknown").join(" ");
      return h("option", { value: device.port, label: [described, backends.join(", ")].filter(Boolean).join(" · ") || device.port });
    }));
  }
  listServerPorts().catch(() => {});

  for (const path of store.remotePorts) {
    try {
      ports.addBridgePort(path);
    } catch {
      // no token on this page load: the remembered remote port waits for one
    }
  }
  // Chrome says when a granted device comes (back): list it (a replugged one takes its row back).
  let refreshing = Promise.resolve();
  const refreshSoon = () => (refreshing = refreshing.then(() => refresh()).catch(() => {}));
  for (const api of [ports.serial, ports.usb, ports.hid]) api?.addEventListener?.("connect", refreshSoon);

  status.textContent = "waiting for the catalog…";
  const ready = refresh()
    .then(() => labwright.ready)
    .then(() => labwright.catalog.loaded)
    .then(() => labwright.devices.usbIds())
    .then(async (ids) => {
      usbIds = ids;
      ports.addFtdiUsbIds?.(ids.ftdi);
      for (const button of Object.values(buttons)) button.disabled = false;
      for (const [kind, button] of Object.entries(buttons)) if (!ports[kind]) button.disabled = true;
      status.textContent = `${ids.backends} hardware backends; filters from their USB ids`;
      await Promise.all([...rows.values()].map(async (row) => {
        await offerBackends(row);
        await chooseRemembered(row);
      }));
      root.dataset.state = "ready";
      await reconnectRemembered();
    })
    .catch((err) => {
      root.dataset.state = "error";
      status.textContent = `device picker unavailable: ${err.message}`;
    });

  // ------------------------------------------------------------ devices for hardware runs

  // The devices a run can drive a `kind` machine with: rows whose chosen backend serves it, and
  // the machines routed through a row's connection ("webusb-0/1": a heater-shaker on a box).
  function devicesFor(kind) {
    const found = [];
    for (const row of rows.values()) {
      if (row.backend && row.backend.frontend_kind === kind) found.push({ name: row.name, backend: row.backend.fqn, state: row.state });
      for (const routed of row.routed) if (routed.entry.frontend_kind === kind) found.push({ name: routed.name, backend: routed.backend, state: row.state, via: row.name });
    }
    return found;
  }

  // `{backend, kwargs}` as labwright.run's `backends` takes it, from the row's settings (read by
  // Python); a routed machine's names the connection it talks through.
  async function runSpec(name) {
    const row = rowNamed(name);
    if (row?.backend) return labwright.devices.runSpec(name, row.backend.fqn, settingsOf(row.fields));
    for (const through of rows.values()) {
      const routed = through.routed.find((item) => item.name === name);
      if (routed) {
        return labwright.devices.runSpec(name, routed.backend, routed.settings, { backend: through.backend.fqn, settings: settingsOf(through.fields) });
      }
    }
    throw new Error(`${name}: no backend chosen for it in "Connect a device"`);
  }

  return {
    ready,
    refresh,
    rows,
    row: rowNamed,
    devicesFor,
    runSpec,
    filters: (kind) => (usbIds ? chooserFilters(kind, usbIds.choosers[kind]) : []),
    backendsFor: (kind, vid, pid) => labwright.devices.backendsFor(kind, vid, pid),
    connect: (name) => connect(rowNamed(name)),
    disconnect: (name) => disconnect(rowNamed(name)),
    name: (name, label) => nameDevice(rowNamed(name), label),
  };
}
