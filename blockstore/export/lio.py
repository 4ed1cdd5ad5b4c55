"""The LIO target driver: exports volumes through the kernel's target via rtslib-fb.

One iSCSI target per volume (one TPG, tag 1), a fileio backstore for a file
or a block backstore for a block device, one network portal, and a node ACL
with CHAP and a mapped LUN per allowed initiator. Without ACLs the TPG runs
in demo mode (generated ACLs, no authentication). Every call converges, so
``ensure_export`` repairs a half-made export and ``remove_export`` of a
missing target does nothing. The configuration is saved (rtslib's JSON) after
each change so that ``targetctl restore`` brings it back after a reboot.

rtslib-fb talks to configfs synchronously; calls run in a worker thread,
one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from blockstore.export.base import (
    ConnectionInfo,
    ExportError,
    ExportSession,
    ExportSpec,
    connection_info,
)

log = logging.getLogger(__name__)

CONFIGFS_TARGET = Path("/sys/kernel/config/target")
BACKSTORE_PREFIX = "stratus-"
TPG_TAG = 1


def lio_unavailable_reason(root: Path = CONFIGFS_TARGET) -> str | None:
    """Why LIO cannot be used here, or None if it can (configfs target present)."""
    if not root.is_dir():
        return f"{root} is absent: no target_core_mod/configfs in this kernel"
    if os.geteuid() != 0:
        return "driving LIO needs root"
    return None


def _rtslib() -> SimpleNamespace:
    """The rtslib-fb names the driver uses (a test passes a stand-in namespace)."""
    import rtslib_fb

    names = [
        "RTSRoot", "FabricModule", "Target", "TPG", "LUN", "NetworkPortal", "NodeACL",
        "MappedLUN", "FileIOStorageObject", "BlockStorageObject", "RTSLibError",
        "RTSLibNotInCFSError",
    ]  # fmt: skip
    return SimpleNamespace(**{name: getattr(rtslib_fb, name) for name in names})


def backstore_name(volume_id: str) -> str:
    return BACKSTORE_PREFIX + volume_id


def is_block_device(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


class LioDriver:
    """ExportDriver over LIO. ``portal_ip``/``port`` are where the target listens;
    ``advertise`` is the host initiators are told to use (default: ``portal_ip``)."""

    name = "lio"

    def __init__(
        self,
        *,
        portal_ip: str = "0.0.0.0",
        port: int = 3260,
        advertise: str | None = None,
        save_file: str | None = "/etc/target/saveconfig.json",
        api: Any = None,
    ) -> None:
        self.portal_ip = portal_ip
        self.port = port
        self.advertise = advertise or ("127.0.0.1" if portal_ip == "0.0.0.0" else portal_ip)
        self.save_file = save_file
        self._api = api
        self._lock = asyncio.Lock()

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = _rtslib()
        return self._api

    async def _run(self, fn, *args):
        async with self._lock:
            return await asyncio.to_thread(fn, *args)

    # -- ExportDriver ------------------------------------------------------

    async def ensure_export(self, spec: ExportSpec) -> ConnectionInfo:
        spec.validate()
        if not os.path.exists(spec.path):
            raise ExportError(f"backing store {spec.path} does not exist")
        await self._run(self._ensure, spec)
        return connection_info(spec, self.portals)

    async def remove_export(self, target_iqn: str) -> None:
        await self._run(self._remove, target_iqn)

    async def list_exports(self) -> list[str]:
        return await self._run(self._list)

    @property
    def portals(self) -> tuple[str, ...]:
        """The one portal initiators are told to use (``advertise``:``port``)."""
        host = self.advertise if ":" not in self.advertise else f"[{self.advertise}]"
        return (f"{host}:{self.port}",)

    async def sessions(self) -> list[ExportSession]:
        """Always empty: the kernel's sessions are not read from configfs (yet); the
        volume API's os-iscsi-sessions lists none for LIO exports."""
        return []

    @contextlib.asynccontextmanager
    async def quiesce(self, target_iqn: str) -> AsyncIterator[None]:
        """A no-op: the kernel's writes are not held here, so a copy of an in-use LIO
        volume is crash-consistent at best."""
        yield

    async def extend_export(self, target_iqn: str) -> None:
        """A no-op: this driver does not resize a live backstore (as before the
        interface named it); the LUN's size is the one it was exported with."""

    async def close(self) -> None:
        """A no-op: the kernel keeps the exports (``ensure_export`` adopts them again)."""

    # -- the blocking work ---------------------------------------------------

    def _ensure(self, spec: ExportSpec) -> None:
        api = self.api
        try:
            so = self._storage_object(spec)
            fabric = api.FabricModule("iscsi")
            target = api.Target(fabric, spec.target_iqn, mode="any")
            tpg = api.TPG(target, TPG_TAG, mode="any")
            self._configure_tpg(tpg, spec)
            api.NetworkPortal(tpg, self.portal_ip, self.port, mode="any")
            lun = self._lun(tpg, spec, so)
            self._acls(tpg, spec, lun)
            tpg.enable = True
        except api.RTSLibError as e:
            raise ExportError(f"LIO refused export of {spec.volume_id}: {e}") from e
        self._save()
        log.info("exported %s as %s lun %d", spec.volume_id, spec.target_iqn, spec.lun)

    def _storage_object(self, spec: ExportSpec) -> Any:
        api = self.api
        name = backstore_name(spec.volume_id)
        block = is_block_device(spec.path)
        cls = api.BlockStorageObject if block else api.FileIOStorageObject
        try:
            so = cls(name)  # lookup
        except api.RTSLibNotInCFSError:
            so = None
        if so is not None and so.udev_path != spec.path:
            so.delete()  # same volume, new backing path: rebuild it
            so = None
        if so is None:
            serial = spec.volume_id.replace("-", "")[:32]
            if block:
                so = cls(name, dev=spec.path, wwn=serial, readonly=spec.read_only)
            else:
                size = os.path.getsize(spec.path)
                # write_back: buffered I/O with WCE=1, as the userspace target; False: O_DSYNC.
                so = cls(name, dev=spec.path, size=size, wwn=serial, write_back=spec.write_cache)
        return so

    def _configure_tpg(self, tpg: Any, spec: ExportSpec) -> None:
        chap = any(acl.chap_user for acl in spec.acls)
        tpg.set_attribute("authentication", "1" if chap else "0")
        if spec.acls:
            tpg.set_attribute("generate_node_acls", "0")
        else:  # demo mode: any initiator, the LUN mapped for everyone
            tpg.set_attribute("generate_node_acls", "1")
            tpg.set_attribute("cache_dynamic_acls", "1")
            tpg.set_attribute("demo_mode_write_protect", "1" if spec.read_only else "0")

    def _lun(self, tpg: Any, spec: ExportSpec, so: Any) -> Any:
        for lun in tpg.luns:
            if lun.lun == spec.lun:
                if lun.storage_object.name == so.name:
                    return lun
                lun.delete()  # another volume holds this LUN number here
        return self.api.LUN(tpg, spec.lun, storage_object=so)

    def _acls(self, tpg: Any, spec: ExportSpec, lun: Any) -> None:
        api = self.api
        wanted = {acl.initiator_iqn: acl for acl in spec.acls}
        for node_acl in list(tpg.node_acls):
            if node_acl.node_wwn not in wanted:
                node_acl.delete()
        for iqn, acl in wanted.items():
            node_acl = api.NodeACL(tpg, iqn, mode="any")
            if acl.chap_user is not None:
                node_acl.chap_userid = acl.chap_user
                node_acl.chap_password = acl.chap_secret
            elif node_acl.chap_userid:
                node_acl.chap_userid = ""
                node_acl.chap_password = ""
            mapped = {m.mapped_lun: m for m in node_acl.mapped_luns}
            current = mapped.get(spec.lun)
            if current is not None and (
                current.tpg_lun.lun != lun.lun or bool(current.write_protect) != spec.read_only
            ):
                current.delete()
                current = None
            if current is None:
                api.MappedLUN(node_acl, spec.lun, tpg_lun=lun, write_protect=spec.read_only)

    def _remove(self, target_iqn: str) -> None:
        api = self.api
        try:
            fabric = api.FabricModule("iscsi")
            try:
                target = api.Target(fabric, target_iqn, mode="lookup")
            except api.RTSLibNotInCFSError:
                return
            ours = {
                lun.storage_object.name: lun.storage_object
                for tpg in target.tpgs
                for lun in tpg.luns
                if lun.storage_object.name.startswith(BACKSTORE_PREFIX)
            }
            target.delete()
            for so in ours.values():
                if not list(so.attached_luns):
                    so.delete()
        except api.RTSLibError as e:
            raise ExportError(f"LIO refused removal of {target_iqn}: {e}") from e
        self._save()
        log.info("unexported %s", target_iqn)

    def _list(self) -> list[str]:
        fabric = self.api.FabricModule("iscsi")
        return sorted(target.wwn for target in fabric.targets)

    def _save(self) -> None:
        if self.save_file:
            Path(self.save_file).parent.mkdir(parents=True, exist_ok=True)
            self.api.RTSRoot().save_to_file(self.save_file)
