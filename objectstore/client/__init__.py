"""The one typed client of the storage node's internal HTTP API.

Nobody else builds node URLs: the proxy, the replicator, the node itself
(container and account updates) and the volume backups all go through
:class:`NodeClient`. A node is addressed by anything with ``.ip``, ``.port``
and ``.device`` (a ``ring.Device``), plus a partition number.

Errors are typed (:class:`NodeUnavailable` when the node cannot be reached
or times out, :class:`NodeError` and its subclasses for an HTTP answer that
is not a success), so the proxy's quorum logic never inspects status codes.

The request's transaction id travels in the :data:`TRANS_ID` context
variable (set it once per incoming request; tasks inherit it) rather than
in every signature.

The calls live by resource: ``transport`` (one request, the body streams),
``objects``, ``dbs`` (containers and accounts, one call path for both) and
``internal`` (replication and operators). This module is the single import
point: it assembles :class:`NodeClient` from them and re-exports the values
and errors of :mod:`objectstore.common.values`.
"""

from __future__ import annotations

import aiohttp

from objectstore.client.dbs import Accounts, Containers
from objectstore.client.internal import InternalCalls
from objectstore.client.objects import Objects
from objectstore.client.transport import (
    TRANS_ID,
    ObjectStream,
    ShortBody,
    Transport,
    make_session,
    request_headers,
)
from objectstore.common.values import (
    AccountInfo,
    AccountRowUpdate,
    AccountUpdate,
    BadRequest,
    Conflict,
    ContainerInfo,
    ContainerListing,
    ContainerRow,
    ContainerRowUpdate,
    ContainerUpdate,
    EtagMismatch,
    InsufficientStorage,
    NodeAddress,
    NodeClientError,
    NodeError,
    NodeUnavailable,
    NotFound,
    ObjectInfo,
    ObjectListing,
    ObjectRow,
    PreconditionFailed,
    RangeNotSatisfiable,
    SubdirRow,
)

__all__ = [
    "TRANS_ID",
    "AccountInfo",
    "AccountRowUpdate",
    "AccountUpdate",
    "BadRequest",
    "Conflict",
    "ContainerInfo",
    "ContainerListing",
    "ContainerRow",
    "ContainerRowUpdate",
    "ContainerUpdate",
    "EtagMismatch",
    "InsufficientStorage",
    "NodeAddress",
    "NodeClient",
    "NodeClientError",
    "NodeError",
    "NodeUnavailable",
    "NotFound",
    "ObjectInfo",
    "ObjectListing",
    "ObjectRow",
    "ObjectStream",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "ShortBody",
    "SubdirRow",
]


class NodeClient:
    """Calls storage nodes over one shared keep-alive session.

    Composed of one :class:`Transport` and the resource calls built over it;
    each public method is the matching call of one of them, so a reader finds
    the code of ``put_container`` in :class:`objectstore.client.dbs.Containers`.
    """

    make_session = staticmethod(make_session)
    #: The headers every call starts from (tests read it to check X-Trans-Id).
    _headers = staticmethod(request_headers)

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        conn_timeout: float = 2.0,
        node_timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.transport = Transport(session, conn_timeout=conn_timeout, node_timeout=node_timeout)

        objects = Objects(self.transport)
        self.put_object = objects.put
        self.get_object = objects.get
        self.head_object = objects.head
        self.delete_object = objects.delete
        self.post_object = objects.post

        containers = Containers(self.transport)
        self.put_container = containers.put
        self.delete_container = containers.delete
        self.head_container = containers.head
        self.post_container = containers.post
        self.list_objects = containers.list
        self.update_container_rows = containers.update_rows

        accounts = Accounts(self.transport)
        self.put_account = accounts.put
        self.delete_account = accounts.delete
        self.head_account = accounts.head
        self.post_account = accounts.post
        self.list_containers = accounts.list
        self.update_account_rows = accounts.update_rows

        internal = InternalCalls(self.transport)
        self.replicate_hashes = internal.replicate_hashes
        self.replicate_list = internal.replicate_list
        self.replicate_push = internal.replicate_push
        self.replicate_body = internal.replicate_body
        self.db_digests = internal.db_digests
        self.db_push = internal.db_push
        self.healthcheck = internal.healthcheck
        self.node_stats = internal.node_stats
        self.replicate_now = internal.replicate_now
        self.device_partitions = internal.device_partitions
        self.node_metrics = internal.node_metrics
        self.push_ring = internal.push_ring
        self.fetch_ring = internal.fetch_ring
