"""The deck the console works on, followed live: what REPL commands change is drawn as it happens.

After a run, its deck is in the console's scope; a user may also build one there. Whichever deck
the console's namespace holds (``deck``, else the deck of a liquid handler in scope) is followed
with PLR's own resource callbacks, the way PLR's visualizer follows its root: a state change
(tips, volumes) becomes a ``set_state`` of the resources changed, a resource put on or taken off
the deck a ``resource_assigned`` / ``resource_unassigned``, all in the visualizer's own event
shapes, sent on the page's channel ``deck``. Changes are coalesced per resource and sent at most
every ``FLUSH_S`` seconds and at the end of every console input, so a loop of a thousand aspirations
is a handful of messages.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

__all__ = ["LiveDeck", "FLUSH_S"]

#: The longest a state change waits before it is sent while a console input still runs.
FLUSH_S = 0.05


class LiveDeck:
    """Follows one deck at a time and tells ``emit("deck", message)`` what changed on it."""

    def __init__(self, emit: Callable[[str, Any], None]) -> None:
        self._send = emit
        self.deck: Any = None
        self._undo: list[Callable[[], None]] = []
        self._watched: set[int] = set()
        self._pending: dict[str, dict[str, Any]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def _emit(self, channel: str, message: dict[str, Any]) -> None:
        from browser_runtime.runner.events import json_safe

        self._send(channel, json_safe(message))  # PLR's states hold inf (a trash's max volume)

    # ---- which deck ---------------------------------------------------------------------------

    def follow_scope(self, namespace: dict[str, Any], *, announce: bool = True) -> None:
        """Follow the deck ``namespace`` holds; a deck not followed before is sent whole when
        ``announce`` (a run's deck is on the page already: it is followed without being sent)."""
        deck = deck_in(namespace)
        if deck is None or deck is self.deck:
            return
        self.stop()
        self.deck = deck
        self._watch_tree(deck)
        deck.register_did_assign_resource_callback(self._assigned)
        deck.register_did_unassign_resource_callback(self._unassigned)
        self._undo.append(lambda: deck.deregister_did_assign_resource_callback(self._assigned))
        self._undo.append(lambda: deck.deregister_did_unassign_resource_callback(self._unassigned))
        if announce:
            self._emit("deck", {"event": "show", "data": {"resource": _tree(deck),
                                                          "state": deck.serialize_all_state()}})

    def stop(self) -> None:
        for undo in self._undo:
            undo()
        self._undo.clear()
        self._watched.clear()
        self._pending.clear()
        self.deck = None

    # ---- what changed -------------------------------------------------------------------------

    def _watch_tree(self, resource: Any) -> None:
        for item in [resource, *resource.get_all_children()]:
            if id(item) in self._watched:
                continue
            self._watched.add(id(item))

            def changed(state: dict[str, Any], item: Any = item) -> None:
                self._pending[item.name] = item.serialize_state()
                self._schedule()

            item.register_state_update_callback(changed)
            self._undo.append(lambda item=item, changed=changed: item.deregister_state_update_callback(changed))

    def _assigned(self, resource: Any) -> None:
        self._watch_tree(resource)
        self.flush()  # states before the move are drawn before it
        self._emit("deck", {"event": "resource_assigned", "data": {
            "resource": _tree(resource), "state": resource.serialize_all_state(),
            "parent_name": resource.parent.name if resource.parent is not None else None}})

    def _unassigned(self, resource: Any) -> None:
        self.flush()
        self._emit("deck", {"event": "resource_unassigned", "data": {"resource_name": resource.name}})

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): sent at the end of the input
        self._timer = loop.call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Send the states changed since the last flush (one ``set_state``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            batch, self._pending = self._pending, {}
            self._emit("deck", {"event": "set_state", "data": batch})


def deck_in(namespace: dict[str, Any]) -> Any:
    """The deck a console namespace works on: ``deck`` if it is one, else a liquid handler's."""
    from pylabrobot.liquid_handling import LiquidHandler
    from pylabrobot.resources import Deck

    named = namespace.get("deck")
    if isinstance(named, Deck):
        return named
    for value in list(namespace.values()):
        if isinstance(value, LiquidHandler) and isinstance(value.deck, Deck):
            return value.deck
    return None


def _tree(resource: Any) -> dict[str, Any]:
    """PLR's serialization of a resource with its children (what its visualizer draws)."""
    return resource.serialize()
