"""A process changing the identity store until it is killed; one JSON line per change
that returned (acknowledged), written before the next one starts.

Run: ``python -m tests.probe.power.identity_worker IDENTITY_DIR SEED PREFIX``.
"""

from __future__ import annotations

import json
import random
import sys

from stratus.identity import IdentityStore


def main(argv: list[str]) -> None:
    path, seed, prefix = argv[0], int(argv[1]), argv[2]
    rng = random.Random(seed)
    users: list[str] = []
    out = sys.stdout
    with IdentityStore(path) as store:
        project = f"{prefix}p"
        store.create_project(project)
        out.write(json.dumps({"op": "project", "project": project}) + "\n")
        out.flush()
        n = 0
        while True:
            n += 1
            kind = rng.random()
            target = rng.choice(users) if users else ""
            out.write(json.dumps({"doing": target}) + "\n")  # may happen or not if cut now
            out.flush()
            if kind < 0.35 or not users:
                user = f"{prefix}u{n}"
                key = store.create_user(project, user, key=f"key-{prefix}-{n}-0123456789")
                users.append(user)
                rec = {"op": "user", "project": project, "user": user, "key": key}
            elif kind < 0.55:
                user = target
                key = store.set_key(project, user, f"key-{prefix}-{n}-reset-0123456789")
                rec = {"op": "key", "project": project, "user": user, "key": key}
            elif kind < 0.75:
                user = target
                access, secret = store.create_credential(project, user)
                rec = {"op": "cred", "user": user, "access": access, "secret": secret}
            elif kind < 0.95:
                user = target
                token = store.issue_token(project, user, 3600)[0]
                rec = {"op": "token", "user": user, "token": token}
            else:
                user = target
                users.remove(user)
                store.delete_user(project, user)
                rec = {"op": "delete", "project": project, "user": user}
            out.write(json.dumps(rec) + "\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
