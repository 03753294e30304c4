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


def test_plr_arguments_keep_their_json_form():
    """The per-type encoders give what the generic rules gave: resources by name, coordinates as
    x/y/z, enums by name, an IntEnum as its number, dataclasses by field, no Infinity or NaN."""
    import enum

    from pylabrobot.liquid_handling.standard import SingleChannelAspiration
    from pylabrobot.resources import Coordinate, Trough
    from pylabrobot.resources.hamilton import HamiltonTip, TipPickupMethod, TipSize

    class Speed(enum.IntEnum):
        FAST = 3

    tip = HamiltonTip(True, 95.1, 1065, TipSize.HIGH_VOLUME, TipPickupMethod.OUT_OF_RACK, name="t")
    trough = Trough("diluent", 19, 90, 50, max_volume=200_000)
    op = SingleChannelAspiration(resource=trough, offset=Coordinate(0, 46.540000001, 0), tip=tip,
                                 volume=10.0, flow_rate=None, liquid_height=float("inf"),
                                 blow_out_air_volume=None, mix=None)
    document = jsonable({"ops": [op, op], "use_channels": (0, 1), "speed": Speed.FAST, "left": float("nan")})
    assert document["ops"][0] == document["ops"][1] == {
        "resource": "diluent", "offset": {"x": 0, "y": 46.54, "z": 0},
        "tip": {"has_filter": True, "total_tip_length": 95.1, "maximal_volume": 1065, "fitting_depth": 8,
                "nominal_volume": 1065, "name": "t"},
        "volume": 10.0, "flow_rate": None, "liquid_height": "inf", "blow_out_air_volume": None, "mix": None}
    assert document["use_channels"] == [0, 1] and document["speed"] == 3 and document["left"] == "nan"
    json.dumps(document, allow_nan=False)


def test_state_events_tell_what_changed_and_replay_to_the_whole_state():
    from browser_runtime.runner.events import EventLog, replay_states

    log = EventLog()
    well = {"volume": 0.0, "pending_volume": 0.0, "max_volume": 360}
    log.state("A1", dict(well))
    log.state("A1", {**well, "pending_volume": 50.0})  # two changes before the next event: one event
    log.emit("command", machine="lh", command="dispense", args={})
    log.state("A1", {**well, "pending_volume": 50.0})  # PLR reports callbacks that change nothing
    log.emit("progress", commands=1, fraction=None)
    log.state("A1", {**well, "volume": 50.0, "pending_volume": 50.0})
    log.state("A1", {"volume": 50.0, "max_volume": 360})  # a key went away: told whole again
    events = log.as_list()
    states = [(e["seq"], e["state"], e.get("replace", False)) for e in events if e["type"] == "state"]
    assert states == [(0, {"volume": 0.0, "pending_volume": 50.0, "max_volume": 360}, False),
                      (3, {"volume": 50.0, "max_volume": 360}, True)]
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    log.state("A1", {"volume": 60.0, "max_volume": 360})
    events = log.as_list()
    assert events[-1]["state"] == {"volume": 60.0}
    assert replay_states(events) == {"A1": {"volume": 60.0, "max_volume": 360}}
    assert replay_states(events[:2]) == {"A1": {"volume": 0.0, "pending_volume": 50.0, "max_volume": 360}}


def test_a_batch_tells_each_resource_once_at_its_newest_state():
    from browser_runtime.runner.events import merge_state_events, replay_states

    events = [
        {"seq": 0, "type": "state", "t_ms": 1.0, "resource": "A1", "state": {"volume": 1.0, "max_volume": 9}},
        {"seq": 1, "type": "command", "t_ms": 1.5, "machine": "lh", "command": "dispense", "args": {}},
        {"seq": 2, "type": "state", "t_ms": 2.0, "resource": "A1", "state": {"volume": 2.0}},
        {"seq": 3, "type": "state", "t_ms": 2.0, "resource": "B1", "state": {"volume": 5.0}},
        {"seq": 4, "type": "state", "t_ms": 3.0, "resource": "B1", "state": {"volume": 7.0}, "replace": True},
        {"seq": 5, "type": "state", "t_ms": 4.0, "resource": "B1", "state": {"pending_volume": 7.0}},
    ]
    merged = merge_state_events(events)
    assert [e["seq"] for e in merged] == [1, 2, 5]
    assert merged[1] == {"seq": 2, "type": "state", "t_ms": 2.0, "resource": "A1",
                         "state": {"volume": 2.0, "max_volume": 9}}
    assert merged[2]["state"] == {"volume": 7.0, "pending_volume": 7.0} and merged[2]["replace"] is True
    assert replay_states(merged, {"B1": {"old": 1}}) == replay_states(events, {"B1": {"old": 1}})
    assert events[2]["state"] == {"volume": 2.0}  # what was merged is left as it was
    assert merge_state_events(events[:2]) == events[:2]


def test_batches_go_out_when_due_and_at_once_at_a_status():
    from browser_runtime.runner.events import EventBatches

    sent = []
    batches = EventBatches(sent.append, interval_s=3600)
    batches({"seq": 0, "type": "status", "t_ms": 0, "status": "running"})
    assert sent == [[{"seq": 0, "type": "status", "t_ms": 0, "status": "running"}]]
    for seq in range(1, 40):  # not due for an hour, and no event loop to wait on here
        batches({"seq": seq, "type": "log", "t_ms": seq, "source": "stdout", "level": "info", "message": "x"})
    assert len(sent) == 1
    batches({"seq": 40, "type": "status", "t_ms": 40, "status": "completed"})
    assert [len(batch) for batch in sent] == [1, 40]
    due = EventBatches(sent.append, interval_s=0)  # due at once: sent every 16 events
    for seq in range(33):
        due({"seq": seq, "type": "progress", "t_ms": seq, "commands": seq, "fraction": None})
    assert [len(batch) for batch in sent[2:]] == [16, 16]
    due.flush()
    assert [e["seq"] for e in sent[-1]] == [32]


def test_the_fast_binding_of_backend_commands_is_what_bind_gives():
    import inspect

    from pylabrobot.liquid_handling.backends import LiquidHandlerChatterboxBackend

    from browser_runtime.runner.run import _binder

    def plain(a, b=2, *, c, d=4):
        pass

    def keywords(ops, use_channels, **backend_kwargs):
        pass

    def positional(a, /, b):
        pass

    backend = LiquidHandlerChatterboxBackend()
    calls = [
        (plain, (), {"a": 1, "c": 3}), (plain, (1,), {"c": 3}), (plain, (), {"c": 3, "a": 1, "d": 5}),
        (keywords, (), {"ops": [], "use_channels": [0]}), (keywords, (), {"use_channels": [0], "ops": [], "speed": 9}),
        (positional, (), {"b": 1, "a": 2}), (backend.aspirate, (), {"ops": [], "use_channels": [0]}),
        (backend.setup, (), {}), (plain, (), {"a": 1}), (plain, (), {"a": 1, "c": 3, "e": 5}),
    ]
    for function, args, kwargs in calls:
        signature = inspect.signature(function)
        try:
            expected = dict(signature.bind(*args, **kwargs).arguments)
        except TypeError:
            expected = TypeError
        try:
            got = _binder(signature)(*args, **kwargs)
        except TypeError:
            got = TypeError
        assert got == expected, (function.__name__, args, kwargs)
        if expected is not TypeError:
            assert list(got) == list(expected)
