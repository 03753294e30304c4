"""ReplSession: statements share a namespace, output is captured, Jedi completes over it."""

from __future__ import annotations

from browser_runtime.repl import ReplSession


def test_statements_share_state_and_return_the_last_value(run_async):
    session = ReplSession()
    first = run_async(session.execute("x = 40\nx + 2"))
    assert (first.result, first.error, first.output) == ("42", None, "")
    assert run_async(session.execute("x")).result == "40"
    assert run_async(session.execute("y = 1")).result is None


def test_top_level_await_runs(run_async):
    session = ReplSession()
    result = run_async(session.execute("import asyncio\nawait asyncio.sleep(0)\n'done'"))
    assert result.result == "'done'"


def test_output_is_captured_and_streamed_in_order(run_async):
    session = ReplSession()
    streamed = []
    result = run_async(session.execute(
        "import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')",
        on_output=lambda name, text: streamed.append((name, text))))
    assert result.output == "a\nb\nc\n"
    assert [s for s in streamed if s[1].strip()] == [("stdout", "a"), ("stderr", "b"), ("stdout", "c")]


def test_errors_come_back_with_their_traceback(run_async):
    session = ReplSession()
    result = run_async(session.execute("print('before')\n1 / 0"))
    assert result.result is None
    assert result.output == "before\n"
    assert result.error["type"] == "ZeroDivisionError"
    assert "1 / 0" in result.error["traceback"]
    syntax = run_async(session.execute("def (:"))
    assert syntax.error["type"] == "SyntaxError"


def test_completion_sees_the_session_namespace(run_async):
    session = ReplSession()
    run_async(session.execute("class Pump:\n  def aspirate_volume(self): pass\npump = Pump()"))
    names = [c.name for c in session.complete("pump.asp")]
    assert names == ["aspirate_volume"]
    assert any(c.name == "pump" for c in session.complete("pu"))


def test_signature_help_names_the_current_parameter(run_async):
    session = ReplSession()
    run_async(session.execute("def dispense(volume, flow_rate=1.0): pass"))
    signatures = session.signatures("dispense(10, ")
    assert signatures[0].name == "dispense"
    assert signatures[0].index == 1
    assert signatures[0].params == ["param volume", "param flow_rate=1.0"]
