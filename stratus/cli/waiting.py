"""Saying what a command waits for, while it waits (on stderr).

On a terminal a rich spinner shows the wait and the seconds gone; in a pipe
or a log the command prints what it waits for, then a line every few
seconds, so a long wait never looks like a hang. ``--json`` runs stay quiet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.status import Status


class Waiting:
    """``with Waiting("waiting up to 10 s for vm1 to shut down (ACPI)") as w: ... w.tick()``."""

    def __init__(
        self,
        text: str,
        *,
        quiet: bool = False,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.text = text
        self.quiet = quiet
        self.every = every
        self.clock = clock
        self.console = Console(stderr=True)
        self.status: Status | None = None
        self.started = clock()
        self.next_line = self.started + every

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def __enter__(self) -> Waiting:
        self.started = self.clock()
        self.next_line = self.started + self.every
        if self.quiet:
            return self
        if self.console.is_terminal:
            self.status = Status(f"{self.text}...", console=self.console)
            self.status.start()
        else:
            print(f"{self.text}...", file=sys.stderr, flush=True)
        return self

    def tick(self) -> None:
        """Show that the wait goes on (call it at every poll)."""
        if self.quiet:
            return
        gone = self.elapsed
        if self.status is not None:
            self.status.update(f"{self.text}... {gone:.0f} s")
        elif self.clock() >= self.next_line:
            self.next_line += self.every
            print(f"still {self.text} ({gone:.0f} s so far)", file=sys.stderr, flush=True)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.status is not None:
            self.status.stop()
