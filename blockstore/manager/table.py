"""One kind of record as the API sees it: get, list, update, metadata and the
conditional status change, written once for volumes, snapshots, backups and attachments.

Every lookup is scoped to the caller's project (another project's record is simply
not found); every change is one LMDB write transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from blockstore.manager import validate
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_write
from blockstore.manager.errors import BadRequest, NotFound
from blockstore.manager.listing import matches, paginate, parse_sort
from blockstore.manager.records import Attachment, Record, Volume
from blockstore.manager.store import Txn

R = TypeVar("R", bound=Record)


def must_get(txn: Txn, cls: type[R], caller: Caller, ident: str, what: str) -> R:
    """The caller's record ``ident`` of kind ``cls``, else NotFound naming ``what``."""
    rec = txn.get(cls, caller.project, ident) if validate.lookup_id(ident) else None
    if rec is None:
        raise NotFound(f"{what} {ident[:80]} could not be found.")
    return rec


def attachments_of(txn: Txn, volume: Volume) -> list[Attachment]:
    return [a for a in txn.scan(Attachment, volume.project) if a.volume_id == volume.id]


# Update keys each kind accepts: the API's name -> the record's field.
DESCRIBED = {"name": "name", "description": "description", "metadata": "metadata"}
# Volumes and snapshots also take Cinder v1's display_* names.
DESCRIBED_V1 = {**DESCRIBED, "display_name": "name", "display_description": "description"}
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: validate.text(v, "name"),
    "description": lambda v: validate.text(v, "description", validate.MAX_DESCRIPTION),
    "metadata": validate.metadata,
}


class Table(Generic[R]):
    """The records of kind ``cls`` (``what``: its name in messages, e.g. "Volume")."""

    def __init__(
        self, ctx: Context, cls: type[R], what: str, updatable: dict[str, str] = DESCRIBED
    ) -> None:
        self.ctx = ctx
        self.cls = cls
        self.what = what
        self.updatable = updatable

    def must_get(self, t: Txn, caller: Caller, ident: str) -> R:
        return must_get(t, self.cls, caller, ident, self.what)

    def get(self, caller: Caller, ident: str) -> R:
        return self.ctx.store.read(lambda t: self.must_get(t, caller, ident))

    def page(
        self,
        caller: Caller,
        *,
        filters: dict[str, Any] | None = None,
        limit: Any = None,
        marker: str | None = None,
        sort: str | None = None,
        sort_key: str | None = None,
        sort_dir: str | None = None,
        all_projects: bool = False,
    ) -> tuple[list[R], bool]:
        """Filtered, sorted, one page; ``all_projects`` (Cinder's ``all_tenants``) counts
        for cloud admins only, for anyone else it is ignored, as in Cinder."""
        order = parse_sort(sort, sort_key, sort_dir)
        wanted = {k: v for k, v in (filters or {}).items() if v is not None}
        scope = None if all_projects and caller.is_cloud_admin else caller.project
        items = [r for r in self.ctx.store.scan(self.cls, scope) if matches(r, wanted)]
        return paginate(items, marker=marker, limit=validate.limit(limit), sort=order)

    async def update(self, caller: Caller, ident: str, changes: dict[str, Any]) -> R:
        """Name, description and metadata (the keys of ``updatable``); anything else
        alone is "nothing to update"."""
        must_write(caller)
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            field_name = self.updatable.get(key)
            if field_name is not None:
                clean[field_name] = _CHECKS[field_name](value)
        if not clean:
            raise BadRequest(
                "Invalid input received: nothing to update (name, description, metadata)."
            )

        def txn(t: Txn) -> R:
            rec = self.must_get(t, caller, ident)
            for key, value in clean.items():
                setattr(rec, key, value)
            t.put(rec)
            return rec

        return await self.ctx.store.write(txn)

    async def set_metadata(
        self, caller: Caller, ident: str, items: Any, *, replace: bool = False
    ) -> dict[str, str]:
        """Cinder's metadata sub-resource: POST merges, PUT replaces."""
        must_write(caller)
        items = validate.metadata(items)

        def txn(t: Txn) -> dict[str, str]:
            rec: Any = self.must_get(t, caller, ident)
            rec.metadata = dict(items) if replace else {**rec.metadata, **items}
            validate.metadata(rec.metadata)
            t.put(rec)
            return rec.metadata

        return await self.ctx.store.write(txn)

    async def delete_metadata(self, caller: Caller, ident: str, key: str) -> None:
        must_write(caller)

        def txn(t: Txn) -> None:
            rec: Any = self.must_get(t, caller, ident)
            if key not in rec.metadata:
                raise NotFound(f"{self.what} {ident} has no metadata with key {key[:80]}.")
            del rec.metadata[key]
            t.put(rec)

        await self.ctx.store.write(txn)

    async def transition(
        self, rec: R, expected: str | None, status: str, **fields: Any
    ) -> R | None:
        """Move ``rec`` to ``status`` (and set ``fields``) if it is still in ``expected``
        (None: whatever it is); durable. None when it is gone or moved on."""

        def txn(t: Txn) -> R | None:
            cur: Any = t.get(self.cls, rec.project, rec.id)
            if cur is None or (expected is not None and cur.status != expected):
                return None
            cur.status = status
            for key, value in fields.items():
                setattr(cur, key, value)
            t.put(cur)
            return cur

        return await self.ctx.store.write(txn)

    async def forget(self, rec: R) -> None:
        """Delete the record (its bytes are already gone)."""
        await self.ctx.store.write(lambda t: t.delete(rec))
