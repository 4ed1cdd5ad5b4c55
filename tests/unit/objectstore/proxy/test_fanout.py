"""judge: a fan-out's replies turned into the one answer of a write."""

from __future__ import annotations

import pytest

from objectstore.client import NotFound
from objectstore.proxy import errors
from objectstore.proxy.fanout import judge
from objectstore.proxy.placement import Outcome, Reply


def outcome(*answers: str) -> Outcome[str, None]:
    """``ok`` a success, ``nf`` a 404, ``down`` a fault."""
    out: Outcome[str, None] = Outcome(2)
    for i, a in enumerate(answers):
        error = {"ok": None, "nf": NotFound(404), "down": TimeoutError()}[a]
        out.replies.append(Reply(f"n{i}", i, None, error))
    return out


def test_a_majority_decides() -> None:
    judge(outcome("ok", "ok", "nf"), errors.ObjectNotFound)
    with pytest.raises(errors.ObjectNotFound):
        judge(outcome("ok", "nf", "nf"), errors.ObjectNotFound)
    with pytest.raises(errors.ServiceUnavailable):
        judge(outcome("ok", "down", "down"), errors.ObjectNotFound)


def test_a_tie_is_not_found_for_a_write_but_done_for_a_delete() -> None:
    """A POST on one replica of two is not acknowledged; a DELETE's tombstone is on both
    answering nodes, and one of them held the object (the probe cluster's rolling restarts:
    a replica that missed the last PUT made DELETE of an acknowledged object answer 404)."""
    with pytest.raises(errors.ObjectNotFound):
        judge(outcome("ok", "nf", "down"), errors.ObjectNotFound)
    judge(outcome("ok", "nf", "down"), errors.ObjectNotFound, tombstone=True)
    with pytest.raises(errors.ObjectNotFound):
        judge(outcome("ok", "nf", "nf"), errors.ObjectNotFound, tombstone=True)
