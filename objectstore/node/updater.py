"""Background delivery of listing updates, inside the node process.

- :class:`ContainerUpdater` delivers object rows to container nodes: inline
  for a PUT/DELETE (the answer waits for it), and from the durable
  ``pending`` queue for those that failed (retried every few seconds with
  per-entry backoff and a bounded rate). An update the container node
  refuses for good (a 4xx other than 404: it can never be stored) is
  dropped once, logged as an error and counted, never retried forever.
- :class:`AccountReporter` reports container stats to account nodes from
  the durable ``cdirty`` marks: debounced, batched per account node, and
  retried until acknowledged, so account HEADs converge within seconds
  (a row the account node refuses for good is dropped and counted too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from objectstore.client import TRANS_ID, NodeClient
from objectstore.common.values import AccountRowUpdate, ContainerRowUpdate, NodeClientError
from objectstore.node import dbs, objects
from objectstore.node.device import Device
from objectstore.node.records import PendingRecord
from objectstore.node.sender import BatchSender, Target
from objectstore.timestamp import Timestamp

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
MIN_AGE = 1.0  # seconds before the updater touches a queued entry
MAX_404_ATTEMPTS = 100  # a container that never appears: give up after ~1.5 h


def is_permanent(status: int) -> bool:
    """A row's own status that no retry can turn into a success (the row itself is bad).

    404 is not: the container may still appear (it has its own bounded
    retries). 408 and 429 are about timing; 5xx and 507 about the node. A
    whole request refused (an error instead of per-row statuses) is not
    judged either: a node of another version may refuse the batch itself.
    """
    return 400 <= status < 500 and status not in (404, 408, 429)


class ContainerUpdater:
    """Object rows to container nodes: inline first, the durable queue after."""

    def __init__(
        self,
        client: NodeClient,
        devices: Iterable[Device],
        *,
        interval: float = 2.0,
        rate: int = 500,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.devices = list(devices)
        self.interval = interval
        self.rate = rate
        self.sender: BatchSender[ContainerRowUpdate] = BatchSender(self._post)
        self.delivered_from_queue = 0
        #: Updates dropped because the container node refused them for good.
        self.dropped = 0
        self.on_drop = on_drop

    async def _post(self, target: Target, rows: list[ContainerRowUpdate]) -> list[int]:
        return await self.client.update_container_rows(target, rows)

    async def deliver(
        self, dev: Device, pkey: bytes, target: Target, row: ContainerRowUpdate
    ) -> bool:
        """Send one row now; on success unqueue it (no wait: the next commit carries it)."""
        dev.in_flight.add(pkey)
        try:
            status = await self.sender.send(target, row, inline=True)
        except NodeClientError as exc:
            log.warning("container update to %s queued: %s trans=%s", target, exc, TRANS_ID.get())
            return False
        finally:
            dev.in_flight.discard(pkey)
        if 200 <= status < 300:
            dev.committer.submit_nowait(objects.remove_pending_op(pkey))
            return True
        if is_permanent(status):
            self._dropped(row, status, target)
            dev.committer.submit_nowait(objects.remove_pending_op(pkey))
            return False
        log.warning(
            "container update to %s got %d; queued trans=%s", target, status, TRANS_ID.get()
        )
        return False

    async def run_once(self) -> int:
        """One pass over every device's queue; returns rows delivered."""
        delivered = 0
        budget = max(1, int(self.rate * self.interval))
        for dev in self.devices:
            if dev.unavailable or budget <= 0:
                continue
            with dev.read() as txn:
                due = objects.scan_pending(txn, budget)
            now = time.time()
            # Young entries are still being delivered inline (or unqueued just after).
            young = time.time_ns() - int(MIN_AGE * 1e9)
            due = [
                (k, r)
                for k, r in due
                if k not in dev.in_flight
                and r.not_before <= now
                and int.from_bytes(k[:8], "big") < young
            ]
            budget -= len(due)
            results = await asyncio.gather(*(self._retry(dev, k, r) for k, r in due))
            delivered += sum(results)
        self.delivered_from_queue += delivered
        return delivered

    async def _retry(self, dev: Device, pkey: bytes, rec: PendingRecord) -> bool:
        ip, port, device = rec.host
        row = ContainerRowUpdate.unpack(rec.row)
        dev.in_flight.add(pkey)
        try:
            status = await self.sender.send(Target(ip, port, device), row)
        except NodeClientError:
            status = 0
        finally:
            dev.in_flight.discard(pkey)
        if 200 <= status < 300:
            await dev.submit(objects.remove_pending_op(pkey))
            return True
        if is_permanent(status):
            self._dropped(row, status, Target(ip, port, device))
            await dev.submit(objects.remove_pending_op(pkey))
            return False
        rec.attempts += 1
        if status == 404 and rec.attempts >= MAX_404_ATTEMPTS:
            log.error("dropping update for %s/%s/%s: no such container", *rec.row[1:4])
            await dev.submit(objects.remove_pending_op(pkey))
            return False
        rec.not_before = time.time() + min(MAX_BACKOFF, 2.0**rec.attempts)
        await dev.submit(objects.reschedule_pending_op(pkey, rec))
        return False

    def _dropped(self, row: ContainerRowUpdate, status: int, target: Target) -> None:
        self.dropped += 1
        if self.on_drop is not None:
            self.on_drop()
        log.error(
            "dropping update of %s/%s/%s: %s answered %d, it can never be stored",
            row.account,
            row.container,
            row.obj[:200],
            target,
            status,
        )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except Exception:
                log.exception("container updater pass failed")

    async def close(self) -> None:
        await self.sender.close()


class AccountReporter:
    """Container stats to account nodes, from the durable ``cdirty`` marks."""

    def __init__(
        self,
        client: NodeClient,
        devices: Iterable[Device],
        *,
        debounce: float = 0.25,
        retry: float = 2.0,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.devices = list(devices)
        self.debounce = debounce
        self.retry = retry
        #: Container rows dropped because the account node refused them for good.
        self.dropped = 0
        self.on_drop = on_drop
        self.wake = asyncio.Event()
        self.sender: BatchSender[AccountRowUpdate] = BatchSender(self._post)
        for dev in self.devices:
            dev.committer.after_commit.append(self.wake.set)

    async def _post(self, target: Target, rows: list[AccountRowUpdate]) -> list[int]:
        return await self.client.update_account_rows(target, rows)

    async def report(self, dev: Device, only: bytes | None = None, *, inline: bool = False) -> bool:
        """Report marked containers of ``dev`` (just ``only`` if given); True if all went.
        ``inline``: a request's own report, which skips account nodes unreachable for now."""
        with dev.read() as txn:
            marked = dbs.scan_dirty(txn, 1000, only)
        jobs = []
        done: list[tuple[bytes, bytes]] = []
        for ikey, stamp, info in marked:
            if info.account_update is None:
                done.append((ikey, stamp))  # nobody to tell: the proxy gave no account node
                continue
            ip, port, device, apart = info.account_update
            row = AccountRowUpdate(
                apart,
                info.account,
                info.container,
                Timestamp.from_ticks(info.put_timestamp),
                Timestamp.from_ticks(info.delete_timestamp) if info.delete_timestamp else None,
                info.object_count,
                info.bytes_used,
                Timestamp.from_ticks(info.stats_timestamp),
            )
            send = self.sender.send(Target(ip, port, device), row, inline=inline)
            jobs.append(((ikey, stamp), row, send))
        results = await asyncio.gather(*(j for _, _, j in jobs), return_exceptions=True)
        ok = True
        for (mark, row, _), result in zip(jobs, results, strict=True):
            status = result if isinstance(result, int) else 0
            if 200 <= status < 300:
                done.append(mark)
            elif is_permanent(status):
                done.append(mark)  # a later change of the container marks it again
                self.dropped += 1
                if self.on_drop is not None:
                    self.on_drop()
                log.error(
                    "dropping stats of %s/%s: the account node answered %d",
                    row.account,
                    row.container,
                    status,
                )
            else:
                ok = False
        if done:
            await dev.submit(dbs.clear_dirty_op(done))
        return ok

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can lose a cancel
                async with asyncio.timeout(self.retry):
                    await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(self.debounce)
            for dev in self.devices:
                if dev.unavailable:
                    continue
                try:
                    await self.report(dev)
                except Exception:
                    log.exception("account report for %s failed", dev.name)

    async def close(self) -> None:
        await self.sender.close()
