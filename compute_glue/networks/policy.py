"""Who may see and change network records (Neutron's default policy, reduced).

``who`` is the caller, a :class:`stratus.identity.Principal`, or None for the
compute service itself (it plugs every project's ports).
"""

from __future__ import annotations

from compute_glue.errors import Forbidden
from stratus.identity import Principal


def visible(project: str, who: Principal | None) -> bool:
    """Records of another project are invisible unless ``who`` is an operator."""
    return who is None or who.is_reseller_admin or who.project == project


def require_writer(who: Principal | None) -> None:
    """Readers read: creating, changing and deleting needs member or admin."""
    if who is not None and not who.can_write:
        raise Forbidden("Your role may not change networks.", kind="PolicyNotAuthorized")


def owner(who: Principal, wanted: object) -> str:
    """The project a new record belongs to: the caller's, or (an operator's choice) another."""
    if wanted and wanted != who.project:
        if not who.is_reseller_admin:
            raise Forbidden(
                "Only an operator may create for another project.", kind="PolicyNotAuthorized"
            )
        return str(wanted)
    return who.project
