"""Entry point of the `stratus` command.

Subcommands are grouped by service; each group lives in its own module with
a ``register(subparsers)`` function, so adding a service is adding a module
to ``GROUPS``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from stratus import __version__
from stratus.config import ConfigError

# Modules under stratus.cli that each add one group of subcommands.
GROUPS = (
    "config_cmd",
    "up",
    "identity_cmd",
    "target_cmd",
    "node_cmd",
    "ring_cmd",
    "volume_cmd",
    "image_cmd",
    "status_cmd",
    "server_cmd",
    "network_cmd",
    "sse_cmd",
    "s3_cmd",
)


class CommandError(Exception):
    """A user-facing failure: printed without a traceback, exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stratus", description="Stratus: a compact storage cloud."
    )
    parser.add_argument("--version", action="version", version=f"stratus {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML configuration file (default: $STRATUS_CONFIG)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in GROUPS:
        importlib.import_module(f"stratus.cli.{name}").register(sub)
    return parser


# Exit status of a command whose reader went away (`stratus status | head -1`): what a
# shell reports for a process ended by SIGPIPE (128 + 13), as for any other tool.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except (CommandError, ConfigError) as exc:
        print(f"stratus: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout closed it: normal for a CLI, so no traceback and no error line.

    Python's documented idiom: point stdout at /dev/null so the interpreter's own
    flush at exit has nowhere to fail.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy, so that command modules
    # raising stratus.cli.main.CommandError are caught by the same class.
    from stratus.cli import main as _module

    sys.exit(_module.main())
