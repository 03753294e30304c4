"""Alerts reach the lab's webhook: a real server posts to a real HTTP receiver on loopback."""

from __future__ import annotations

import httpx

from tests.serving import running_server
from tests.webhook_receiver import WebhookReceiver

TOKEN = "alerts-token-0123456789abcdef"
FAILED = {"event": "run.failed", "run_id": "3fa2c1", "protocol": "weigh",
          "message": "TimeoutError: the scale did not answer", "devices": ["webserial-0"]}


def _post(url: str, body: dict, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url + "api/v1/alerts", json=body, headers=headers, timeout=30)


def test_an_alert_is_posted_to_the_webhook_with_where_and_when() -> None:
    with WebhookReceiver() as hook, running_server(env={"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_MDNS": "0",
                                                         "LABWRIGHT_WEBHOOK_URL": hook.url}) as url:
        response = _post(url, FAILED)
        assert response.status_code == 200, response.text
        assert response.json() == {"delivered": True, "status": 204}
        [event] = hook.wait_for(1)
        assert event["path"] == "/hooks/lab" and event["content_type"] == "application/json"
        posted = event["body"]
        assert {k: posted[k] for k in FAILED} == FAILED
        assert posted["source"] == "labwright" and posted["host"] and posted["at"].endswith("+00:00")
        # the token is needed, and the body is checked before anything is posted
        assert _post(url, FAILED, token=None).status_code == 401
        bad = _post(url, {**FAILED, "event": "run.exploded"})
        assert bad.status_code == 422 and "event" in bad.text
        assert len(hook.events) == 1
        # a webhook that fails is reported, not assumed told
        hook.status = 500
        down = _post(url, {**FAILED, "event": "run.waiting"})
        assert down.status_code == 502 and "the webhook answered 500" in down.json()["detail"]


def test_without_a_webhook_the_server_says_so() -> None:
    with running_server(env={"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_MDNS": "0"}) as url:
        response = _post(url, FAILED)
        assert response.json() == {"delivered": False, "reason": "no webhook configured (LABWRIGHT_WEBHOOK_URL)"}
