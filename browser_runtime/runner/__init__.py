"""Run a protocol: PLR machines with no-hardware backends (or real ones), events, cancellation."""

from browser_runtime.machines import SimulationError, build_simulated_machine, simulator_backend_for
from browser_runtime.runner.events import EventLog, replay_states
from browser_runtime.runner.run import ProtocolRun, RunCancelled, RunResult, load_protocol_function

__all__ = [
    "EventLog",
    "ProtocolRun",
    "RunCancelled",
    "RunResult",
    "SimulationError",
    "build_simulated_machine",
    "load_protocol_function",
    "replay_states",
    "simulator_backend_for",
]
