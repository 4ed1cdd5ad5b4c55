"""Power cuts under the identity store: users, keys, S3 credentials and tokens that were
acknowledged are all there after the restart, and deleted users stay deleted.

The data directory is a LazyFS mount. The ``stratus`` CLI makes the first
project, user and credential (acknowledged: the command exited 0 and
printed them); then a process (``identity_worker``) changes the store in a
loop, printing each change once it returned, until the power is cut
(SIGKILL, the mount forgets what was not durable). The store is opened
again and every acknowledged change checked. ``STRATUS_POWER_CUTS``
(default 3) sets the number of cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stratus.identity import IdentityError, IdentityStore, NotFound
from tests.helpers.lazyfs import LazyFS
from tests.probe.power.cluster import lost as cut_summary
from tests.probe.power.cluster import need_fuse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Expected:
    """What the acknowledged changes left, and the user a change was cut in the middle of."""

    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    creds: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # access -> p, u, secret
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    unsure: set[tuple[str, str]] = field(default_factory=set)
    acked: int = 0

    def user(self, project: str, user: str, key: str) -> None:
        self.keys[(project, user)] = key
        self.tokens = {t: pu for t, pu in self.tokens.items() if pu != (project, user)}
        self.acked += 1

    def delete(self, project: str, user: str) -> None:
        self.keys.pop((project, user), None)
        self.creds = {a: c for a, c in self.creds.items() if c[:2] != (project, user)}
        self.tokens = {t: pu for t, pu in self.tokens.items() if pu != (project, user)}
        self.deleted.add((project, user))
        self.acked += 1

    def apply(self, line: dict, project: str) -> None:
        op = line.get("op")
        if "doing" in line:
            self.unsure = {(project, line["doing"])} if line["doing"] else set()
            return
        self.unsure = set()
        if op == "project":
            self.projects.add(line["project"])
            self.acked += 1
        elif op in ("user", "key"):
            self.user(project, line["user"], line["key"])
        elif op == "cred":
            self.creds[line["access"]] = (project, line["user"], line["secret"])
            self.acked += 1
        elif op == "token":
            self.tokens[line["token"]] = (project, line["user"])
            self.acked += 1
        elif op == "delete":
            self.delete(project, line["user"])

    def check(self, store: IdentityStore) -> list[str]:
        problems = []
        names = {p.name for p in store.list_projects()}
        problems += [f"project {p} is gone" for p in sorted(self.projects - names)]
        users = {(u.project, u.name) for u in store.list_users()}
        for pu, key in self.keys.items():
            if pu not in users:
                if pu not in self.unsure:
                    problems.append(f"user {pu[0]}:{pu[1]} is gone")
            elif pu not in self.unsure and store.check_key(*pu, key) is None:
                problems.append(f"user {pu[0]}:{pu[1]} lost its acknowledged key")
        for pu in self.deleted - self.unsure:
            if pu in users:
                problems.append(f"user {pu[0]}:{pu[1]} was deleted; it is back")
        for access, (project, user, secret) in self.creds.items():
            if (project, user) in self.unsure:
                continue
            try:
                got, principal = store.lookup_credential(access)
            except NotFound:
                problems.append(f"credential {access} of {project}:{user} is gone")
                continue
            if (got, principal.project, principal.user) != (secret, project, user):
                problems.append(f"credential {access} changed")
        for token, pu in self.tokens.items():
            if pu not in self.unsure and store.authenticate_token(token) is None:
                problems.append(f"a token of {pu[0]}:{pu[1]} no longer authenticates")
        return problems


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[LazyFS]:
    need_fuse()
    fs = LazyFS(tmp_path / "backing", tmp_path / "mnt", tmp_path / "ctl", tmp_path / "lazyfs.log")
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def _cli(cfg: Path, *args: str) -> dict:
    argv = [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg), *args, "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return json.loads(done.stdout) if done.stdout.strip() else {}


async def _worker(path: Path, seed: int, prefix: str, seconds: float) -> list[dict]:
    """Run the worker for ``seconds``, then SIGKILL it; every line it wrote."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.probe.power.identity_worker", str(path), str(seed), prefix,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    await asyncio.sleep(seconds)
    with contextlib.suppress(ProcessLookupError):  # it may have failed on its own
        proc.kill()
    out = await proc.stdout.read()
    await proc.wait()
    lines = []
    for raw in out.decode(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            raise AssertionError(f"identity worker failed:\n{out.decode()[-3000:]}") from None
    return lines


def _check_in_child(exp: Expected, path: Path) -> list[str]:
    """``exp.check`` in a forked child: an LMDB file a cut left short is mapped into
    memory, and reading past its end kills the reader with SIGBUS, which must not be
    this test process."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def run() -> None:
        try:
            with IdentityStore(path) as store:
                send.send(exp.check(store))
        except IdentityError as exc:  # LMDB that no longer opens after the cut
            send.send([f"the store does not open: {exc}"])

    child = ctx.Process(target=run)
    child.start()
    send.close()
    child.join(120)
    if child.is_alive():
        child.kill()
        child.join(10)
    if receive.poll():  # also true at the end of the pipe a dead child closed
        with contextlib.suppress(EOFError):
            return receive.recv()
    return [f"reading the store killed its reader (exit status {child.exitcode})"]


async def identity_power_cuts(
    root: Path, disk: LazyFS, seed: int, cuts: int
) -> tuple[list[str], str]:
    """CLI changes, then ``cuts`` power cuts under a changing store; problems and a report."""
    rng = random.Random(seed)
    data = disk.mount / "data"
    cfg = root / "stratus.toml"
    cfg.write_text(f'[data]\ndir = "{data}"\n')
    exp, problems, lost = Expected(), [], []
    _cli(cfg, "project", "create", "cli")
    exp.apply({"op": "project", "project": "cli"}, "cli")
    made = _cli(cfg, "user", "create", "cli:root", "--role", "admin")
    exp.user("cli", "root", made["key"])
    cred = _cli(cfg, "credentials", "create", "--user", "cli:root")
    exp.apply({"op": "cred", "user": "root", **cred}, "cli")
    for n in range(cuts):
        if n:  # the first cut comes right after the CLI's changes
            prefix = f"c{n}"
            try:
                lines = await _worker(data / "identity", rng.randrange(1 << 30), prefix,
                                      rng.uniform(1.0, 3.0))  # fmt: skip
            except AssertionError as exc:  # e.g. a store the last cut left unopenable
                problems.append(f"cut {n}: {exc}")
                break
            for line in lines:
                exp.apply(line, f"{prefix}p")
        lost.append(disk.crash(torn=rng.random() < 0.5, seed=rng.randrange(1 << 30)))
        disk.start()
        problems += [f"cut {n + 1}: {p}" for p in _check_in_child(exp, data / "identity")]
        exp.unsure = set()
        if problems:
            break
    report = f"seed {seed}: {cut_summary(lost)}, {exp.acked} acknowledged changes"
    return problems, report


async def test_identity_changes_survive_power_cuts(
    tmp_path: Path, disk: LazyFS, power_report: Callable[[str], None]
) -> None:
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    cuts = int(os.environ.get("STRATUS_POWER_CUTS", "3"))
    problems, report = await identity_power_cuts(tmp_path, disk, seed, cuts)
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems[:20])
