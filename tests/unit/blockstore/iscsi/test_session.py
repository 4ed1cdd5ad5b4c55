"""The CmdSN window: ordering, dropping, and a MaxCmdSN that only grows."""

from __future__ import annotations

import asyncio

from blockstore.iscsi.negotiate import SessionParams
from blockstore.iscsi.session import Admission, Session, SessionType, sn_add, sn_lt


def make(cmd_sn: int = 10, depth: int = 4) -> Session:
    return Session(
        tsih=1, isid=bytes(6), initiator_name="iqn.2024-01.test:i", target=None,
        kind=SessionType.DISCOVERY, params=SessionParams(), cmd_sn=cmd_sn, depth=depth,
        portal_group_tag=1,
    )  # fmt: skip


def test_serial_arithmetic_wraps() -> None:
    assert sn_lt(1, 2) and not sn_lt(2, 1) and not sn_lt(5, 5)
    assert sn_lt(0xFFFFFFFF, 0) and sn_lt(0xFFFFFFF0, 0x10)
    assert sn_add(0xFFFFFFFF, 2) == 1


async def test_in_order_commands_advance_the_window() -> None:
    s = make()
    assert (s.exp_cmd_sn, s.max_cmd_sn) == (10, 13)
    assert s.admit(10, False) is Admission.NOW
    assert s.admit(11, False) is Admission.NOW
    assert s.exp_cmd_sn == 12
    assert s.admit(11, True) is Admission.NOW  # immediate: no CmdSN check, no advance
    assert s.exp_cmd_sn == 12


async def test_out_of_window_and_duplicates_are_dropped() -> None:
    s = make()
    assert s.admit(14, False) is Admission.DROP  # MaxCmdSN + 1
    assert s.admit(9, False) is Admission.DROP  # below ExpCmdSN
    assert s.admit(10, False) is Admission.NOW
    assert s.admit(10, False) is Admission.DROP  # a duplicate of a delivered command
    assert s.admit(12, False) is Admission.QUEUED
    assert s.admit(12, False) is Admission.DROP  # a duplicate of a queued command


async def test_a_gap_holds_later_commands_until_it_closes() -> None:
    s = make()
    assert s.admit(11, False) is Admission.QUEUED
    waiter = asyncio.ensure_future(s.turn(11))
    await asyncio.sleep(0)
    assert not waiter.done()
    assert s.admit(10, False) is Admission.NOW
    await asyncio.wait_for(waiter, 1)
    assert s.exp_cmd_sn == 12


async def test_the_window_closes_when_depth_commands_are_outstanding() -> None:
    s = make(depth=2)
    assert s.admit(10, False) is Admission.NOW
    assert s.admit(11, False) is Admission.NOW
    assert s.max_cmd_sn == 11  # nothing finished: the window [12, 11] is closed
    assert s.admit(12, False) is Admission.DROP
    s.release()
    assert s.max_cmd_sn == 12
    s.release()
    assert s.max_cmd_sn == 13


async def test_max_cmd_sn_never_decreases() -> None:
    s = make(depth=4)
    before = s.max_cmd_sn
    assert s.admit(12, False) is Admission.QUEUED  # counted, exp does not move
    s.release()
    assert not sn_lt(s.max_cmd_sn, before)


async def test_window_across_the_wrap() -> None:
    s = make(cmd_sn=0xFFFFFFFF, depth=4)
    assert s.admit(0xFFFFFFFF, False) is Admission.NOW
    assert s.admit(0, False) is Admission.NOW
    assert s.exp_cmd_sn == 1
    assert s.admit(3, False) is Admission.DROP
