"""Run a protocol: PLR machines with no-hardware backends (or real ones), events, cancellation."""

from browser_runtime.machines import SimulationError, build_simulated_machine, simulator_backend_for
from browser_runtime.runner.events import Event, EventLog
from browser_runtime.runner.run import ProtocolRun, RunResult, load_protocol_function

__all__ = [
    "Event",
    "EventLog",
    "ProtocolRun",
    "RunResult",
    "SimulationError",
    "build_simulated_machine",
    "load_protocol_function",
    "simulator_backend_for",
]
