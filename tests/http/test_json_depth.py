"""``loads_exact`` refuses nesting deeper than ``MAX_JSON_DEPTH`` whichever way it decides: the
bracket count (few brackets: no scan) or the scan (brackets inside strings do not count)."""

from __future__ import annotations

import json

import pytest

from salesrefund.http.problems import MAX_JSON_DEPTH, loads_exact


@pytest.mark.parametrize("kind", [bytes, str])
def test_the_limit_holds_on_both_sides_of_the_bracket_count(kind):
    def body(text):
        return text.encode() if kind is bytes else text

    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_exact(body(at_limit)) is not None
    with pytest.raises(json.JSONDecodeError):
        loads_exact(body("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)))
    shallow_but_bracketed = json.dumps({"note": "[{" * 100, "lines": [[1]] * 40})
    assert loads_exact(body(shallow_but_bracketed))["note"] == "[{" * 100
    deep_in_a_crowd = json.dumps({"pad": "[" * 50, "deep": json.loads("[" * 40 + "]" * 40)})
    with pytest.raises(json.JSONDecodeError):
        loads_exact(body(deep_in_a_crowd))
