// The devices panel: devices the bridge server discovers, connections held as leases with
// heartbeats, released when the page closes. Talks to the server with the token from #token=.
import { tokenFromFragment } from "./page-token.js";

const API = "/api/v1/hardware";

export function initDevices(root = document.getElementById("devices")) {
  if (!root) return null;
  const token = tokenFromFragment();
  const clientId = `page-${crypto.randomUUID()}`;
  const status = root.querySelector("#devices-status");
  const list = root.querySelector("#devices-list");
  const held = new Map(); // device id -> {timer, ttl}
  const rows = new Map(); // device id -> <li>

  const headers = () => ({
    Authorization: `Bearer ${token}`,
    "X-Labwright-Client": clientId,
    "Content-Type": "application/json",
  });

  async function call(path, body) {
    const response = await fetch(API + path, {
      method: body === undefined ? "GET" : "POST",
      headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(json.detail || `HTTP ${response.status}`);
      error.status = response.status;
      error.kind = (json.type || "").split("/").pop();
      throw error;
    }
    return json;
  }

  function setState(deviceId, state, detail = "") {
    const row = rows.get(deviceId);
    if (!row) return;
    row.dataset.state = state;
    row.querySelector(".state").textContent = detail ? `${state}: ${detail}` : state;
    const button = row.querySelector("button");
    button.textContent = state === "connected" ? "Disconnect" : "Connect";
    button.disabled = state === "connecting";
  }

  function stopHeartbeats(deviceId) {
    const lease = held.get(deviceId);
    if (lease) clearInterval(lease.timer);
    held.delete(deviceId);
  }

  async function connect(device) {
    setState(device.id, "connecting");
    try {
      const lease = await call("/connect", { device_id: device.id });
      const ttl = lease.expires_in;
      // Three heartbeats per TTL: one lost request never costs the lease.
      const timer = setInterval(() => heartbeat(device.id), Math.max(ttl / 3, 0.2) * 1000);
      held.set(device.id, { timer, ttl });
      setState(device.id, "connected", `lease for ${ttl} s, renewed by heartbeats`);
    } catch (error) {
      setState(device.id, "error", error.message);
    }
  }

  async function heartbeat(deviceId) {
    try {
      const lease = await call("/heartbeat", { device_id: deviceId });
      const row = rows.get(deviceId);
      if (row) row.dataset.heartbeats = String(lease.heartbeats);
    } catch (error) {
      stopHeartbeats(deviceId);
      if (error.kind === "lease-expired" || error.status === 404) setState(deviceId, "expired", error.message);
      else setState(deviceId, "error", error.message);
    }
  }

  async function disconnect(deviceId) {
    stopHeartbeats(deviceId);
    try {
      await call("/disconnect", { device_id: deviceId });
      setState(deviceId, "available");
    } catch (error) {
      setState(deviceId, "error", error.message);
    }
  }

  function render(devices) {
    for (const device of devices) {
      if (rows.has(device.id)) continue;
      const row = document.createElement("li");
      row.dataset.deviceId = device.id;
      row.dataset.connectionType = device.connection_type;
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = `${device.name} (${device.connection_type}${device.machine_kind ? `, ${device.machine_kind}` : ""})`;
      const state = document.createElement("span");
      state.className = "state";
      state.style.marginLeft = ".75rem";
      const button = document.createElement("button");
      button.type = "button";
      button.style.marginLeft = ".75rem";
      button.addEventListener("click", () =>
        row.dataset.state === "connected" ? disconnect(device.id) : connect(device));
      row.append(label, state, button);
      list.append(row);
      rows.set(device.id, row);
      const leased = device.status === "connected";
      setState(device.id, leased ? "in use" : "available",
        leased ? `held by ${device.properties?.lease_client ?? "another client"}` : "");
    }
  }

  async function refresh() {
    try {
      const { devices } = await call("/discover?timeout=0");
      render(devices);
      root.dataset.state = "connected";
      status.textContent = `bridge connected: ${devices.length} devices`;
    } catch (error) {
      root.dataset.state = "error";
      status.textContent = `bridge not reachable: ${error.message}`;
    }
  }

  function releaseAll() {
    for (const deviceId of [...held.keys()]) {
      stopHeartbeats(deviceId);
      // keepalive lets the request outlive the page; sendBeacon cannot carry the token.
      fetch(API + "/disconnect", {
        method: "POST", headers: headers(), keepalive: true,
        body: JSON.stringify({ device_id: deviceId }),
      }).catch(() => {});
    }
  }

  root.hidden = false;
  if (!token) {
    root.dataset.state = "no-bridge";
    status.textContent = "Bridge not connected: open the URL `labwright serve` printed (it carries #token=…).";
    return null;
  }
  addEventListener("pagehide", releaseAll);
  refresh();
  return { clientId, refresh, connect: (id) => connect({ id }), disconnect, releaseAll, held };
}
