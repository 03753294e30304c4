// The device picker: the user gesture Chrome needs to grant a serial port, USB or HID device
// (filtered by the USB ids PLR's backends declare in the catalog), the PLR backends that match
// a granted device, that backend's settings, and its connection state. Granted devices and the
// choices made for them are remembered, so a reload reconnects without a prompt. Which backends
// fit a device, in what order, and what to fill in for it, Python says (page/devices.py).
import { IOError } from "../io/io-protocol.js";
import { h } from "./dom.js";

const STORE_KEY = "labwright.devicePicker";
// How the catalog's serial line settings (pyserial's names) are shown.
const LINE_LABELS = { baudrate: "baud", bytesize: "data bits", parity: "parity", stopbits: "stop bits", rtscts: "RTS/CTS", dsrdtr: "DSR/DTR" };

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

function loadStore() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE_KEY) ?? "{}");
    return { devices: stored.devices ?? {}, remotePorts: stored.remotePorts ?? [] };
  } catch {
    return { devices: {}, remotePorts: [] };
  }
}

// `ports`: the page's port manager; `bridge`: the bridge server's client (its serial ports are
// offered as remote ports when the page has the token).
export function initDevicePicker(labwright, ports, bridge = null, root = document.getElementById("device-picker")) {
  if (!root || !ports) return null;
  const store = loadStore();
  const save = () => localStorage.setItem(STORE_KEY, JSON.stringify(store));
  const rows = new Map(); // port manager name -> row state
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
      say(`Added ${name}: PLR backends open it as port '${name}'.`, "ok");
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
    row.backendSelect = h("select", { class: "backend", "aria-label": `PLR backend for ${device.name}` });
    row.note = h("span", { class: "match-note" });
    row.settings = h("div", { class: "settings" });
    row.line = h("p", { class: "line-settings" });
    row.stateLabel = h("span", { class: "state" });
    row.connectButton = h("button", { type: "button", class: "connect" }, "Connect");
    row.disconnectButton = h("button", { type: "button", class: "disconnect" }, "Disconnect");
    row.element = h("li", { "data-name": device.name, "data-kind": device.kind },
      h("div", { class: "device-head" },
        h("b", { class: "device-name" }, device.name),
        row.usbId ? h("code", { class: "usb-id" }, row.usbId) : null,
        h("span", { class: "product" }, device.remote ? "on the bridge server" : device.productName ?? ""),
        row.stateLabel),
      h("label", {}, "PLR backend ", row.backendSelect),
      row.note,
      row.settings,
      row.line,
      h("div", { class: "device-actions" }, row.connectButton, row.disconnectButton));
    row.backendSelect.addEventListener("change", () => chooseBackend(row, row.backendSelect.value).catch((err) => setState(row, "error", err.message)));
    row.connectButton.addEventListener("click", () => connect(row));
    row.disconnectButton.addEventListener("click", () => disconnect(row));
    setState(row, "available");
    return row;
  }

  // The backends that can drive the row's device, best first as Python ranks them (page/devices.py
  // backends_for), offered in its backend choice with the note saying why these.
  async function offerBackends(row) {
    const { matched, backends, io_kinds: ioKinds } = await labwright.devices.backendsFor(row.kind, row.device.vendorId, row.device.productId);
    row.candidates = backends;
    row.backendSelect.replaceChildren(
      h("option", { value: "" }, "— choose a backend —"),
      ...backends.map((entry) => h("option", { value: entry.fqn, title: [entry.fqn, ...entry.why].join("\n") }, entry.deprecated ? `${entry.name} (deprecated)` : entry.name)),
    );
    row.element.dataset.backends = backends.map((entry) => entry.name).join(" ");
    row.matched = matched;
    row.note.textContent = matched
      ? `USB id ${row.usbId} is declared by ${backends.map((entry) => entry.name).join(", ")}`
      : `no backend in the catalog declares ${row.usbId ? `USB id ${row.usbId}` : "this port"}: every ${ioKinds.join("/")} backend is offered`;
    row.suggestion = matched ? backends.map((entry) => entry.name).join(", ") : "";
  }

  // The backend remembered for the row's device, else the best one that declares its USB id,
  // chosen with its settings; nothing is guessed for a device no backend declares.
  async function chooseRemembered(row) {
    const remembered = store.devices[row.key];
    const chosen = remembered?.backend ?? (row.matched ? row.candidates[0].fqn : "");
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
      const value = rememberedSettings && parameter.name in rememberedSettings ? rememberedSettings[parameter.name] : parameter.value;
      const input = h("input", { name: parameter.name, value, placeholder: parameter.required ? "required" : "", spellcheck: "false", "data-default": parameter.default ?? "" });
      row.fields.push({ parameter, input });
      row.settings.append(h("label", { title: parameter.annotation ?? "" }, `${parameter.name} `, input));
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
      // A row appears with its backends offered (once the catalog is loaded); their settings follow.
      if (usbIds) await offerBackends(row).catch((err) => setState(row, "error", err.message));
      else row.note.textContent = "waiting for the catalog…";
      list.append(row.element);
      if (usbIds && row.candidates) pending.push(chooseRemembered(row).then(() => row, (err) => setState(row, "error", err.message)));
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
  for (const api of [ports.serial, ports.usb, ports.hid]) api?.addEventListener?.("connect", () => refresh().catch(() => {}));

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

  // The devices a run can drive a `kind` machine with: rows whose chosen backend serves it.
  function devicesFor(kind) {
    return [...rows.values()]
      .filter((row) => row.backend && row.backend.frontend_kind === kind)
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
    filters: (kind) => (usbIds ? chooserFilters(kind, usbIds.choosers[kind]) : []),
    backendsFor: (kind, vid, pid) => labwright.devices.backendsFor(kind, vid, pid),
    connect: (name) => connect(rows.get(name)),
    disconnect: (name) => disconnect(rows.get(name)),
  };
}
