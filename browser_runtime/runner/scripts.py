"""Running a plain PLR script in simulation: its real backends built as simulators, its commands recorded.

The script runs as the page's console runs code (top-level ``await``), rewritten first by
``protocols.scripts.simulated_script``: each backend it builds comes from the hook below, which
builds that machine kind's PLR simulator and hands it to the run to record. Machines the
script leaves set up are stopped when it ends, as a protocol's are.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import linecache
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.runner.run import Loadable, ProtocolRun

__all__ = ["ScriptSource"]


@dataclass(frozen=True)
class ScriptSource(Loadable):
    """A script to run; ``__call__(run)`` gives the coroutine function the run awaits."""

    source: str  # the rewritten (simulated) script
    filename: str
    simulators: dict[str, str] = field(default_factory=dict)  # machine kind -> simulator backend fqn

    def __call__(self, run: ProtocolRun) -> Callable[..., Any]:
        from browser_runtime.protocols.scripts import SIMULATOR_HOOK

        built: list[Any] = []

        def simulated_backend(kind: str, variable: str, replaces: str) -> Any:
            fqn = self.simulators.get(kind)
            if fqn is None:
                raise RuntimeError(f"{variable}: PLR has no simulator for {kind} machines; "
                                   f"{replaces.rpartition('.')[2]} cannot run in simulation")
            module, _, name = fqn.rpartition(".")
            backend = getattr(importlib.import_module(module), name)()
            run.log.emit("log", source=variable, level="info",
                         message=f"{variable}: simulated with {name} in place of {replaces.rpartition('.')[2]}")
            run.attach_backend(variable, backend)
            built.append(backend)
            return backend

        module = types.ModuleType(f"labwright_script_{abs(hash((self.filename, self.source)))}")
        module.__file__ = self.filename
        module.__dict__[SIMULATOR_HOOK] = simulated_backend
        linecache.cache[self.filename] = (len(self.source), None, self.source.splitlines(keepends=True),
                                          self.filename)
        code = compile(self.source, self.filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                       dont_inherit=True)

        async def script() -> Any:
            from pylabrobot.resources import set_tip_tracking, set_volume_tracking

            # A script runs as PLR would run it: tracking as PLR starts it (off) unless the script
            # turns it on (a protocol's plan turns it on; the worker keeps PLR's global switches).
            set_tip_tracking(False)
            set_volume_tracking(False)
            try:
                result = eval(code, module.__dict__)  # noqa: S307 - the user's own script, in a simulation
                if inspect.isawaitable(result):
                    await result
            finally:
                # Machines the script set up on the simulators are stopped with the run's others.
                for name, value in list(module.__dict__.items()):
                    backend = getattr(value, "backend", None)
                    if any(backend is ours for ours in built) and name not in run.machines:
                        run.machines[name] = value
            return None

        return script
