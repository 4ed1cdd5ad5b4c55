"""A test double STANDING IN FOR THE KERNEL'S LIO (configfs + rtslib-fb).

This machine's kernel has no target_core_mod/configfs, so the unit tests of
the LIO driver hand it this namespace instead of rtslib_fb. It mirrors the
part of rtslib-fb's object model the driver uses (same constructor
signatures, 'any'/'lookup'/'create' modes, recursive deletes) and records
the resulting configfs tree in ``FakeLio.state`` so tests can assert on it.
It proves the mapping from an ExportSpec to rtslib objects, not that the
kernel accepts them: that is test_lio.py's real-kernel test, which skips here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class FakeRTSLibError(Exception):
    pass


class FakeNotInCFSError(FakeRTSLibError):
    pass


@dataclass
class State:
    storage: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    creations: list[str] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    saves: int = 0


def _mode(exists: bool, mode: str, what: str) -> bool:
    """True when the object must be created."""
    if mode == "lookup" and not exists:
        raise FakeNotInCFSError(f"{what} does not exist")
    if mode == "create" and exists:
        raise FakeRTSLibError(f"{what} already exists")
    return not exists


def make_fake_lio() -> tuple[SimpleNamespace, State]:
    state = State()

    class StorageObject:
        kind = ""

        def __new__(cls, name, dev=None, **kwargs):
            existing = state.storage.get(name)
            if dev is None:
                if existing is None or existing.kind != cls.kind:
                    raise FakeNotInCFSError(f"storage object {name} does not exist")
                return existing
            if existing is not None:
                raise FakeRTSLibError(f"storage object {name} exists")
            return super().__new__(cls)

        def __init__(self, name, dev=None, size=None, wwn=None, write_back=False,
                     readonly=False):  # fmt: skip
            if dev is None:
                return
            self.name, self.udev_path, self.size, self.wwn = name, dev, size, wwn
            self.write_back, self.readonly = write_back, readonly
            state.storage[name] = self
            state.creations.append(f"{self.kind}:{name}")

        @property
        def attached_luns(self):
            return [
                lun
                for t in state.targets.values()
                for tpg in t.tpgs
                for lun in tpg.luns
                if lun.storage_object is self
            ]

        def delete(self):
            for lun in self.attached_luns:
                lun.delete()
            del state.storage[self.name]
            state.deletions.append(f"{self.kind}:{self.name}")

    class FileIOStorageObject(StorageObject):
        kind = "fileio"

    class BlockStorageObject(StorageObject):
        kind = "block"

    class FabricModule:
        def __init__(self, name):
            assert name == "iscsi"

        @property
        def targets(self):
            return list(state.targets.values())

    class Target:
        def __new__(cls, fabric, wwn, mode="any"):
            existing = state.targets.get(wwn)
            if not _mode(existing is not None, mode, f"target {wwn}"):
                return existing
            obj = super().__new__(cls)
            obj.wwn, obj._tpgs, obj._new = wwn, {}, True
            state.targets[wwn] = obj
            state.creations.append(f"target:{wwn}")
            return obj

        @property
        def tpgs(self):
            return list(self._tpgs.values())

        def delete(self):
            for tpg in self.tpgs:
                for lun in list(tpg.luns):
                    lun.delete()
            del state.targets[self.wwn]
            state.deletions.append(f"target:{self.wwn}")

    class TPG:
        def __new__(cls, target, tag, mode="any"):
            existing = target._tpgs.get(tag)
            if not _mode(existing is not None, mode, f"tpg {tag}"):
                return existing
            obj = super().__new__(cls)
            obj.tag, obj.enable, obj.attributes = tag, False, {}
            obj._luns, obj._acls, obj.portals = {}, {}, set()
            target._tpgs[tag] = obj
            state.creations.append(f"tpg:{tag}")
            return obj

        def set_attribute(self, name, value):
            self.attributes[name] = value

        @property
        def luns(self):
            return list(self._luns.values())

        @property
        def node_acls(self):
            return list(self._acls.values())

    class NetworkPortal:
        def __init__(self, tpg, ip, port=3260, mode="any"):
            if _mode((ip, port) in tpg.portals, mode, f"portal {ip}:{port}"):
                tpg.portals.add((ip, port))
                state.creations.append(f"portal:{ip}:{port}")

    class LUN:
        def __init__(self, tpg, lun=None, storage_object=None):
            if storage_object is None:
                raise NotImplementedError("lookup is not used by the driver")
            _mode(lun in tpg._luns, "create", f"lun {lun}")
            self.tpg, self.lun, self.storage_object = tpg, lun, storage_object
            tpg._luns[lun] = self
            state.creations.append(f"lun:{lun}")

        def delete(self):
            for acl in self.tpg.node_acls:
                for m in list(acl.mapped_luns):
                    if m.tpg_lun is self:
                        m.delete()
            del self.tpg._luns[self.lun]
            state.deletions.append(f"lun:{self.lun}")

    class NodeACL:
        def __new__(cls, tpg, node_wwn, mode="any"):
            existing = tpg._acls.get(node_wwn)
            if not _mode(existing is not None, mode, f"acl {node_wwn}"):
                return existing
            obj = super().__new__(cls)
            obj.tpg, obj.node_wwn, obj._mapped = tpg, node_wwn, {}
            obj.chap_userid, obj.chap_password = "", ""
            tpg._acls[node_wwn] = obj
            state.creations.append(f"acl:{node_wwn}")
            return obj

        @property
        def mapped_luns(self):
            return list(self._mapped.values())

        def delete(self):
            del self.tpg._acls[self.node_wwn]
            state.deletions.append(f"acl:{self.node_wwn}")

    class MappedLUN:
        def __init__(self, acl, mapped_lun, tpg_lun=None, write_protect=None):
            if tpg_lun is None:
                raise NotImplementedError("lookup is not used by the driver")
            _mode(mapped_lun in acl._mapped, "create", f"mapped lun {mapped_lun}")
            self.acl, self.mapped_lun = acl, mapped_lun
            self.tpg_lun, self.write_protect = tpg_lun, bool(write_protect)
            acl._mapped[mapped_lun] = self
            state.creations.append(f"mapped_lun:{mapped_lun}")

        def delete(self):
            del self.acl._mapped[self.mapped_lun]
            state.deletions.append(f"mapped_lun:{self.mapped_lun}")

    class RTSRoot:
        def save_to_file(self, path):
            state.saves += 1
            dump = {
                "storage_objects": sorted(state.storage),
                "targets": sorted(state.targets),
            }
            with open(path, "w") as f:
                json.dump(dump, f)

    api = SimpleNamespace(
        RTSRoot=RTSRoot,
        FabricModule=FabricModule,
        Target=Target,
        TPG=TPG,
        LUN=LUN,
        NetworkPortal=NetworkPortal,
        NodeACL=NodeACL,
        MappedLUN=MappedLUN,
        FileIOStorageObject=FileIOStorageObject,
        BlockStorageObject=BlockStorageObject,
        RTSLibError=FakeRTSLibError,
        RTSLibNotInCFSError=FakeNotInCFSError,
    )
    return api, state
