"""s3compat.system_text: long texts cut into metadata values and read back whole, or not at all."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from objectstore.common import wire
from s3compat import system_text
from s3compat.errors import S3Error


class _Core:
    """Records each post_container as a node would merge it (an empty value removes)."""

    def __init__(self) -> None:
        self.system: dict[str, str] = {}
        self.posts: list[dict[str, str]] = []

    async def post_container(
        self, account: str, container: str, *, system: Mapping[str, str] | None = None
    ) -> None:
        assert system is not None
        wire.check_metadata(system)  # what a storage node takes in one request
        self.posts.append(dict(system))
        for k, v in system.items():
            if v:
                self.system[k] = v
            else:
                self.system.pop(k, None)


def _write(core: _Core, text: str) -> None:
    asyncio.run(system_text.write(core, "a", "c", "k", text, dict(core.system)))


@pytest.mark.parametrize("text", ["{}", "é" * 3000, "x" * 20_000, "€" * 9000, "parts:x:1"])
def test_round_trip_within_node_limits(text: str) -> None:
    core = _Core()
    _write(core, text)
    assert system_text.read(core.system, "k") == text
    assert all(len(v.encode()) <= wire.MAX_META_VALUE for v in core.system.values())


def test_replacing_and_removing_leave_no_parts() -> None:
    core = _Core()
    _write(core, "y" * 10_000)
    assert len(core.system) > 2
    _write(core, "short")
    assert core.system == {"k": "short"}
    _write(core, "z" * 10_000)
    _write(core, "")
    assert core.system == {}
    assert system_text.read(core.system, "k") is None


def test_missing_or_foreign_parts_fail_closed() -> None:
    core = _Core()
    _write(core, "w" * 10_000)
    part = next(k for k in core.system if k != "k")
    damaged = dict(core.system)
    damaged.pop(part)
    with pytest.raises(system_text.Incomplete):
        system_text.read(damaged, "k")
    damaged = {**core.system, part: core.system[part][:-1] + "v"}
    with pytest.raises(system_text.Incomplete):
        system_text.read(damaged, "k")


def test_a_megabyte_goes_in_requests_a_node_takes_and_leaves_whole() -> None:
    # 1 MiB: ~260 parts, two to a request; replacing it removes them all, in several
    # requests (one would pass the node's item count and overall size).
    core = _Core()
    text = "".join(f"{i:07d}é" for i in range(130_000))
    _write(core, text)
    assert system_text.read(core.system, "k") == text
    assert len(core.posts) < len(core.system) * 0.6
    _write(core, "short")
    assert core.system == {"k": "short"}
    assert len(core.posts[-1]) <= wire.MAX_META_COUNT


def test_also_is_written_with_the_key() -> None:
    core = _Core()
    asyncio.run(system_text.write(core, "a", "c", "k", "x" * 9000, {}, also={"other": "1"}))
    head = next(p for p in core.posts if "k" in p)
    assert head["other"] == "1" and head["k"].startswith("parts:")
    assert system_text.text_of(core.system, "k") == "x" * 9000


def test_text_of_answers_503_when_a_part_is_missing() -> None:
    core = _Core()
    _write(core, "w" * 10_000)
    damaged = {k: v for k, v in core.system.items() if not k.endswith(".0")}
    with pytest.raises(S3Error) as exc:
        system_text.text_of(damaged, "k")
    assert exc.value.status == 503


def test_a_text_read_before_still_fails_closed_when_a_part_goes() -> None:
    core = _Core()
    _write(core, "q" * 10_000)
    assert system_text.read(core.system, "k") == "q" * 10_000  # joined, checked, kept
    part = next(k for k in core.system if k != "k")
    damaged = {**core.system, part: ""}
    with pytest.raises(system_text.Incomplete):
        system_text.read(damaged, "k")
