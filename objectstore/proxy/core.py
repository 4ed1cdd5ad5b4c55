"""The proxy core: accounts, containers and objects over the ring, protocol-free.

Front-ends (the native Swift handlers, the S3 dialect) call these methods
with plain names, :class:`ObjectMetadata` and byte iterables; they get back
the models of ``objectstore.proxy.models`` or a typed error of
``objectstore.proxy.errors``. Every write is stamped with a
:class:`Timestamp` and fanned out to the primaries (handoffs replace failed
primaries; a majority is the quorum); a short-lived cache of container and
account existence spares an object PUT an extra round trip.

The work lives by resource, each part given what it uses: ``fanout``
(quorum calls and first-answer reads, with the error limiter), ``accounts``
and ``containers`` (the twin databases share one call path, ``databases``),
``objects`` (over ``reads`` and ``writes``). :class:`ProxyCore` assembles
them and is the one object front-ends hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from objectstore import client as nc
from objectstore.common.errorlimit import ErrorLimiter
from objectstore.proxy.accounts import Accounts
from objectstore.proxy.containers import Containers
from objectstore.proxy.fanout import Fanout
from objectstore.proxy.infocache import InfoCache
from objectstore.proxy.models import AccountInfo, ContainerInfo
from objectstore.proxy.names import MAX_FILE_SIZE
from objectstore.proxy.objects import Objects
from objectstore.proxy.reads import Reader
from objectstore.proxy.writes import Writer
from ring import Ring
from stratus.config import Config

INFO_TTL = 10.0  # seconds a proxy trusts a cached container/account lookup


@dataclass
class Rings:
    """The three rings of a cluster."""

    account: Ring
    container: Ring
    object: Ring

    @classmethod
    def load(cls, ring_dir: str | Path, *, prefix: str = "", suffix: str = "") -> Rings:
        """``<ring_dir>/{account,container,object}.ring`` with the cluster's hash salts."""
        d = Path(ring_dir)
        return cls(
            *(
                Ring(d / f"{kind}.ring", hash_path_prefix=prefix, hash_path_suffix=suffix)
                for kind in ("account", "container", "object")
            )
        )

    @classmethod
    def from_config(cls, config: Config) -> Rings:
        return cls.load(
            Path(config.data.dir) / "rings",
            prefix=config.cluster.hash_path_prefix,
            suffix=config.cluster.hash_path_suffix,
        )


class ProxyCore:
    """Object store operations over one cluster's rings and storage nodes.

    Each public method is the matching operation of one resource part: a
    reader finds ``put_container`` in :class:`Containers`, ``get_object``
    in :class:`Objects`.
    """

    def __init__(
        self,
        config: Config,
        rings: Rings,
        client: nc.NodeClient,
        *,
        limiter: ErrorLimiter | None = None,
        max_object_size: int = MAX_FILE_SIZE,
        info_ttl: float = INFO_TTL,
    ) -> None:
        self.config = config
        self.rings = rings
        self.limiter = limiter if limiter is not None else ErrorLimiter.from_config(config)
        self.node_timeout = float(config.proxy.node_timeout)
        self.max_object_size = max_object_size
        self.info_ttl = info_ttl
        self.fan = Fanout(self.limiter)
        # The caches outlive the parts: a new node client keeps what was learnt.
        self._accounts: InfoCache[bool] = InfoCache(info_ttl)
        self._account_info: InfoCache[AccountInfo] = InfoCache(info_ttl)
        self._containers: InfoCache[ContainerInfo] = InfoCache(info_ttl)
        self.client = client

    @property
    def client(self) -> nc.NodeClient:
        return self._client

    @client.setter
    def client(self, client: nc.NodeClient) -> None:
        """Build the parts over ``client`` (an app gives it once its session is open)."""
        self._client = client
        rings, fan = self.rings, self.fan
        accounts = Accounts(rings.account, client, fan, self._accounts, self._account_info)
        containers = Containers(rings.container, client, fan, accounts, self._containers)
        objects = Objects(
            rings.object,
            rings.container,
            client,
            fan,
            containers,
            Reader(rings.object, client, fan),
            Writer(
                rings.object,
                client,
                fan,
                max_object_size=self.max_object_size,
                node_timeout=self.node_timeout,
            ),
        )
        self.head_account = accounts.head_account
        self.account_info = accounts.account_info
        self.post_account = accounts.post_account
        self.list_containers = accounts.list_containers

        self.put_container = containers.put_container
        self.delete_container = containers.delete_container
        self.head_container = containers.head_container
        self.container_info = containers.container_info
        self.post_container = containers.post_container
        self.list_objects = containers.list_objects
        self._forget = containers.forget  # tests: what another proxy sees after info_ttl

        self.put_object = objects.put_object
        self.head_object = objects.head_object
        self.get_object = objects.get_object
        self.delete_object = objects.delete_object
        self.require_unretained = objects.require_unretained
        self.post_object = objects.post_object
        self.copy_object = objects.copy_object
