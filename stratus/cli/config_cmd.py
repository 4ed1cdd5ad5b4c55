"""`stratus config`: show the effective configuration and its documentation."""

from __future__ import annotations

import argparse
import dataclasses

from stratus import config
from stratus.cli.output import add_json_flag, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="configuration: show, check, document")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    show = csub.add_parser("show", help="print the effective configuration")
    add_json_flag(show)
    show.set_defaults(func=_show)

    check = csub.add_parser("check", help="load and validate the configuration")
    check.set_defaults(func=_check)

    docs = csub.add_parser("docs", help="print docs/configuration.md")
    docs.set_defaults(func=_docs)


def _show(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    if args.json:
        as_dict = dataclasses.asdict(cfg)
        for section, values in as_dict.items():
            for key, value in values.items():
                if value and config.is_secret(section, key):
                    values[key] = None  # set, not shown ("" stays: empty)
        emit_json(as_dict)
        return 0
    print(config.render_toml(cfg), end="")
    return 0


def _check(args: argparse.Namespace) -> int:
    config.load(args.config)
    print("configuration is valid")
    return 0


def _docs(args: argparse.Namespace) -> int:
    print(config.render_docs(), end="")
    return 0
