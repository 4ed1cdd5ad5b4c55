"""Hypothesis settings for the fuzz tests: a small budget in CI, any budget on demand.

``STRATUS_FUZZ_EXAMPLES=N`` makes tests/conftest.py load the ``fuzz``
profile; :func:`budget` then gives every fuzz test N examples instead of its
own CI budget (which keeps the whole fuzz set within about a minute).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def budget(examples: int) -> settings:
    """``examples`` examples in a normal run, the fuzz profile's count in a long one."""
    if os.environ.get("STRATUS_FUZZ_EXAMPLES"):
        return settings(settings.get_profile("fuzz"))
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# JSON values that have broken request handlers: huge and non-finite numbers, wrong types.
ODD_JSON = [None, True, False, 0, -1, 1, 2**31, 2**63, 2**64, 10**400, -(10**400), 1.5, 1e308,
            float("inf"), float("-inf"), float("nan"), "", " ", "1", "²", "9" * 5000, "\u0000",
            "\udc80", "x" * 70000, [], [1], {}, {"a": {}}]  # fmt: skip


def json_values(depth: int = 2) -> Any:
    """Any JSON value (and Python's NaN / Infinity extensions), odd ones often."""
    leaf = st.sampled_from(ODD_JSON) | st.integers() | st.text(max_size=20) | st.floats()
    return st.recursive(
        leaf,
        lambda kids: (
            st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
        ),
        max_leaves=8,
    )


@st.composite
def mutated_json(draw: Any, template: Any) -> bytes:
    """``template`` (a valid body) with a few values replaced, keys dropped or added, or junk."""
    body = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        spots = list(_spots(body))
        if not spots:
            break
        parent, key = spots[draw(st.integers(0, len(spots) - 1))]  # (no sampled_from: mutable)
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "drop" and isinstance(parent, dict):
            parent.pop(key, None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values())
        else:
            parent[key] = draw(json_values())
    how = draw(st.sampled_from(["json"] * 8 + ["whole", "bytes"]))
    if how == "whole":
        body = draw(json_values())
    raw = json.dumps(body).encode("utf-8", "surrogatepass")
    if how == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=8)) + raw[at + 1 :]
    return raw


def _spots(value: Any) -> Any:
    """(container, key) of every place in a JSON document a value sits."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in list(items):
        yield value, key
        yield from _spots(child)


# Resource ids as a URL path can carry them: empty-ish, huge, odd characters (percent-encoded).
PATH_IDS = st.sampled_from(
    ["x", "-", "%00", "%ff", "%ed%b2%80", "a" * 600, "%C3%A9" * 300]
) | st.text(st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1, max_size=40)
