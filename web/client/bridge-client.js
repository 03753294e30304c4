// The page's one client of the bridge server (`labwright serve`, /api/v1): the token the page was
// opened with, the headers every request carries, problem-details errors, the WebSocket auth, and
// the server's shared schedule. Every fetch the page makes to /api/v1 goes through here.
//
//   const bridge = new BridgeClient();          // this origin, the token from #token=
//   await bridge.get("/hardware/discover?timeout=0")
//   await bridge.post("/hardware/connect", {device_id})   // rejects with a BridgeError
export const API = "/api/v1";

// The bridge server's token: `labwright serve` prints the page's URL with `#token=...`
// (as Jupyter does); null when the page was opened without one (a static host).
export function tokenFromFragment() {
  return new URLSearchParams(globalThis.location?.hash?.slice(1) ?? "").get("token");
}

// A refused request, from the server's problem details (RFC 9457: type, title, status, detail;
// bridge_server/errors.py): `message` is the server's own words, `kind` the last part of `type`.
export class BridgeError extends Error {
  constructor(status, problem = {}, statusText = "") {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "BridgeError";
    this.status = status;
    this.statusText = statusText;
    this.title = problem.title ?? null;
    this.detail = problem.detail ?? null;
    this.kind = (problem.type || "").split("/").pop();
    this.problem = problem;
  }
}

export class BridgeClient {
  // `clientId` names this page to the server (X-Labwright-Client): it owns the page's leases.
  constructor({ server = globalThis.location?.origin ?? "", token = tokenFromFragment(), clientId = `page-${crypto.randomUUID()}` } = {}) {
    this.server = server.replace(/\/$/, "");
    this.token = token;
    this.clientId = clientId;
  }

  // Whether the page has the token (opened from the URL `labwright serve` printed).
  get connected() {
    return Boolean(this.token);
  }

  // The same client for another server or token (the page's own when neither differs).
  with({ server, token } = {}) {
    if ((server === undefined || server === this.server) && (token === undefined || token === this.token)) return this;
    return new BridgeClient({ server: server ?? this.server, token: token ?? this.token, clientId: this.clientId });
  }

  headers({ json = false, revision = null } = {}) {
    const headers = { Authorization: `Bearer ${this.token}`, "X-Labwright-Client": this.clientId };
    if (json) headers["Content-Type"] = "application/json";
    if (revision !== null && revision !== undefined) headers["If-Match"] = String(revision);
    return headers;
  }

  // `method` `path` (under /api/v1) with `body` as JSON; resolves to the reply's JSON, rejects
  // with a BridgeError when the server refuses. `revision`: the If-Match a write is based on;
  // `keepalive`: the request outlives the page (releasing leases as it closes).
  async request(method, path, { body, revision = null, keepalive = false } = {}) {
    const response = await fetch(this.server + API + path, {
      method,
      headers: this.headers({ json: body !== undefined, revision }),
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive,
    });
    const document = await response.json().catch(() => ({}));
    if (!response.ok) throw new BridgeError(response.status, document, response.statusText);
    return document;
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body = {}, options = {}) {
    return this.request("POST", path, { ...options, body });
  }

  delete(path, options) {
    return this.request("DELETE", path, options);
  }

  // The ws:// URL of `path` under /api/v1 on this client's server.
  socketURL(path) {
    return `${this.server.replace(/^http/, "ws")}${API}${path}`;
  }

  // A WebSocket to `url` carrying the token as the `bearer.<token>` subprotocol (the server's
  // WebSocket auth; browsers cannot set headers on a WebSocket), or the `protocols` a ticket gave.
  openSocket(url, protocols = ["labwright", `bearer.${this.token}`]) {
    return new WebSocket(url, protocols);
  }

  // The lab's inventory (machines, labware) with its open reservations: the server's database,
  // one for every page and lab PC.
  inventory() {
    return this.get("/inventory");
  }

  // Leave to open the serial port of `deviceId` on another lab PC (`node`) whose lease this client
  // holds: {url, protocols} for one socket, valid for seconds (POST /hardware/io-tickets).
  ioTicket(deviceId, node) {
    return this.post("/hardware/io-tickets", { device_id: deviceId, node });
  }

  // The lab's change feed (WS /api/v1/ws/changes): `onChange(message)` for every change of
  // `topics` made through any server of the lab, and once on every (re)connection, as changes may
  // have been missed while it was down; `onState("live" | "lost")` says whether changes are being
  // heard. Reconnects by itself until the returned function is called.
  followChanges(topics, onChange, onState = () => {}) {
    let socket = null;
    let stopped = false;
    let delay = 250;
    const open = () => {
      socket = this.openSocket(this.socketURL("/ws/changes"));
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "changes") {
          delay = 250;
          onState("live");
          onChange(message);
        } else if (message.type === "changed" && (topics.includes(message.topic) || message.reconnected)) {
          onChange(message);
        }
      });
      socket.addEventListener("close", () => {
        if (stopped) return;
        onState("lost");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 5000);
      });
    };
    open();
    return () => {
      stopped = true;
      socket?.close();
    };
  }
}

// The bridge server's one schedule for every page on the lab PC (/api/v1/schedule), with the
// surface of labwright.schedule. Writes send the revision they were based on (If-Match); a run
// executes here, through this page's labwright.run, while the server records its start,
// heartbeats and end.
export function sharedSchedule(bridge, labwright, { heartbeatMs = 20_000 } = {}) {
  async function call(method, path = "", body = undefined, revision = null) {
    try {
      return await bridge.request(method, `/schedule${path}`, { body, revision });
    } catch (error) {
      if (!(error instanceof BridgeError)) throw error;
      error.message = error.status === 409
        ? `ScheduleConflict: another page changed the schedule first (${error.detail ?? "stale revision"}); it has been reloaded, try again`
        : `${error.title ?? error.status}: ${error.detail ?? error.statusText}`;
      throw error;
    }
  }
  return Object.assign(() => call("GET"), {
    shared: true,
    machines: async () => (await labwright.schedule.machines()).map((m) => ({ ...m, workcell: null })),
    async addWorkcell(name, machineIds, deck = null, expectedRevision = null) {
      const local = await labwright.schedule.machines();
      const machines = machineIds.map((id) => local.find((m) => m.id === id)).map((m) => ({
        name: m.name, machine_kind: m.kind, capabilities: m.capabilities,
      }));
      return call("POST", "/workcells", { name, machines, ...(deck ? { deck } : {}) }, expectedRevision);
    },
    removeWorkcell: (name, expectedRevision = null) => call("DELETE", `/workcells/${encodeURIComponent(name)}`, undefined, expectedRevision),
    submit: (requests, expectedRevision = null) => call("POST", "/requests", { requests }, expectedRevision),
    replan: (method = "heuristic", expectedRevision = null) => call("POST", "/plan", { method }, expectedRevision),
    cancel: (runId, reason = "cancelled") => call("POST", `/runs/${encodeURIComponent(runId)}/cancel`, { reason }),
    reservations: (filters = {}) => call("GET", `/reservations?${new URLSearchParams(filters)}`).then((d) => d.reservations),
    async execute(runId) {
      const path = `/runs/${encodeURIComponent(runId)}`;
      const { run } = await call("GET", path);
      const request = run.request ?? {};
      if (!request.source) throw new Error(`run ${runId} has no protocol source; start and finish it by hand`);
      await call("POST", `${path}/start`, {});
      const beat = setInterval(() => call("POST", `${path}/heartbeat`, {}).catch(() => {}), heartbeatMs);
      try {
        const result = await labwright.run(request.source, {
          function: request.function, parameters: request.parameters ?? {}, filename: request.filename ?? "protocol.py",
        });
        const reason = result.error ? `${result.error.type}: ${result.error.message}` : null;
        const action = result.status === "completed" ? "finish" : result.status === "cancelled" ? "cancel" : "fail";
        const ended = await call("POST", `${path}/${action}`, reason ? { reason } : {});
        return { run: ended.run, result };
      } catch (error) {
        await call("POST", `${path}/fail`, { reason: error.message.slice(0, 500) }).catch(() => {});
        throw error;
      } finally {
        clearInterval(beat);
      }
    },
  });
}
