"""Task Management Function requests (RFC 7143 sections 11.5 and 4.2.3).

ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET and
TARGET WARM RESET act on this session's tasks: aborted tasks get no
response (the initiator learns their fate from the TMF response), and the
resets leave a unit attention on the logical units for every nexus. TARGET
COLD RESET is a warm reset that then closes every connection to the target.
Every other function answers "Task management function not supported".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from blockstore.iscsi import pdu as P
from blockstore.iscsi.session import sn_lt

if TYPE_CHECKING:
    from blockstore.iscsi.connection import Connection
    from blockstore.iscsi.target import Target

F = P.TmfFunction
R = P.TmfResponse


async def handle_task_management(conn: Connection, pdu: P.Pdu) -> None:
    """Carry out one TMF request and send its response."""
    response = _perform(conn, pdu)
    exp, mx = conn.windows()
    header = P.pack(
        P.Op.TASK_MGMT_RESPONSE, b2=int(response), f16=pdu.itt, f24=conn.next_stat_sn(),
        f28=exp, f32=mx,
    )  # fmt: skip
    conn.send(header)
    await conn.drain()
    if pdu.flags & 0x7F == F.TARGET_COLD_RESET and response == R.FUNCTION_COMPLETE:
        # A cold reset ends every session of the target, this one after its response.
        session = conn.session
        assert session is not None and session.target is not None
        conn.server.drop_sessions(session.target, keep=conn)
        conn.close_after_this()


def _perform(conn: Connection, pdu: P.Pdu) -> P.TmfResponse:
    handler = FUNCTIONS.get(pdu.flags & 0x7F)
    if handler is None:
        return R.NOT_SUPPORTED
    session = conn.session
    assert session is not None and session.target is not None
    return handler(conn, pdu, session.target, P.decode_lun(pdu.lun))


def _abort_task(conn: Connection, pdu: P.Pdu, target: Target, lun: int | None) -> P.TmfResponse:
    ref_itt, ref_cmd_sn = pdu.f20, pdu.f32
    task = conn.scsi.tasks.get(ref_itt)
    if task is not None:
        conn.scsi.abort(task)
        return R.FUNCTION_COMPLETE
    session = conn.session
    assert session is not None
    # Not here: either it completed (does not exist) or it has not arrived yet, in
    # which case RFC 7143 4.2.3.3 wants "complete" (the command is then never run).
    if not sn_lt(ref_cmd_sn, session.exp_cmd_sn) and sn_lt(ref_cmd_sn, session.max_cmd_sn + 1):
        conn.scsi.abort_ahead(ref_itt)
        return R.FUNCTION_COMPLETE
    return R.TASK_DOES_NOT_EXIST


def _abort_task_set(conn: Connection, pdu: P.Pdu, target: Target, lun: int | None) -> P.TmfResponse:
    if lun is None or lun not in target.luns:
        return R.LUN_DOES_NOT_EXIST
    conn.scsi.abort_where(lun)
    return R.FUNCTION_COMPLETE


def _lun_reset(conn: Connection, pdu: P.Pdu, target: Target, lun: int | None) -> P.TmfResponse:
    unit = target.luns.get(lun) if lun is not None else None
    if unit is None:
        return R.LUN_DOES_NOT_EXIST
    conn.scsi.abort_where(lun)
    unit.reset()
    return R.FUNCTION_COMPLETE


def _warm_reset(conn: Connection, pdu: P.Pdu, target: Target, lun: int | None) -> P.TmfResponse:
    conn.scsi.abort_all()
    for unit in list(target.luns.values()):
        unit.reset()
    return R.FUNCTION_COMPLETE


def _cold_reset(conn: Connection, pdu: P.Pdu, target: Target, lun: int | None) -> P.TmfResponse:
    """A warm reset, then (once answered) every connection to the target is closed."""
    return _warm_reset(conn, pdu, target, lun)


Handler = Callable[["Connection", P.Pdu, "Target", "int | None"], P.TmfResponse]
# The functions served; any other answers "Task management function not supported".
FUNCTIONS: dict[int, Handler] = {
    F.ABORT_TASK: _abort_task,
    F.ABORT_TASK_SET: _abort_task_set,
    F.CLEAR_TASK_SET: _abort_task_set,  # one task set per nexus: clearing is aborting
    F.LOGICAL_UNIT_RESET: _lun_reset,
    F.TARGET_WARM_RESET: _warm_reset,
    F.TARGET_COLD_RESET: _cold_reset,
}
