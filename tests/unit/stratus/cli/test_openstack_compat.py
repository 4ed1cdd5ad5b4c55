"""docs/openstack-compat.md is what the services' route tables say."""

from __future__ import annotations

from pathlib import Path

from stratus.cli import openstack_compat

DOC = Path(__file__).resolve().parents[4] / "docs" / "openstack-compat.md"


def test_published_page_is_current() -> None:
    assert DOC.read_text() == openstack_compat.render(), (
        "run: python -m stratus.cli.openstack_compat > docs/openstack-compat.md"
    )


def test_every_service_lists_its_everyday_calls() -> None:
    calls = {
        svc.catalog_type.split(",")[0]: {(c.method, c.path) for c in svc.calls()}
        for svc in openstack_compat.SERVICES
    }
    assert ("POST", "/v3/auth/tokens") in calls["identity"]
    assert ("PUT", "/v1/{account}/{container}/{object}") in calls["object-store"]
    assert ("POST", "/v3/{project_id}/volumes") in calls["block-storage"]
    assert ("POST", "/v2.1/servers") in calls["compute"]
    assert ("PUT", "/v2/images/{image_id}/file") in calls["image"]
    assert ("POST", "/v2.0/networks") in calls["network"]
    assert not any(p.startswith("/v2.0") for _, p in calls["compute"])


def test_action_notes_name_routed_calls() -> None:
    routed = {(c.method, c.path) for svc in openstack_compat.SERVICES for c in svc.calls()}
    assert set(openstack_compat.action_notes()) <= routed
