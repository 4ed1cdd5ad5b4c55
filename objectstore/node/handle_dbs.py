"""Container and account endpoints, and the batched row updates between nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack
from aiohttp import web

from objectstore.common import wire
from objectstore.common.values import AccountRowUpdate, ContainerRowUpdate
from objectstore.node import dbs, requests
from objectstore.node.device import Device
from objectstore.node.listing import list_rows
from objectstore.node.records import ContainerRowRecord, ObjectRowRecord

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

MAX_BATCH_BODY = 8 * 1024 * 1024


def _listing_response(rows: list[Any], headers: dict[str, str]) -> web.Response:
    headers["Content-Type"] = wire.MSGPACK
    return web.Response(body=msgpack.packb([wire.LISTING_VERSION, rows]), headers=headers)


def _account_target(req: web.Request) -> list[Any] | None:
    update = requests.update_target(req.headers, "Account")
    if update is None:
        return None
    target, part = update
    return [target.ip, target.port, target.device, part]


# --- containers ---------------------------------------------------------------
async def handle_put_container(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    account = _account_target(req)
    dev.check_writable()
    ikey, _ = dev.container_keys(part, a, c)
    created = await dev.submit(dbs.put_container_op(ikey, a, c, ts.ticks, meta, account))
    if account is not None:
        await state.reporter.report(dev, only=ikey, inline=True)
    return web.Response(status=201 if created else 202, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_delete_container(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    account = _account_target(req)
    dev.check_writable()
    ikey, _ = dev.container_keys(part, a, c)
    await dev.submit(dbs.delete_container_op(ikey, ts.ticks, account))
    await state.reporter.report(dev, only=ikey, inline=True)
    return web.Response(status=204, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_post_container(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    dev.check_writable()
    ikey, _ = dev.container_keys(part, a, c)
    await dev.submit(dbs.post_container_op(ikey, ts.ticks, meta))
    return web.Response(status=204, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_head_container(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str
) -> web.StreamResponse:
    dev.check_readable()
    ikey, _ = dev.container_keys(part, a, c)
    with dev.read() as txn:
        info = dbs.read_container(txn, ikey)
    return web.Response(status=204, headers=requests.container_headers(info))


def _object_row(name: str, value: bytes) -> list[Any] | None:
    row = ObjectRowRecord.decode(value)
    if row.deleted:
        return None
    return [name, row.size, row.etag, row.content_type, row.timestamp]


async def handle_get_container(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str, c: str
) -> web.StreamResponse:
    dev.check_readable()
    query = requests.listing_query(req.query)
    ikey, owner = dev.container_keys(part, a, c)
    with dev.read() as txn:
        info = dbs.read_container(txn, ikey)
        rows = list_rows(txn, dbs.CROWS, owner, query, _object_row)
    return _listing_response(rows, requests.container_headers(info))


# --- accounts -----------------------------------------------------------------
async def handle_put_account(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    dev.check_writable()
    ikey, _ = dev.account_keys(part, a)
    created = await dev.submit(dbs.put_account_op(ikey, a, ts.ticks, meta))
    return web.Response(status=201 if created else 202, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_delete_account(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    dev.check_writable()
    ikey, _ = dev.account_keys(part, a)
    await dev.submit(dbs.delete_account_op(ikey, ts.ticks))
    return web.Response(status=204, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_post_account(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str
) -> web.StreamResponse:
    ts = requests.timestamp(req.headers)
    meta = requests.metadata(req.headers)
    dev.check_writable()
    ikey, _ = dev.account_keys(part, a)
    await dev.submit(dbs.post_account_op(ikey, ts.ticks, meta))
    return web.Response(status=204, headers={wire.BACKEND_TIMESTAMP: ts.normal})


async def handle_head_account(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str
) -> web.StreamResponse:
    dev.check_readable()
    ikey, _ = dev.account_keys(part, a)
    with dev.read() as txn:
        info = dbs.read_account(txn, ikey)
    return web.Response(status=204, headers=requests.account_headers(info))


def _container_row(name: str, value: bytes) -> list[Any] | None:
    row = ContainerRowRecord.decode(value)
    if row.deleted:
        return None
    return [name, row.object_count, row.bytes_used, row.put_timestamp]


async def handle_get_account(
    state: NodeState, req: web.Request, dev: Device, part: int, a: str
) -> web.StreamResponse:
    dev.check_readable()
    query = requests.listing_query(req.query)
    query.path = None
    ikey, owner = dev.account_keys(part, a)
    with dev.read() as txn:
        info = dbs.read_account(txn, ikey)
        rows = list_rows(txn, dbs.AROWS, owner, query, _container_row)
    return _listing_response(rows, requests.account_headers(info))


# --- node to node -------------------------------------------------------------
async def _batch_rows(req: web.Request) -> list[Any]:
    if req.content_length is None or req.content_length > MAX_BATCH_BODY:
        raise wire.InvalidName("batch body missing or too large")
    try:
        version, rows = msgpack.unpackb(await req.read())
    except Exception:
        raise wire.InvalidName("batch body is not msgpack") from None
    if version != wire.BATCH_VERSION or not isinstance(rows, list):
        raise wire.InvalidName("unknown batch version")
    return rows


def _batch_answer(statuses: list[int]) -> web.Response:
    body = msgpack.packb([wire.BATCH_VERSION, statuses])
    return web.Response(body=body, headers={"Content-Type": wire.MSGPACK})


async def handle_container_rows(
    state: NodeState, req: web.Request, dev: Device
) -> web.StreamResponse:
    """Object rows from object nodes (one commit for the whole batch)."""
    raw_rows = await _batch_rows(req)
    dev.check_writable()
    statuses: list[int] = [400] * len(raw_rows)
    items, where = [], []
    for i, raw in enumerate(raw_rows):
        try:
            upd = ContainerRowUpdate.unpack(raw)
            wire.check_part(upd.part)
            wire.check_name("account", upd.account, wire.MAX_ACCOUNT_NAME)
            wire.check_name("container", upd.container, wire.MAX_CONTAINER_NAME)
            wire.check_name("object", upd.obj, wire.MAX_OBJECT_NAME)
        except (ValueError, TypeError):
            continue
        ikey, owner = dev.container_keys(upd.part, upd.account, upd.container)
        items.append((ikey, owner + upd.obj.encode(), upd))
        where.append(i)
    if items:
        for i, status in zip(where, await dev.submit(dbs.object_rows_op(items)), strict=True):
            statuses[i] = status
    return _batch_answer(statuses)


async def handle_account_rows(
    state: NodeState, req: web.Request, dev: Device
) -> web.StreamResponse:
    """Container stats rows from container nodes."""
    raw_rows = await _batch_rows(req)
    dev.check_writable()
    statuses: list[int] = [400] * len(raw_rows)
    items, where = [], []
    for i, raw in enumerate(raw_rows):
        try:
            upd = AccountRowUpdate.unpack(raw)
            wire.check_part(upd.part)
            wire.check_name("account", upd.account, wire.MAX_ACCOUNT_NAME)
            wire.check_name("container", upd.container, wire.MAX_CONTAINER_NAME)
        except (ValueError, TypeError):
            continue
        ikey, owner = dev.account_keys(upd.part, upd.account)
        items.append((ikey, owner + upd.container.encode(), upd))
        where.append(i)
    if items:
        for i, status in zip(where, await dev.submit(dbs.container_rows_op(items)), strict=True):
            statuses[i] = status
    return _batch_answer(statuses)
