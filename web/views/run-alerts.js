// Alerts for runs on devices: a run that fails or waits for the operator shows a browser
// notification (the Notifications API; permission is asked once, when the first run on devices
// starts) and, when this page came from the bridge server, is posted to the lab's webhook through
// it (POST /alerts: the server knows the URL). A run waiting for the operator (PLR's input())
// also gets its prompt answered here.
import { h } from "./dom.js";

const ASKED_KEY = "labwright.notificationsAsked";

// `notifications`: the page's Notification constructor (the browser's by default).
export function initRunAlerts(labwright, bridge = null, { notifications = globalThis.Notification ?? null } = {}) {
  const sent = []; // every alert: {event, runId, notified, posted}, for people and tests

  // Asked once per browser profile: the answer (granted or denied) is the browser's to keep.
  async function askOnce() {
    if (!notifications || notifications.permission !== "default" || localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, new Date().toISOString());
    try {
      await notifications.requestPermission();
    } catch {
      // an old browser's callback form, or a refusal: the webhook still carries alerts
    }
  }

  async function alert(kind, event) {
    const title = kind === "run.failed" ? `Run ${event.runId} failed` : `Run ${event.runId} waits for you`;
    const message = kind === "run.failed"
      ? `${event.protocol ?? "a protocol"}: ${event.error?.type ?? "Error"}: ${event.error?.message ?? event.status}`
      : `${event.protocol ?? "a protocol"} asks: ${event.prompt || "(press OK to go on)"}`;
    const record = { event: kind, runId: event.runId, title, message, notified: false, posted: null };
    sent.push(record);
    if (notifications?.permission === "granted") {
      try {
        new notifications(title, { body: message, tag: `labwright-run-${event.runId}`, requireInteraction: kind === "run.waiting" });
        record.notified = true;
      } catch (err) {
        record.notified = `${err.name}: ${err.message}`;
      }
    }
    if (bridge?.connected) {
      try {
        record.posted = await bridge.post("/alerts", { event: kind, run_id: event.runId, protocol: event.protocol ?? null, message, devices: event.devices ?? [] });
      } catch (err) {
        record.posted = { delivered: false, reason: err.message };
      }
    }
    return record;
  }

  labwright.onHardwareRun((event) => {
    if (event.phase === "started") askOnce();
    else if (event.phase === "ended" && event.status === "failed") alert("run.failed", event);
    else if (event.phase === "waiting") alert("run.waiting", event);
  });

  // The operator's answer to a prompt: one dialog per question, in the order asked.
  labwright.operator.onAsk((question) => {
    const answer = h("input", { class: "operator-answer", "aria-label": "Answer", spellcheck: "false" });
    const dialog = h("dialog", { class: "operator-prompt", "data-run": question.runId ?? "" },
      h("form", { method: "dialog" },
        h("p", {}, question.runId ? `Run ${question.runId} waits for you:` : `${question.holder ?? "The console"} asks:`),
        h("pre", { class: "prompt" }, question.prompt),
        answer, " ",
        h("button", { type: "submit", class: "operator-ok" }, "OK")));
    dialog.addEventListener("close", () => {
      question.answer(answer.value);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.show();
    answer.focus();
  });

  return { sent, askOnce };
}
