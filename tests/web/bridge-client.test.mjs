// The one bridge-server client, against a real HTTP server on loopback: the token and client
// headers, If-Match, problem details as errors, the WebSocket URL and auth.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { BridgeClient, BridgeError, sharedSchedule, tokenFromFragment } from "../../web/client/bridge-client.js";

let server;
let origin;
const seen = [];

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      const reply = (status, document, type = "application/json") => {
        response.writeHead(status, { "Content-Type": type });
        response.end(typeof document === "string" ? document : JSON.stringify(document));
      };
      if (request.url === "/api/v1/hardware/discover?timeout=0") return reply(200, { devices: [] });
      if (request.url === "/api/v1/hardware/connect") {
        return reply(409, { type: "https://labwright.dev/problems/device-leased", title: "Device leased", status: 409, detail: "held by someone-else" }, "application/problem+json");
      }
      if (request.url === "/api/v1/schedule/plan") return reply(409, { title: "Conflict", status: 409, detail: "revision 4 is stale" });
      if (request.url === "/api/v1/schedule/requests") return reply(422, { title: "Unprocessable Content", detail: "requests.0.source: required" });
      return reply(500, "not json", "text/plain");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

test("requests carry the token and the page's client id; bodies are JSON", async () => {
  const bridge = new BridgeClient({ server: `${origin}/`, token: "t0ken", clientId: "page-1" });
  assert.deepEqual(await bridge.get("/hardware/discover?timeout=0"), { devices: [] });
  const { headers, method } = seen.at(-1);
  assert.equal(method, "GET");
  assert.equal(headers.authorization, "Bearer t0ken");
  assert.equal(headers["x-labwright-client"], "page-1");
  assert.equal(headers["content-type"], undefined);
  await assert.rejects(bridge.post("/hardware/connect", { device_id: "scale" }));
  assert.equal(seen.at(-1).body, '{"device_id":"scale"}');
  assert.equal(seen.at(-1).headers["content-type"], "application/json");
});

test("a refusal is a BridgeError with the server's problem details", async () => {
  const bridge = new BridgeClient({ server: origin, token: "t", clientId: "page-2" });
  const error = await bridge.post("/hardware/connect", { device_id: "scale" }).catch((err) => err);
  assert.ok(error instanceof BridgeError);
  assert.equal(error.message, "held by someone-else");
  assert.equal(error.status, 409);
  assert.equal(error.kind, "device-leased");
  assert.equal(error.title, "Device leased");
  const odd = await bridge.get("/nowhere").catch((err) => err);
  assert.equal(odd.status, 500);
  assert.equal(odd.message, "HTTP 500"); // no problem document: the status says it
});

test("the shared schedule sends If-Match and words a stale revision as a conflict", async () => {
  const bridge = new BridgeClient({ server: origin, token: "t", clientId: "page-3" });
  const schedule = sharedSchedule(bridge, null);
  const stale = await schedule.replan("optimiser", 4).catch((err) => err);
  assert.equal(seen.at(-1).headers["if-match"], "4");
  assert.equal(JSON.parse(seen.at(-1).body).method, "optimiser");
  assert.match(stale.message, /^ScheduleConflict: another page changed the schedule first \(revision 4 is stale\)/);
  const invalid = await schedule.submit([{}]).catch((err) => err);
  assert.equal(invalid.message, "Unprocessable Content: requests.0.source: required");
  assert.equal(seen.at(-1).headers["if-match"], undefined);
});

test("WebSockets: the ws:// URL under /api/v1 and the same client for another token", () => {
  const bridge = new BridgeClient({ server: "https://lab-pc:8765", token: "abc", clientId: "page-4" });
  assert.equal(bridge.socketURL("/hardware/ws/serial/%2Fdev%2FttyUSB0"), "wss://lab-pc:8765/api/v1/hardware/ws/serial/%2Fdev%2FttyUSB0");
  assert.equal(bridge.with({}), bridge);
  assert.equal(bridge.with({ token: "abc" }), bridge);
  const other = bridge.with({ token: "wrong" });
  assert.equal(other.token, "wrong");
  assert.equal(other.clientId, "page-4");
  assert.equal(other.server, "https://lab-pc:8765");
  assert.equal(new BridgeClient({ server: origin, token: null }).connected, false);
  assert.equal(tokenFromFragment(), null); // no page location here
});
