"""Quota sets and limits as the API shows them (os-quota-sets, /limits)."""

from __future__ import annotations

from typing import Any

from blockstore.manager import quotas
from blockstore.manager.context import Context
from blockstore.manager.core import Caller, must_be_cloud_admin
from blockstore.manager.errors import BadRequest, Forbidden
from blockstore.manager.records import QuotaSet
from blockstore.manager.store import Txn
from stratus.identity import InvalidName
from stratus.identity.names import check_name


def _project(project: str) -> str:
    """A quota target must be a possible project name: it becomes the record's key."""
    try:
        return check_name("project", project)
    except InvalidName:
        raise BadRequest(f"Invalid project {project[:64]!r}: not a project name.") from None


class Quotas:
    """Per-project limits: the configured defaults and the admin's overrides."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _may_see(self, caller: Caller, project: str) -> None:
        if project != caller.project and not caller.is_cloud_admin:
            raise Forbidden("Policy doesn't allow reading another project's quotas.")

    def quota_limits(self, caller: Caller, project: str) -> dict[str, int]:
        self._may_see(caller, project)
        defaults = self.ctx.settings.quota_defaults
        return self.ctx.store.read(lambda t: quotas.limits(t, project, defaults))

    def quota_usage(self, caller: Caller, project: str) -> dict[str, int]:
        self._may_see(caller, project)
        return self.ctx.store.read(lambda t: quotas.usage(t, project))

    def quota_defaults(self) -> dict[str, int]:
        return dict(self.ctx.settings.quota_defaults)

    async def set_quotas(self, caller: Caller, project: str, values: Any) -> dict[str, int]:
        """Override some limits of ``project`` (admin of project admin only)."""
        must_be_cloud_admin(caller)
        project = _project(project)
        if not isinstance(values, dict):
            raise BadRequest("Invalid input received: quota_set must be an object.")
        clean: dict[str, int] = {}
        for key, value in values.items():
            if key not in quotas.RESOURCES:
                raise BadRequest(f"Bad key(s) in quota set: {str(key)[:40]}.")
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise BadRequest(
                    f"Invalid input received: quota {key} must be an integer."
                ) from None
            if isinstance(value, bool) or number < -1:
                raise BadRequest(f"Invalid input received: quota {key} must be >= -1.")
            clean[key] = number

        def txn(t: Txn) -> dict[str, int]:
            current = t.get(QuotaSet, "", project) or QuotaSet(id=project)
            current.limits = {**current.limits, **clean}
            t.put(current)
            return quotas.limits(t, project, self.ctx.settings.quota_defaults)

        return await self.ctx.store.write(txn)

    async def reset_quotas(self, caller: Caller, project: str) -> None:
        must_be_cloud_admin(caller)

        def txn(t: Txn) -> None:
            current = t.get(QuotaSet, "", project)
            if current is not None:
                t.delete(current)

        await self.ctx.store.write(txn)
