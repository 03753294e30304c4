// The device picker: the user gesture Chrome needs to grant a serial port, USB or HID device
// (filtered by the USB ids PLR's backends declare in the catalog), the PLR backends that match
// a granted device, that backend's settings, and its connection state. Granted devices and the
// choices made for them are remembered, so a reload reconnects without a prompt.
import { IOError } from "./io-protocol.js";
import { tokenFromFragment } from "./page-token.js";

const STORE_KEY = "labwright.devicePicker";
// Which backend IO kinds can drive a device granted through each Web API. FTDI devices reach
// PLR through Web Serial (the OS's serial driver) or WebUSB (the FTDI vendor protocol).
const IO_KINDS = { serial: ["serial", "ftdi"], usb: ["usb", "ftdi"], hid: ["hid"] };
const LINE_KEYS = { baudrate: "baud", bytesize: "data bits", parity: "parity", stopbits: "stop bits", rtscts: "RTS/CTS", dsrdtr: "DSR/DTR" };

function hex4(n) {
  return (n ?? 0).toString(16).toUpperCase().padStart(4, "0");
}

function usbId(vid, pid) {
  return vid == null ? null : `${hex4(vid)}:${hex4(pid)}`;
}

function pyString(text) {
  return `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// The backends of the catalog with what the picker needs: io kind, USB ids, serial line settings.
export class BackendIndex {
  constructor(entries) {
    this.entries = entries.filter((entry) => entry.io && entry.io !== "none" && !entry.simulator);
  }

  static async load(labwright) {
    const summaries = await labwright.catalog.search("", { limit: 100000, section: "backends" });
    const entries = await Promise.all(summaries.map((summary) => labwright.catalog.get(summary.fqn)));
    return new BackendIndex(entries.filter(Boolean));
  }

  // requestPort / requestDevice filters: every USB id a backend of a fitting IO kind declares.
  filters(kind) {
    const seen = new Set();
    const filters = [];
    for (const entry of this.entries) {
      if (!IO_KINDS[kind].includes(entry.io)) continue;
      for (const { vid, pid } of entry.usb_ids ?? []) {
        const key = `${vid}:${pid}`;
        if (seen.has(key)) continue;
        seen.add(key);
        filters.push(kind === "serial" ? { usbVendorId: vid, usbProductId: pid } : { vendorId: vid, productId: pid });
      }
    }
    return filters;
  }

  // {matched, backends}: the backends that declare this USB id, best first; or, when none does,
  // every backend that speaks over this kind of device, for the user to choose from.
  backendsFor(kind, vid, pid) {
    const fitting = this.entries.filter((entry) => IO_KINDS[kind].includes(entry.io));
    // Deprecated ones last, then subclasses of another candidate (PLR's renamed aliases such as
    // STAR(STARBackend) are subclasses that warn), then by name.
    const sorted = (list) => {
      const fqns = new Set(list.map((entry) => entry.fqn));
      const rank = (entry) => (entry.deprecated ? 2 : 0) + ((entry.bases ?? []).some((base) => fqns.has(base)) ? 1 : 0);
      return [...list].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
    };
    const matched = vid == null ? [] : fitting.filter((entry) => (entry.usb_ids ?? []).some((id) => id.vid === vid && id.pid === pid));
    return matched.length ? { matched: true, backends: sorted(matched) } : { matched: false, backends: sorted(fitting) };
  }
}

function loadStore() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE_KEY) ?? "{}");
    return { devices: stored.devices ?? {}, remotePorts: stored.remotePorts ?? [] };
  } catch {
    return { devices: {}, remotePorts: [] };
  }
}

export function initDevicePicker(labwright, ports, root = document.getElementById("device-picker")) {
  if (!root || !ports) return null;
  const store = loadStore();
  const save = () => localStorage.setItem(STORE_KEY, JSON.stringify(store));
  const rows = new Map(); // port manager name -> row state
  let index = null;

  const status = element("small", { className: "picker-status" });
  const anyDevice = element("input", { type: "checkbox", className: "any-device" });
  const kindButton = (kind, label, api) =>
    element("button", { type: "button", className: "request", disabled: true, dataset: { kind }, textContent: label, title: api ? `${label} (${api})` : label });
  const buttons = {
    serial: kindButton("serial", "Serial port…", ports.serial ? "Web Serial" : "this browser has no Web Serial"),
    usb: kindButton("usb", "USB device…", ports.usb ? "WebUSB" : "this browser has no WebUSB"),
    hid: kindButton("hid", "HID device…", ports.hid ? "WebHID" : "this browser has no WebHID"),
  };
  const remotePath = element("input", { className: "remote-path", placeholder: "/dev/ttyUSB0", ariaLabel: "Serial port path on the bridge server" });
  // The serial ports the lab PC lists (its discovery, with the backends it infers), offered
  // as suggestions when this page came from `labwright serve` with its token.
  const serverPorts = element("datalist", { id: "bridge-serial-ports" });
  remotePath.setAttribute("list", serverPorts.id);
  const remoteForm = element(
    "form",
    { className: "remote-port" },
    element("label", {}, "Serial port on the bridge server ", remotePath),
    serverPorts,
    element("button", { type: "submit", textContent: "Add remote port" }),
  );
  const message = element("p", { className: "picker-message", role: "status" });
  const list = element("ul", { className: "picker-devices" });
  root.classList.add("panel");
  root.replaceChildren(
    element("h2", {}, "Connect a device ", status),
    element(
      "div",
      { className: "picker-actions" },
      buttons.serial,
      buttons.usb,
      buttons.hid,
      element("label", {}, anyDevice, " any device, not only the USB ids PLR's backends declare"),
    ),
    remoteForm,
    message,
    list,
  );

  function say(text, kind = "") {
    message.textContent = text;
    message.className = `picker-message ${kind}`;
  }

  // ------------------------------------------------------------ granting (the user gesture)

  async function request(kind) {
    const filters = anyDevice.checked ? [] : index.filters(kind);
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
        const row = rows.get(name);
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
      say(`Added ${name}: PLR backends open it as port ${pyString(name)}.`, "ok");
    } catch (err) {
      say(err instanceof IOError ? err.message : `${err.name}: ${err.message}`, "bad");
    }
  });

  // ------------------------------------------------------------ rows

  function keyOf(device) {
    if (device.remote) return `remote:${device.name}`;
    return `${device.kind}:${usbId(device.vendorId, device.productId) ?? device.name}:${device.serialNumber ?? ""}`;
  }

  function setState(row, state, reason = "") {
    row.state = state;
    row.element.dataset.state = state;
    row.stateLabel.textContent = reason ? `${state}: ${reason}` : state;
    row.stateLabel.title = reason;
    row.connectButton.disabled = state === "connecting" || state === "connected" || !row.backend;
    row.disconnectButton.disabled = state !== "connected";
  }

  function makeRow(device) {
    const row = { name: device.name, kind: device.kind, device, key: keyOf(device), usbId: usbId(device.vendorId, device.productId) };
    row.backendSelect = element("select", { className: "backend", ariaLabel: `PLR backend for ${device.name}` });
    row.note = element("span", { className: "match-note" });
    row.settings = element("div", { className: "settings" });
    row.line = element("p", { className: "line-settings" });
    row.stateLabel = element("span", { className: "state" });
    row.connectButton = element("button", { type: "button", className: "connect", textContent: "Connect" });
    row.disconnectButton = element("button", { type: "button", className: "disconnect", textContent: "Disconnect" });
    row.element = element(
      "li",
      { dataset: { name: device.name, kind: device.kind } },
      element(
        "div",
        { className: "device-head" },
        element("b", { className: "device-name", textContent: device.name }),
        row.usbId ? element("code", { className: "usb-id", textContent: row.usbId }) : null,
        element("span", { className: "product", textContent: device.remote ? "on the bridge server" : device.productName ?? "" }),
        row.stateLabel,
      ),
      element("label", {}, "PLR backend ", row.backendSelect),
      row.note,
      row.settings,
      row.line,
      element("div", { className: "device-actions" }, row.connectButton, row.disconnectButton),
    );
    row.backendSelect.addEventListener("change", () => chooseBackend(row, row.backendSelect.value).catch((err) => setState(row, "error", err.message)));
    row.connectButton.addEventListener("click", () => connect(row));
    row.disconnectButton.addEventListener("click", () => disconnect(row));
    setState(row, "available");
    return row;
  }

  function fillBackends(row) {
    if (!index) {
      row.note.textContent = "waiting for the catalog…";
      return;
    }
    const { matched, backends } = index.backendsFor(row.kind, row.device.vendorId, row.device.productId);
    row.candidates = backends;
    row.backendSelect.replaceChildren(
      element("option", { value: "", textContent: "— choose a backend —" }),
      ...backends.map((entry) => element("option", { value: entry.fqn, textContent: entry.deprecated ? `${entry.name} (deprecated)` : entry.name, title: entry.fqn })),
    );
    row.element.dataset.backends = backends.map((entry) => entry.name).join(" ");
    row.matched = matched;
    row.note.textContent = matched
      ? `USB id ${row.usbId} is declared by ${backends.map((entry) => entry.name).join(", ")}`
      : `no backend in the catalog declares ${row.usbId ? `USB id ${row.usbId}` : "this port"}: every ${IO_KINDS[row.kind].join("/")} backend is offered`;
    row.suggestion = matched ? backends.map((entry) => entry.name).join(", ") : "";
    const remembered = store.devices[row.key];
    const chosen = remembered?.backend ?? (matched ? backends[0].fqn : "");
    if (chosen) {
      row.backendSelect.value = chosen;
      return chooseBackend(row, chosen, remembered?.settings);
    }
    return null;
  }

  async function chooseBackend(row, fqn, rememberedSettings = null) {
    row.backend = row.candidates?.find((entry) => entry.fqn === fqn) ?? null;
    row.settings.replaceChildren();
    row.line.textContent = "";
    row.fields = [];
    if (!row.backend) return setState(row, row.state === "connected" ? "connected" : "available");
    setState(row, row.state === "connected" ? "connected" : "available");
    const entry = row.backend;
    const serial = entry.serial ?? null;
    if (serial) {
      const parts = Object.entries(LINE_KEYS)
        .filter(([key]) => serial[key] !== null && serial[key] !== undefined)
        .map(([key, label]) => `${label} ${serial[key]}`);
      row.line.textContent = `Line settings PLR's backend opens the port with (from the catalog): ${parts.join(", ") || "not stated"}`;
    }
    row.settings.dataset.loading = "true";
    const parameters = await labwright.devices.backendParameters(entry.fqn); // read in the worker from the class
    if (row.backend !== entry) return null; // another backend was chosen meanwhile
    delete row.settings.dataset.loading;
    for (const parameter of parameters) {
      let value = parameter.default ?? "";
      if (row.kind === "serial" && /(^|_)port$/.test(parameter.name)) value = pyString(row.name);
      else if (parameter.name === "serial_number" && row.device.serialNumber) value = pyString(row.device.serialNumber);
      else if (serial && parameter.name in LINE_KEYS && serial[parameter.name] != null && (value === "" || value === "None")) {
        const known = serial[parameter.name];
        value = typeof known === "string" ? pyString(known) : typeof known === "boolean" ? (known ? "True" : "False") : String(known);
      }
      if (rememberedSettings && parameter.name in rememberedSettings) value = rememberedSettings[parameter.name];
      const input = element("input", { name: parameter.name, value, placeholder: parameter.required ? "required" : "", spellcheck: false });
      input.dataset.default = parameter.default ?? "";
      row.fields.push({ parameter, input });
      row.settings.append(element("label", { title: parameter.annotation ?? "" }, `${parameter.name} `, input));
    }
    return null;
  }

  // The row's settings as typed: {parameter: Python literal text}; the worker reads them.
  function settingsOf(row) {
    return Object.fromEntries(row.fields
      .filter(({ parameter, input }) => input.value.trim() && input.value.trim() !== (parameter.default ?? ""))
      .map(({ parameter, input }) => [parameter.name, input.value.trim()]));
  }

  async function connect(row) {
    if (!row.backend) return setState(row, "error", "choose a backend first");
    const missing = row.fields.filter(({ parameter, input }) => parameter.required && !input.value.trim()).map(({ parameter }) => parameter.name);
    if (missing.length) return setState(row, "error", `${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} required`);
    const settings = Object.fromEntries(row.fields.map(({ parameter, input }) => [parameter.name, input.value]));
    store.devices[row.key] = { backend: row.backend.fqn, settings, connected: false };
    save();
    setState(row, "connecting");
    let connected;
    try {
      // The console holds the device from now on: the REPL and runPython can use it.
      connected = await labwright.devices.connect(row.name, row.backend.fqn, settingsOf(row));
    } catch (err) {
      return setState(row, "error", err.pythonMessage ?? err.message);
    }
    row.variable = connected.variable;
    store.devices[row.key].connected = true;
    save();
    row.element.dataset.variable = connected.variable;
    setState(row, "connected", `${row.backend.name} set up; in the REPL as ${connected.variable}`);
  }

  async function disconnect(row, { remember = true, reason = "stopped" } = {}) {
    if (row.state !== "connected") return;
    setState(row, "connecting", "stopping");
    const result = await labwright.devices.disconnect(row.name).then(() => ({}), (err) => ({ error: { type: err.pythonType ?? err.name, message: err.pythonMessage ?? err.message } }));
    if (remember && store.devices[row.key]) {
      store.devices[row.key].connected = false;
      save();
    }
    setState(row, "disconnected", result.error ? `stop failed: ${result.error.type}: ${result.error.message}` : reason);
    return !result.error;
  }

  // Port manager events: an unplugged or lost device turns its row to disconnected.
  ports.onChange(({ name, state, reason }) => {
    const row = rows.get(name);
    if (!row) return;
    if (state === "disconnected") setState(row, "disconnected", reason || "unplugged");
    else if (state === "error" && row.state === "connecting") row.stateLabel.title = reason;
  });

  // Granted devices (getPorts / getDevices: no prompt) and remote ports, as rows.
  async function refresh() {
    const devices = await ports.list();
    const seen = new Set();
    const pending = [];
    for (const device of devices) {
      seen.add(device.name);
      if (rows.has(device.name)) continue;
      const row = makeRow(device);
      rows.set(device.name, row);
      list.append(row.element);
      const filled = fillBackends(row);
      if (filled) pending.push(filled.then(() => row, (err) => setState(row, "error", err.message)));
    }
    for (const [name, row] of rows) {
      if (!seen.has(name) && row.state !== "disconnected") setState(row, "disconnected", "no longer available");
    }
    list.dataset.count = String(rows.size);
    return Promise.all(pending);
  }

  // After a reload: devices that were connected reconnect, without a prompt.
  async function reconnectRemembered() {
    for (const row of rows.values()) {
      const remembered = store.devices[row.key];
      if (remembered?.connected && row.backend && row.state !== "connected" && row.state !== "connecting") await connect(row);
    }
  }

  async function listServerPorts() {
    const token = tokenFromFragment();
    if (!token) return;
    const response = await fetch("/api/v1/hardware/discover/serial", { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) return; // a static host, or another server: nothing to suggest
    const { devices } = await response.json();
    serverPorts.replaceChildren(...devices.map((device) => {
      const backends = (device.plr_backends ?? []).map((fqn) => fqn.split(".").pop());
      const described = [device.manufacturer, device.model].filter((part) => part && part !== "unknown").join(" ");
      return element("option", { value: device.port, label: [described, backends.join(", ")].filter(Boolean).join(" · ") || device.port });
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
  for (const api of [ports.serial, ports.usb, ports.hid]) api?.addEventListener?.("connect", () => refresh().catch(() => {}));

  status.textContent = "waiting for the catalog…";
  const ready = refresh()
    .then(() => labwright.ready)
    .then(() => labwright.catalog.loaded)
    .then(() => BackendIndex.load(labwright))
    .then(async (loaded) => {
      index = loaded;
      ports.addFtdiUsbIds?.(index.entries.filter((entry) => entry.io === "ftdi").flatMap((entry) => entry.usb_ids ?? []));
      for (const button of Object.values(buttons)) button.disabled = false;
      for (const [kind, button] of Object.entries(buttons)) if (!ports[kind]) button.disabled = true;
      status.textContent = `${index.entries.length} hardware backends; filters from their USB ids`;
      await Promise.all([...rows.values()].map((row) => fillBackends(row)));
      root.dataset.state = "ready";
      await reconnectRemembered();
    })
    .catch((err) => {
      root.dataset.state = "error";
      status.textContent = `device picker unavailable: ${err.message}`;
    });

  // ------------------------------------------------------------ devices for hardware runs

  // The devices a run can drive a `kind` machine with: rows whose chosen backend serves it.
  function devicesFor(kind) {
    return [...rows.values()]
      .filter((row) => row.backend && !row.backend.simulator && row.backend.frontend_kind === kind)
      .map((row) => ({ name: row.name, backend: row.backend.fqn, state: row.state }));
  }

  // `{backend, kwargs}` as labwright.run's `backends` takes it, from the row's settings (read by Python).
  async function runSpec(name) {
    const row = rows.get(name);
    if (!row?.backend) throw new Error(`${name}: no backend chosen for it in "Connect a device"`);
    return labwright.devices.runSpec(name, row.backend.fqn, settingsOf(row));
  }

  // A run opens its devices itself: a connected row stops its backend (the port is free) and
  // the returned function sets it up again afterwards; a reload still reconnects it meanwhile.
  async function lend(name) {
    const row = rows.get(name);
    if (row?.state !== "connected") return async () => {};
    if (!(await disconnect(row, { remember: false, reason: "lent to a run" }))) {
      throw new Error(`${name}: could not be stopped for the run (${row.stateLabel.title})`);
    }
    return () => connect(row);
  }

  return {
    ready,
    refresh,
    rows,
    devicesFor,
    runSpec,
    lend,
    filters: (kind) => index?.filters(kind) ?? [],
    backendsFor: (kind, vid, pid) => index?.backendsFor(kind, vid, pid) ?? null,
    connect: (name) => connect(rows.get(name)),
    disconnect: (name) => disconnect(rows.get(name)),
  };
}
