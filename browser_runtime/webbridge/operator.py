"""The operator in the loop: PLR's ``input()`` prompts (a STAR asking for a barcode, a "press
enter when the plate is in") reach the person at the page, not a stdin the worker does not have.

``install`` puts ``ask`` in place of ``builtins.input`` while the bridge is installed. Code that
holds a hardware grant (a run on devices, the console) asks through the page's port manager
(``operator.ask``): the page shows the prompt, alerts that the run waits for the operator (a
browser notification, the lab's webhook) and hands the answer back; ``input`` blocks until then
as it does on a lab PC (JSPI). Code without a grant (a simulation, a plan) gets PLR's own
``input``, whose missing stdin says there is nobody to ask.
"""

from __future__ import annotations

import builtins
from typing import Any

from browser_runtime.webbridge.transport import OPS, get_transport

__all__ = ["ask", "install", "uninstall"]

_original: dict[str, Any] = {}


def ask(prompt: Any = "") -> str:
    """``input(prompt)`` answered by the operator at the page (the run waits meanwhile)."""
    from browser_runtime.webbridge.grants import current

    if current() is None:
        return _original.get("input", builtins.input)(prompt)
    answer = get_transport().request_sync(OPS.operator_ask, {"prompt": str(prompt)}, timeout=None)
    return "" if answer is None else str(answer)


def install() -> None:
    if "input" not in _original:
        _original["input"] = builtins.input
        builtins.input = ask


def uninstall() -> None:
    if "input" in _original:
        builtins.input = _original.pop("input")
