// The devices panel: devices the bridge server discovers, connections held as leases with
// heartbeats, released when the page closes. Talks to the server through the page's bridge client.
import { h } from "./dom.js";

export function initDevices(bridge, root = document.getElementById("devices")) {
  if (!root) return null;
  const status = root.querySelector("#devices-status");
  const list = root.querySelector("#devices-list");
  const held = new Map(); // device id -> {timer, ttl}
  const rows = new Map(); // device id -> <li>

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
      const lease = await bridge.post("/hardware/connect", { device_id: device.id });
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
      const lease = await bridge.post("/hardware/heartbeat", { device_id: deviceId });
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
      await bridge.post("/hardware/disconnect", { device_id: deviceId });
      setState(deviceId, "available");
    } catch (error) {
      setState(deviceId, "error", error.message);
    }
  }

  function render(devices) {
    for (const device of devices) {
      if (rows.has(device.id)) continue;
      const button = h("button", { type: "button", style: "margin-left: .75rem" });
      const row = h("li", { "data-device-id": device.id, "data-connection-type": device.connection_type },
        h("span", { class: "name" }, `${device.name} (${device.connection_type}${device.machine_kind ? `, ${device.machine_kind}` : ""})`),
        h("span", { class: "state", style: "margin-left: .75rem" }),
        button);
      button.addEventListener("click", () => (row.dataset.state === "connected" ? disconnect(device.id) : connect(device)));
      list.append(row);
      rows.set(device.id, row);
      const leased = device.status === "connected";
      setState(device.id, leased ? "in use" : "available",
        leased ? `held by ${device.properties?.lease_client ?? "another client"}` : "");
    }
  }

  async function refresh() {
    try {
      const { devices } = await bridge.get("/hardware/discover?timeout=0");
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
      bridge.post("/hardware/disconnect", { device_id: deviceId }, { keepalive: true }).catch(() => {});
    }
  }

  root.hidden = false;
  if (!bridge.connected) {
    root.dataset.state = "no-bridge";
    status.textContent = "Bridge not connected: open the URL `labwright serve` printed (it carries #token=…).";
    return null;
  }
  addEventListener("pagehide", releaseAll);
  refresh();
  return { clientId: bridge.clientId, refresh, connect: (id) => connect({ id }), disconnect, releaseAll, held };
}
