"""Stratus against the answers of the real Swift 2.38, recorded once.

The core (non-middleware) scenarios of bench/swift_scenarios.py are replayed
against a functional cluster, as the same users Swift's tempauth has
(``test:tester`` the account's admin, ``test:tester3`` ACL-only, ``test2:tester2``
another account, ``admin:admin`` the reseller, and anonymous), and every answer
(status, the headers that matter, the normalized body) must equal what Swift
answered, recorded in ``swift_answers.json`` by::

    .venv/bin/python bench/swift_conformance.py --record \\
        tests/functional/objectstore/proxy/swift/swift_answers.json

(against a running Swift all-in-one, ``bench/peers/swift.sh start``). ``KNOWN``
lists the steps where Stratus still answers differently and why; a step that
starts to answer as Swift must leave the list, so it only shrinks.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from bench import swift_replay as replay
from bench.swift_scenarios import SCENARIOS
from stratus.identity import AlreadyExists
from tests.functional.objectstore.conftest import Cluster

ANSWERS = Path(__file__).with_name("swift_answers.json")
USERS = (  # (project, user, role, key): tempauth's users and powers
    ("test", "tester", "admin", "testing"),
    ("test", "tester3", "acl-only", "testing3"),
    ("test2", "tester2", "admin", "testing2"),
    ("admin", "admin", "admin", "admin"),
)
KNOWN: dict[tuple[str, int], str] = {
    ("paths", 16): "Swift's tempauth denies (403) an account not the user's before the "
    "name-length check (400); Stratus checks the name first",
    ("auth", 5): "a good /auth/v1.0: Swift sends no body; Stratus a JSON body naming the URL",
    ("auth", 6): "a good /auth/v1.0: Swift sends no body; Stratus a JSON body naming the URL",
    ("acls", 28): "Stratus's ACLs grant 'project:*' to every user of the project; "
    "tempauth has no such wildcard (403)",
    ("acls", 31): "Stratus's ACLs grant 'project:*' to every user of the project; "
    "tempauth has no such wildcard (403)",
    ("info", 0): "/info's swift section: Stratus's version; the peer allows account management",
    ("info", 1): "tempauth's account_acls: Swift true, Stratus false (no account ACLs)",
    ("info", 2): "/info's length differs with the sections",
    ("info", 4): "/info's length differs with the sections",
    ("info", 6): "the Allow header of /info's 405 lists the methods in another order",
}


def recorded() -> dict[str, list[dict[str, Any]]]:
    return json.loads(ANSWERS.read_text())


@pytest.fixture
def users(cluster: Cluster) -> None:
    for project, user, role, key in USERS:
        with contextlib.suppress(AlreadyExists):
            cluster.identity.create_project(project)
        with contextlib.suppress(AlreadyExists):
            cluster.identity.create_user(project, user, role=role, key=key)


CORE = replay.select(SCENARIOS, core=True)


def test_the_recording_covers_every_core_scenario() -> None:
    """A scenario added or changed since the recording: record again (see the docstring)."""
    answers = recorded()
    assert sorted(answers) == sorted(s.name for s in CORE)
    for scenario in CORE:
        assert len(answers[scenario.name]) == len(scenario.steps), scenario.name


@pytest.mark.parametrize("scenario", CORE, ids=[s.name for s in CORE])
async def test_answers_as_swift(cluster: Cluster, users: None, scenario: replay.Scenario) -> None:
    swift = [replay.Answer.from_json(a) for a in recorded()[scenario.name]]
    target = replay.Target("stratus", cluster.url)
    async with replay.session() as session:
        await replay.login(session, target)
        got = await replay.run_scenario(session, target, scenario, replay.new_nonce())
    found = replay.differences(scenario, got, swift, ("stratus", "swift"))
    differing = {(d["scenario"], d["step"]) for d in found}
    known = {k for k in KNOWN if k[0] == scenario.name}
    unexpected = [d for d in found if (d["scenario"], d["step"]) not in known]
    assert not unexpected, json.dumps(unexpected, indent=1, ensure_ascii=False)
    fixed = sorted(known - differing)
    assert not fixed, f"now answered as Swift does, remove from KNOWN: {fixed}"
