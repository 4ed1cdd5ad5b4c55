"""Security groups: each project's ``default`` group, as Neutron makes it, read-only.

Stratus does not filter traffic by security group: a network's bridge is
open within itself and closed to every other bridge (``networks.nat``), which
is what Neutron's default group allows (all egress, ingress from members of
the same group). Clients that look the group up (``openstack server create
--security-group default``, ``openstack security group list``) find it here;
ids are derived from the project, so nothing is stored.
"""

from __future__ import annotations

import uuid
from typing import Any

from compute_glue.networks.model import default_group_id

_RULES = uuid.UUID("0b6b7a4e-0e37-4f57-8f5a-6d3c2f9b1e21")
EPOCH = "1970-01-01T00:00:00Z"


def default_group(project: str) -> dict[str, Any]:
    group_id = default_group_id(project)
    return {
        "id": group_id,
        "name": "default",
        "description": "Default security group",
        "tenant_id": project,
        "project_id": project,
        "stateful": True,
        "shared": False,
        "security_group_rules": default_rules(project),
        "tags": [],
        "revision_number": 0,
        "created_at": EPOCH,
        "updated_at": EPOCH,
    }


def default_rules(project: str) -> list[dict[str, Any]]:
    """Neutron's four: egress anywhere (IPv4, IPv6), ingress from the group itself (both)."""
    group_id = default_group_id(project)
    rules: list[dict[str, Any]] = []
    for direction in ("egress", "ingress"):
        for ethertype in ("IPv4", "IPv6"):
            rules.append(
                {
                    "id": str(uuid.uuid5(_RULES, f"{project}/{direction}/{ethertype}")),
                    "security_group_id": group_id,
                    "direction": direction,
                    "ethertype": ethertype,
                    "protocol": None,
                    "port_range_min": None,
                    "port_range_max": None,
                    "remote_ip_prefix": None,
                    "remote_group_id": group_id if direction == "ingress" else None,
                    "remote_address_group_id": None,
                    "normalized_cidr": None,
                    "description": "",
                    "tenant_id": project,
                    "project_id": project,
                    "belongs_to_default_sg": True,
                    "tags": [],
                    "revision_number": 0,
                    "created_at": EPOCH,
                    "updated_at": EPOCH,
                }
            )
    return rules
