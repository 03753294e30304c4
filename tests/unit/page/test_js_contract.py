"""The contract between the page's JS and the Python page API: every call ``web/client/labwright.js``
(or any page module) makes names a function the door offers, with argument names its signature
accepts and every required one given; every function the door offers is reachable from JS."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from browser_runtime.page import door
from tests.unit.page.js_calls import page_api_calls, tokenize

WEB = Path(__file__).resolve().parents[3] / "web"
LABWRIGHT_JS = WEB / "client" / "labwright.js"


def _page_modules():
    """The page's own JS (web/vendor/ holds bundled third-party libraries set-up builds)."""
    return [path for path in sorted(WEB.rglob("*.js")) if "vendor" not in path.relative_to(WEB).parts]


def _calls():
    found = []
    for path in _page_modules():
        for call in page_api_calls(path.read_text(encoding="utf-8")):
            found.append((path.relative_to(WEB.parent), call))
    return found


def contract_problems(calls, functions) -> list[str]:
    """What is wrong with ``calls`` [(where, Call)] against the page API ``functions``."""
    problems = []
    for where, call in calls:
        at = f"{where}:{call.line}: {call.name}"
        if call.problem:
            problems.append(f"{at}: {call.problem}")
            continue
        function = functions.get(call.name)
        if function is None:
            problems.append(f"{at}: the page API has no such function")
            continue
        parameters = list(inspect.signature(function).parameters.values())[1:]  # past the session
        names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        for unknown in sorted(call.arguments - names):
            problems.append(f"{at}: {function.__name__}() takes no argument {unknown!r} (it takes {sorted(names)})")
        for missing in sorted(p.name for p in parameters if p.default is p.empty and p.name not in call.arguments):
            problems.append(f"{at}: the required argument {missing!r} is not passed")
    return problems


def test_every_js_call_names_a_page_api_function_with_its_arguments():
    calls = _calls()
    assert any(str(where).endswith("client/labwright.js") for where, _ in calls)
    assert contract_problems(calls, door.functions()) == []


def test_only_labwright_js_talks_to_the_page_api():
    # The views go through window.labwright's named methods, so the contract lives in one file.
    elsewhere = sorted({str(where) for where, _ in _calls() if not str(where).endswith("client/labwright.js")})
    assert elsewhere == []


def test_every_page_api_function_is_reachable_from_js():
    called = {call.name for _, call in _calls()}
    assert sorted(set(door.functions()) - called) == []


def test_only_the_bridge_client_talks_to_the_bridge_server():
    # One client carries the token, the client id and problem details: no other module spells
    # an /api/v1 URL (in code; comments may say where things are) or opens a WebSocket.
    offenders = []
    for path in _page_modules():
        if path == WEB / "client" / "bridge-client.js":
            continue
        tokens = tokenize(path.read_text(encoding="utf-8"))
        for index, token in enumerate(tokens):
            if token.kind in ("string", "template") and "/api/v1" in token.value:
                offenders.append(f"{path.relative_to(WEB)}:{token.line}: {token.value!r}")
            if token.value == "WebSocket" and index + 1 < len(tokens) and tokens[index + 1].value == "(":
                offenders.append(f"{path.relative_to(WEB)}:{token.line}: new WebSocket(")
    assert offenders == []


def test_a_misspelled_name_or_argument_fails_the_contract():
    source = '''
    function options(o) { const { a = 1 } = o; return { limit: a, section: null }; }
    export const api = {
      one: () => api.call("runs.hitsory", { limit: 5 }),            // no such function
      two: (id) => api.call("runs.get", { runid: id }),               // misspelled argument; run_id missing
      three: (args) => api.call("runs.wait", args),                   // not checkable
      four: (text) => api.call("catalog.search", { text, ...options({}), extra: `x/${text}` }),
      five: () => api.call("catalog.search", { ...notAFunction, text: "x" }),
    };
    '''
    calls = [("snippet.js", call) for call in page_api_calls(source)]
    assert [call.name for _, call in calls] == ["runs.hitsory", "runs.get", "runs.wait", "catalog.search", "catalog.search"]
    assert calls[3][1].arguments == {"text", "limit", "section", "extra"}  # the spread read from options()
    problems = contract_problems(calls, door.functions())
    assert any("runs.hitsory: the page API has no such function" in p for p in problems)
    assert any("runs.get: get() takes no argument 'runid'" in p for p in problems)
    assert any("runs.get: the required argument 'run_id' is not passed" in p for p in problems)
    assert any("runs.wait: the arguments are 'args'" in p for p in problems)
    assert any("catalog.search: search() takes no argument 'extra'" in p for p in problems)
    assert any("spread of notAFunction" in p for p in problems)
    assert len(problems) == 6, problems


@pytest.mark.parametrize("source, names", [
    ('// api.call("runs.nope", {})\nx = 1 / 2; y = /api.call\\("runs.nope"/g;', []),
    ('const s = "api.call(\\"runs.nope\\")"; api.call("runs.active")', ["runs.active"]),
    ("const t = `${api.call}`; api.call('runs.active')", ["runs.active"]),
])
def test_comments_strings_and_regular_expressions_are_not_calls(source, names):
    assert [call.name for call in page_api_calls(source)] == names
