"""`stratus project|user|credentials`: manage identity in <data>/identity.

These work directly on the LMDB store, so they are safe to run while the
cloud runs (LMDB serialises writers across processes): a user created here
can log in at once. Keys and secrets are printed once, at creation; only
hashes of keys are kept.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from stratus import config
from stratus.cli.output import add_json_flag, emit_json, table
from stratus.identity import ROLES, IdentityError, IdentityStore, identity_dir, parse_user_spec

Command = Callable[[argparse.Namespace], int]


def register(sub: argparse._SubParsersAction) -> None:
    _register_projects(sub)
    _register_users(sub)
    _register_credentials(sub)
    _register_service(sub)


def _register_service(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("identity", help="the identity (Keystone v3) API")
    act = p.add_subparsers(dest="identity_command", metavar="ACTION", required=True)
    serve = act.add_parser("serve", help="run the identity service (`stratus up` starts it)")
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    serve.set_defaults(func=_identity_serve)


def _identity_serve(args: argparse.Namespace) -> int:
    from stratus import private, runner
    from stratus.identity.keystone.service import serve
    from stratus.logs import setup_logging

    cfg = config.load(args.config)
    private.service_start(cfg.data_dir, identity_dir(cfg.data_dir))
    setup_logging()
    runner.run(lambda stop: serve(cfg, stop))
    return 0


def _register_projects(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="projects: each owns the storage account AUTH_<project>")
    act = p.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    create = act.add_parser("create", help="create a project")
    create.add_argument("name")
    add_json_flag(create)
    create.set_defaults(func=_project_create)
    ls = act.add_parser("list", help="list projects")
    add_json_flag(ls)
    ls.set_defaults(func=_project_list)
    delete = act.add_parser("delete", help="delete a project (its stored data stays)")
    delete.add_argument("name")
    delete.add_argument(
        "--force", action="store_true", help="also delete its users, tokens and credentials"
    )
    delete.set_defaults(func=_project_delete)


def _register_users(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="users of projects, their roles and keys")
    act = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    key_help = "the key (default: generated and printed); '-' reads it from stdin"
    create = act.add_parser("create", help="create PROJECT:USER and print its key")
    create.add_argument("spec", metavar="PROJECT:USER")
    create.add_argument("--role", choices=ROLES, default="member", help="default: member")
    create.add_argument("--key", help=key_help)
    add_json_flag(create)
    create.set_defaults(func=_user_create)
    ls = act.add_parser("list", help="list users")
    ls.add_argument("--project", help="only this project's users")
    add_json_flag(ls)
    ls.set_defaults(func=_user_list)
    delete = act.add_parser("delete", help="delete a user, its tokens and credentials")
    delete.add_argument("spec", metavar="PROJECT:USER")
    delete.set_defaults(func=_user_delete)
    set_key = act.add_parser("set-key", help="replace a user's key (revokes its tokens)")
    set_key.add_argument("spec", metavar="PROJECT:USER")
    set_key.add_argument("--key", help=key_help)
    add_json_flag(set_key)
    set_key.set_defaults(func=_user_set_key)
    set_role = act.add_parser("set-role", help="change a user's role")
    set_role.add_argument("spec", metavar="PROJECT:USER")
    set_role.add_argument("role", choices=ROLES)
    set_role.set_defaults(func=_user_set_role)


def _register_credentials(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("credentials", help="S3 access keys and secrets of users")
    act = p.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)
    create = act.add_parser("create", help="create an access key and secret for a user")
    create.add_argument("--user", required=True, metavar="PROJECT:USER")
    add_json_flag(create)
    create.set_defaults(func=_cred_create)
    ls = act.add_parser("list", help="list access keys (never secrets)")
    ls.add_argument("--user", metavar="PROJECT:USER", help="only this user's keys")
    ls.add_argument("--project", help="only this project's keys")
    add_json_flag(ls)
    ls.set_defaults(func=_cred_list)
    delete = act.add_parser("delete", help="delete an access key")
    delete.add_argument("access", metavar="ACCESS_KEY")
    delete.add_argument(
        "--user", metavar="PROJECT:USER", help="refuse unless the key belongs to this user"
    )
    delete.set_defaults(func=_cred_delete)


def _with_store(fn: Callable[[argparse.Namespace, IdentityStore], int]) -> Command:
    """Open the store from the configuration; identity errors become clean messages."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        cfg = config.load(args.config)
        try:
            with IdentityStore(identity_dir(cfg.data_dir)) as store:
                return fn(args, store)
        except IdentityError as exc:
            print(f"stratus: error: {exc}", file=sys.stderr)
            return 1

    return run


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_key(value: str | None) -> str | None:
    if value != "-":
        return value
    return sys.stdin.readline().rstrip("\r\n")


@_with_store
def _project_create(args: argparse.Namespace, store: IdentityStore) -> int:
    project = store.create_project(args.name)
    if args.json:
        emit_json({"project": project.name, "account": project.account})
    else:
        print(f"created project {project.name} (account {project.account})")
    return 0


@_with_store
def _project_list(args: argparse.Namespace, store: IdentityStore) -> int:
    projects = store.list_projects()
    if args.json:
        emit_json(
            [
                {"project": p.name, "account": p.account, "created": _when(p.created)}
                for p in projects
            ]
        )
    else:
        print(
            table(
                ["PROJECT", "ACCOUNT", "CREATED"],
                [(p.name, p.account, _when(p.created)) for p in projects],
            )
        )
    return 0


@_with_store
def _project_delete(args: argparse.Namespace, store: IdentityStore) -> int:
    store.delete_project(args.name, force=args.force)
    print(f"deleted project {args.name}")
    return 0


@_with_store
def _user_create(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.spec)
    given = _read_key(args.key)
    key = store.create_user(project, user, role=args.role, key=given)
    if args.json:
        emit_json({"project": project, "user": user, "role": args.role, "key": key})
        return 0
    print(f"created user {project}:{user} (role {args.role})")
    if given is None:
        print(f"key: {key}")
    return 0


@_with_store
def _user_list(args: argparse.Namespace, store: IdentityStore) -> int:
    users = store.list_users(args.project)
    rows = [
        {"project": u.project, "user": u.name, "role": u.role, "created": _when(u.created)}
        for u in users
    ]
    if args.json:
        emit_json(rows)
    else:
        print(
            table(["USER", "ROLE", "CREATED"], [(u.spec, u.role, _when(u.created)) for u in users])
        )
    return 0


@_with_store
def _user_delete(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.spec)
    store.delete_user(project, user)
    print(f"deleted user {project}:{user}")
    return 0


@_with_store
def _user_set_key(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.spec)
    given = _read_key(args.key)
    key = store.set_key(project, user, given)
    if args.json:
        emit_json({"project": project, "user": user, "key": key})
        return 0
    print(f"new key set for {project}:{user}; its tokens are revoked")
    if given is None:
        print(f"key: {key}")
    return 0


@_with_store
def _user_set_role(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.spec)
    store.set_role(project, user, args.role)
    print(f"{project}:{user} now has role {args.role}")
    return 0


@_with_store
def _cred_create(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.user)
    access, secret = store.create_credential(project, user)
    if args.json:
        emit_json({"project": project, "user": user, "access": access, "secret": secret})
    else:
        print(f"S3 credential for {project}:{user}")
        print(f"access key: {access}")
        print(f"secret key: {secret}")
    return 0


@_with_store
def _cred_list(args: argparse.Namespace, store: IdentityStore) -> int:
    project, user = parse_user_spec(args.user) if args.user else (args.project, None)
    if args.user and args.project and args.project != project:
        raise IdentityError("--project and --user name different projects")
    creds = store.list_credentials(project, user)
    if args.json:
        emit_json(
            [
                {
                    "access": c.access,
                    "project": c.project,
                    "user": c.user,
                    "created": _when(c.created),
                }
                for c in creds
            ]
        )
    else:
        print(
            table(
                ["ACCESS KEY", "USER", "CREATED"],
                [(c.access, f"{c.project}:{c.user}", _when(c.created)) for c in creds],
            )
        )
    return 0


@_with_store
def _cred_delete(args: argparse.Namespace, store: IdentityStore) -> int:
    if args.user:
        project, user = parse_user_spec(args.user)
        owner = store.lookup_credential(args.access)[1]
        if (owner.project, owner.user) != (project, user):
            raise IdentityError(f"access key {args.access} does not belong to {project}:{user}")
    store.delete_credential(args.access)
    print(f"deleted access key {args.access}")
    return 0
