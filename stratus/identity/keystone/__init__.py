"""A Keystone v3 identity API over the identity store, for the OpenStack clients.

``openstack`` (python-openstackclient), openstacksdk and keystoneauth log in
here (``POST /v3/auth/tokens``), read the service catalog, and send the
token they got to every Stratus service: it is an identity-store token, the
same kind /auth/v1.0 issues. See :mod:`.auth` for tokens, :mod:`.resources`
for projects, users and roles, :mod:`.catalog` for the endpoints.
"""

from __future__ import annotations

from stratus.identity.keystone.app import make_app
from stratus.identity.keystone.catalog import Catalog

__all__ = ["Catalog", "make_app"]
