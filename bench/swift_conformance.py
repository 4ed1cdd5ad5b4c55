"""Side-by-side conformance of Stratus's native API with OpenStack Swift 2.38.

    .venv/bin/python bench/swift_conformance.py [--swift-env FILE | --start-swift]
        [--stratus-url URL] [--only FEATURE,...] [--core-only] [--out FILE]
    .venv/bin/python bench/swift_conformance.py --record FILE [--swift-env FILE]

Sends the same scripted requests (bench/swift_scenarios.py) to a `stratus up`
started here and to a Swift all-in-one, as equivalent users (the account's admin,
an ACL-only user of the same account, another account's admin, the reseller
admin, anonymous), and compares statuses, the headers that matter and the bodies,
normalized (bench/swift_replay.py). Swift is the peer already running whose
``swift.env`` (``bench/peers/swift.sh start`` writes it) is given or found in the
bench cache, or, with ``--start-swift``, one started and stopped here.

Prints one JSON document: ``scenarios`` (per scenario: steps, differing steps,
``same``), ``differences`` (every differing step: status, headers, body of
each system), ``by_feature`` counts, and ``summary`` (a few human lines, also on
stderr).

``--record FILE`` only asks Swift, for the core (non-middleware) scenarios, and
writes its normalized answers: the fixture the functional conformance test
checks Stratus against (tests/functional/objectstore/proxy/swift/swift_answers.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import swift_replay as replay
from _launch import ROOT, StratusUp, emit
from _peers import CACHE, SwiftPeer, key_values
from swift_scenarios import SCENARIOS

STRATUS_USERS = (  # (project, user, role, key): Swift's tempauth users, the same powers
    ("test", "tester", "admin", "testing"),
    ("test", "tester3", "acl-only", "testing3"),
    ("test2", "tester2", "admin", "testing2"),
)


def stratus_users(data_dir: Path) -> None:
    """Swift's test users in Stratus (admin:admin is `stratus up`'s own, key "admin")."""
    env = {"STRATUS_DATA": str(data_dir), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "stratus.cli.main", *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    for project in sorted({u[0] for u in STRATUS_USERS}):
        cli("project", "create", project)
    for project, user, role, key in STRATUS_USERS:
        cli("user", "create", f"{project}:{user}", "--role", role, "--key", key)


async def run_all(
    targets: list[replay.Target], scenarios: list[replay.Scenario], nonce: str
) -> dict[str, list[list[replay.Answer]]]:
    out: dict[str, list[list[replay.Answer]]] = {t.name: [] for t in targets}
    async with replay.session() as session:
        for target in targets:
            await replay.login(session, target)
        for scenario in scenarios:
            print(f"# {scenario.name}", file=sys.stderr)
            for target in targets:
                out[target.name].append(await replay.run_scenario(session, target, scenario, nonce))
    return out


def compare(
    scenarios: list[replay.Scenario], answers: dict[str, list[list[replay.Answer]]]
) -> dict[str, Any]:
    names = ("stratus", "swift")
    per: list[dict[str, Any]] = []
    diffs: list[dict[str, Any]] = []
    by_feature: dict[str, dict[str, int]] = {}
    for i, scenario in enumerate(scenarios):
        found = replay.differences(scenario, answers["stratus"][i], answers["swift"][i], names)
        diffs.extend(found)
        compared = sum(1 for s in scenario.steps if s.compare)
        per.append(
            {
                "name": scenario.name,
                "feature": scenario.feature,
                "middleware": scenario.middleware,
                "steps": compared,
                "differing_steps": len(found),
                "same": not found,
            }
        )
        tally = by_feature.setdefault(scenario.feature, {"steps": 0, "differing_steps": 0})
        tally["steps"] += compared
        tally["differing_steps"] += len(found)
    return {"scenarios": per, "differences": diffs, "by_feature": by_feature}


def summary(doc: dict[str, Any]) -> list[str]:
    per = doc["scenarios"]
    same = sum(1 for s in per if s["same"])
    steps = sum(s["steps"] for s in per)
    differing = sum(s["differing_steps"] for s in per)
    lines = [
        f"{same}/{len(per)} scenarios answer as Swift does; "
        f"{steps - differing}/{steps} compared requests identical",
    ]
    for feature, tally in sorted(doc["by_feature"].items()):
        if tally["differing_steps"]:
            lines.append(f"  {feature}: {tally['differing_steps']}/{tally['steps']} steps differ")
    return lines


def swift_url(args: argparse.Namespace) -> str:
    env_file = Path(args.swift_env or CACHE / "swift-aio" / "run" / "swift.env")
    if not env_file.exists():
        raise SystemExit(
            f"no {env_file}: start Swift (bench/peers/swift.sh start) or --start-swift"
        )
    info = key_values(env_file.read_text())
    return info["SWIFT_AUTH_URL"].removesuffix("/auth/v1.0")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--swift-env", help="the peer's swift.env (default: the bench cache's)")
    ap.add_argument("--start-swift", action="store_true", help="start (and stop) a Swift AIO")
    ap.add_argument("--stratus-url", help="a running Stratus with Swift's users (not started)")
    ap.add_argument("--only", default="", help="scenario names or features, comma-separated")
    ap.add_argument("--core-only", action="store_true", help="no middleware scenarios")
    ap.add_argument("--record", metavar="FILE", help="write Swift's answers to the core scenarios")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    only = [o for o in args.only.split(",") if o]
    core = True if (args.core_only or args.record) else None
    scenarios = replay.select(SCENARIOS, only=only, core=core)
    nonce = replay.new_nonce()

    peer: SwiftPeer | None = None
    stratus: StratusUp | None = None
    tmp = tempfile.TemporaryDirectory(prefix="swift-conformance-")
    try:
        if args.start_swift:
            peer = SwiftPeer(nodes=3, replicas=3, daemons=False).__enter__()
            url = peer.info["SWIFT_AUTH_URL"].removesuffix("/auth/v1.0")
        else:
            url = swift_url(args)
        swift = replay.Target("swift", url)
        if args.record:
            answers = asyncio.run(run_all([swift], scenarios, nonce))["swift"]
            record = {
                s.name: [a.as_json() for a in got]
                for s, got in zip(scenarios, answers, strict=True)
            }
            Path(args.record).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
            print(f"recorded {len(record)} scenarios into {args.record}", file=sys.stderr)
            return 0
        if args.stratus_url:
            stratus_url = args.stratus_url
        else:
            stratus = StratusUp(Path(tmp.name) / "data", admin_key="admin")
            stratus.spawn()
            stratus.wait_ready()
            stratus_users(stratus.data_dir)
            stratus_url = f"http://127.0.0.1:{stratus.proxy_port}"
        targets = [replay.Target("stratus", stratus_url), swift]
        answers = asyncio.run(run_all(targets, scenarios, nonce))
        doc = {"swift_url": url, "nonce": nonce, **compare(scenarios, answers)}
        doc["summary"] = summary(doc)
        for line in doc["summary"]:
            print(line, file=sys.stderr)
        emit(doc, args.out)
        return 0
    finally:
        if stratus is not None:
            stratus.stop()
        if peer is not None:
            peer.__exit__(None, None, None)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
