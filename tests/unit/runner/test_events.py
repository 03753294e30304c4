"""What the worker hands the page is JSON: datetimes as ISO 8601, never a Python repr."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from browser_runtime.runner.events import jsonable


def test_datetimes_become_iso_8601():
    moment = datetime(2027, 2, 26, 13, 9, 53, tzinfo=timezone.utc)
    document = jsonable({"expires_at": moment, "days": [moment.date()]})
    assert document == {"expires_at": "2027-02-26T13:09:53+00:00", "days": ["2027-02-26"]}
    assert datetime.fromisoformat(json.loads(json.dumps(document))["expires_at"]) == moment
