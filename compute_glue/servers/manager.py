"""The server manager: records, QEMU processes and the life cycle of every server.

Create answers at once (BUILD) and a task builds the server: volumes of
its block device mapping are attached, image files fetched, ports plugged
(taps on the networks' bridges), and QEMU started; then ACTIVE, or ERROR
with a fault. Stop, start, reboot and delete run one at a time per server
(a second action gets 409). QEMU outlives this service: :meth:`start`
adopts every VM still running, marks the others SHUTOFF, and settles
attachments a crash left half-done (see :mod:`compute_glue.servers.attach`).

The manager is composed of explicit parts: the records
(:class:`~compute_glue.servers.store.ServerStore`), the per-server locks
(:class:`~compute_glue.servers.guards.ServerLocks`), the clients on the
owner's behalf (:class:`~compute_glue.servers.owner.OwnerClients`) and the
volume service (:class:`~compute_glue.servers.attach.VolumeAttachments`),
which shares the records, the locks and the running QEMU processes.
Requests arrive parsed (:mod:`compute_glue.servers.bodies`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

from compute_glue.errors import BadRequest, Conflict, NotFound
from compute_glue.networks.bodies import PortRequest
from compute_glue.networks.manager import NetworkManager
from compute_glue.objects import Tokens
from compute_glue.servers import boot
from compute_glue.servers.attach import VolumeAttachments
from compute_glue.servers.bodies import ServerCreate
from compute_glue.servers.guards import ServerLocks, require_writer
from compute_glue.servers.model import Server
from compute_glue.servers.owner import OwnerClients
from compute_glue.servers.process import Disk, VmProcess, VmSpec, qemu_argv
from compute_glue.servers.settings import ComputeSettings
from compute_glue.servers.store import ServerStore
from compute_glue.servers.swap import VolumeSwaps
from stratus import diskimage
from stratus.identity import Principal

log = logging.getLogger("compute_glue.servers")
CONSOLE_MAX = 1 << 20


def run_dir(root: Path) -> Path:
    """Where QMP sockets live: under ``root`` unless that path is too long for AF_UNIX."""
    wanted = root / "run"
    if len(str(wanted)) + 48 < 108:
        return wanted
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"stratus-compute-{digest}"


class ServerManager:
    """Every server of this compute host."""

    def __init__(
        self,
        root: Path,
        networks: NetworkManager,
        tokens: Tokens,
        settings: ComputeSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.store = ServerStore(root / "records", clock)
        self.networks = networks
        self.settings = settings
        self.clock = clock
        self.instances = root / "instances"
        self.cache = boot.ImageCache(
            root / "cache", max_virtual_size=settings.max_virtual_size, qemu_img=settings.qemu_img
        )
        self.run = run_dir(root)
        self.vms: dict[str, VmProcess] = {}
        self.locks = ServerLocks()
        self.clients = OwnerClients(tokens, settings.image_url, settings.volume_url)
        self.volumes = VolumeAttachments(self.store, self.locks, self.clients, self.vms, settings)
        self.swaps = VolumeSwaps(self.store, self.locks, self.vms, settings)
        self.tasks: set[asyncio.Task[Any]] = set()

    # -- records -----------------------------------------------------------------------------

    def load(self, server_id: str) -> Server:
        return self.store.load(server_id)

    def get(self, who: Principal | None, server_id: str) -> Server:
        return self.store.get(who, server_id)

    def edit(self, server_id: str, change: Callable[[Server], None]) -> Server:
        return self.store.edit(server_id, change)

    def instance_dir(self, server_id: str) -> Path:
        return self.instances / server_id

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- create ------------------------------------------------------------------------------

    async def create(self, who: Principal, req: ServerCreate) -> Server:
        """Allocate ports, record BUILD and start building."""
        require_writer(who, "create")
        now = self.clock()
        flavor = req.flavor
        server = Server(
            id=str(uuid.uuid4()),
            project=who.project,
            user=who.user,
            name=req.name,
            flavor={
                "id": flavor.id,
                "name": flavor.name,
                "vcpus": flavor.vcpus,
                "ram": flavor.ram,
                "disk": flavor.disk,
            },
            image_id=req.image_id,
            user_data=req.user_data,
            metadata=dict(req.metadata),
            block_devices=[b.record() for b in req.block_devices],
            created_at=now,
            updated_at=now,
        )
        server.ports = await self._allocate_ports(who, server.id, req.networks)
        self.store.save(server)
        log.info("server %s (%s) requested by %s", server.id, req.name, who.name)
        self.spawn_task(self._build(server.id))
        return server

    async def _allocate_ports(
        self, who: Principal, server_id: str, networks: tuple[PortRequest, ...] | None
    ) -> list[dict[str, Any]]:
        if networks is None:  # "auto": the project's network, when it has exactly one
            mine = self.networks.list_all(who, "networks")
            networks = (PortRequest(network_id=mine[0].id),) if len(mine) == 1 else ()
        ports: list[dict[str, Any]] = []
        try:
            for req in networks:
                port = await self.networks.allocate_for_server(who, server_id, req)
                ports.append({"port_id": port.id, "created": req.port_id is None})
        except BaseException:
            for p in ports:
                await self.networks.release(p["port_id"], delete=p["created"])
            raise
        return ports

    async def _build(self, server_id: str) -> None:
        async with self.locks.lock(server_id):
            server = self.load(server_id)
            try:
                self.edit(server_id, lambda s: setattr(s, "task", "block_device_mapping"))
                await self.volumes.attach_boot_volumes(server)
                self.edit(server_id, lambda s: setattr(s, "task", "spawning"))
                server = self.load(server_id)
                server.boot = await self._prepare_boot(server)
                self.store.save(server)
                await self.launch(self.load(server_id))

                def active(s: Server) -> None:
                    s.status, s.task, s.launched_at, s.fault = "ACTIVE", None, self.clock(), None

                self.edit(server_id, active)
                log.info("server %s is ACTIVE (pid %s)", server_id, self.vms[server_id].pid)
            except Exception as exc:
                log.warning("server %s failed to build: %s", server_id, exc)
                vm = self.vms.pop(server_id, None)
                if vm is not None:
                    await vm.kill()
                message = f"Build failed: {exc}"
                self.edit(server_id, lambda s: self._fail(s, message))

    def _fail(self, server: Server, message: str) -> None:
        server.status, server.task, server.pid = "ERROR", None, None
        server.fault = {"code": 500, "message": message[:255], "created": self.clock()}

    async def _prepare_boot(self, server: Server) -> dict[str, Any]:
        out: dict[str, Any] = {"cmdline": None, "kernel": None, "initrd": None, "disk": None}
        if server.image_id is None:
            return out
        images = await self.clients.images(server)
        image = await images.get(server.image_id)
        files = await self.cache.boot_files(images, image)
        out["kernel"] = str(files.kernel) if files.kernel else None
        out["initrd"] = str(files.initrd) if files.initrd else None
        out["cmdline"] = files.cmdline
        if files.disk is not None:
            disk = self.instance_dir(server.id) / "disk"
            _private_dir(disk.parent)
            if not disk.exists():
                await boot.make_overlay(
                    self.settings.qemu_img, files.disk, files.disk_format, files.disk_size, disk
                )
            out["disk"] = str(disk)
            out["base"], out["base_format"] = str(files.disk), files.disk_format
        return out

    # -- QEMU ----------------------------------------------------------------------------------

    async def launch(self, server: Server) -> VmProcess:
        """Plug the ports and start QEMU with the server's disks and NICs."""
        idir = self.instance_dir(server.id)
        _private_dir(idir)
        self.run.mkdir(parents=True, exist_ok=True, mode=0o700)
        nics, guest_nets = [], []
        for p in server.ports:
            port = await self.networks.plug(p["port_id"])
            nics.append((port.tap, port.mac_address))
            if (cfg := self.networks.guest_config(port)) is not None:
                guest_nets.append(cfg)
        spec = VmSpec(
            server_id=server.id,
            memory_mb=server.flavor["ram"],
            vcpus=server.flavor["vcpus"],
            console=idir / "console.log",
            qmp=self.run / f"{server.id}.qmp",
            accel=_accel(self.settings.accel),
            machine=self.settings.machine,
            nics=nics,
        )
        if server.boot.get("kernel"):
            spec.kernel = Path(server.boot["kernel"])
            spec.initrd = Path(server.boot["initrd"]) if server.boot.get("initrd") else None
            spec.cmdline = boot.kernel_cmdline(server.boot["cmdline"], guest_nets)
        if server.boot.get("disk"):
            node: dict[str, Any] = {
                "driver": "qcow2",
                "node-name": "root",
                "file": {"driver": "file", "filename": server.boot["disk"]},
            }
            base, base_format = await self._checked_base(server)
            node["backing"] = diskimage.blockdev(base, base_format)  # its own backing disabled
            dev: dict[str, Any] = {"driver": "virtio-blk-pci", "id": "rootdisk", "drive": "root"}
            if spec.kernel is None:  # -kernel's option ROM holds bootindex 0 itself
                dev["bootindex"] = 0
            spec.disks.append(Disk(node, dev))
        secrets: list[Path] = []
        try:
            if server.user_data:
                name, path = boot.write_user_data(idir, server.user_data)
                secrets.append(path)
                spec.fw_cfg.append((name, path))
            spec.disks += await self.volumes.boot_disks(server, idir, secrets)
            argv = qemu_argv(self.settings.qemu, spec)
            vm = await VmProcess.spawn(
                argv, idir / "qemu.log", spec.qmp, timeout=self.settings.qmp_timeout
            )
        finally:
            for path in secrets:  # QEMU has read them once QMP answers
                path.unlink(missing_ok=True)
        self.vms[server.id] = vm
        vm.on_exit(self._exited)

        def running(s: Server) -> None:
            s.pid, s.pid_ticks, s.qmp = vm.pid, vm.ticks, str(spec.qmp)

        self.edit(server.id, running)
        return vm

    async def _checked_base(self, server: Server) -> tuple[Path, str]:
        """The cached image under the server's overlay, and its format.

        A server built before images were checked has no ``base`` in its record:
        its overlay names the image, which is checked now (and recorded).
        """
        if server.boot.get("base"):
            return Path(server.boot["base"]), server.boot["base_format"]
        disk = Path(server.boot["disk"])
        try:
            info = await diskimage.qemu_img_info(disk, "qcow2", self.settings.qemu_img)
        except diskimage.UnsafeImage as exc:
            raise BadRequest(
                f"The server's disk cannot be used: {exc}", kind="badRequest"
            ) from None
        named = info.get("full-backing-filename") or info.get("backing-filename")
        base = Path(str(named)) if named else None
        base_format = str(info.get("backing-filename-format") or "raw")
        if base is None or base.parent != self.cache.root:
            raise BadRequest(
                "The server's disk does not lie over a cached image.", kind="badRequest"
            )
        await self.cache.inspect(base, base_format)

        def remember(s: Server) -> None:
            s.boot["base"], s.boot["base_format"] = str(base), base_format

        self.edit(server.id, remember)
        return base, base_format

    def _exited(self, vm: VmProcess) -> None:
        """QEMU ended: a stop or delete in progress handles it; otherwise the VM is SHUTOFF."""
        server_id = next((k for k, v in self.vms.items() if v is vm), None)
        if server_id is None:
            return
        del self.vms[server_id]

        def shutoff(s: Server) -> None:
            if s.task is None and s.status == "ACTIVE":
                s.status, s.pid = "SHUTOFF", None
                log.info("server %s: QEMU (pid %d) exited; SHUTOFF", s.id, vm.pid)

        with contextlib.suppress(NotFound):
            self.edit(server_id, shutoff)
        self.spawn_task(vm.detach())

    async def _halt(self, server_id: str, graceful: bool) -> str | None:
        """End QEMU; how: "acpi" (the guest powered off when asked) or "forced" (None: no VM)."""
        vm = self.vms.get(server_id)
        if vm is None:
            return None
        if graceful and vm.qmp is not None:
            with contextlib.suppress(Exception):
                await vm.qmp.execute("system_powerdown", timeout=self.settings.qmp_timeout)
            if await vm.wait(self.settings.shutdown_timeout):
                return "acpi"
            with contextlib.suppress(Exception):
                await vm.qmp.execute("quit", timeout=self.settings.qmp_timeout)
            if await vm.wait(10.0):
                return "forced"
        await vm.kill()
        return "forced"

    # -- actions -------------------------------------------------------------------------------

    async def stop(self, who: Principal, server_id: str) -> None:
        server = self.get(who, server_id)
        require_writer(who, "stop")
        self.locks.busy(server, "stop")
        if server.status != "ACTIVE":
            raise Conflict(
                f"Instance {server.id} is {server.status}, not ACTIVE.", kind="conflictingRequest"
            )
        self.edit(server_id, lambda s: setattr(s, "task", "powering-off"))
        self.spawn_task(self._stop(server_id))

    async def _stop(self, server_id: str) -> None:
        async with self.locks.lock(server_id):
            how = await self._halt(server_id, graceful=True)
            server = self.load(server_id)
            for p in server.ports:
                await self.networks.unplug(p["port_id"])

            def stopped(s: Server) -> None:
                s.status, s.task, s.pid = "SHUTOFF", None, None
                s.power_off = how

            self.edit(server_id, stopped)
            log.info("server %s stopped", server_id)

    async def start_server(self, who: Principal, server_id: str) -> None:
        server = self.get(who, server_id)
        require_writer(who, "start")
        self.locks.busy(server, "start")
        if server.status != "SHUTOFF":
            raise Conflict(
                f"Instance {server.id} is {server.status}, not SHUTOFF.", kind="conflictingRequest"
            )
        self.edit(server_id, lambda s: setattr(s, "task", "powering-on"))
        self.spawn_task(self._start(server_id))

    async def _start(self, server_id: str) -> None:
        async with self.locks.lock(server_id):
            try:
                await self.launch(self.load(server_id))
            except Exception as exc:
                log.warning("server %s failed to start: %s", server_id, exc)
                message = f"Start failed: {exc}"[:255]

                def failed(s: Server) -> None:
                    s.task = None
                    s.fault = {"code": 500, "message": message, "created": self.clock()}

                self.edit(server_id, failed)
                return

            def active(s: Server) -> None:
                s.status, s.task, s.launched_at = "ACTIVE", None, self.clock()

            self.edit(server_id, active)

    async def reboot(self, who: Principal, server_id: str, kind: Literal["SOFT", "HARD"]) -> None:
        """Reset the VM (both kinds: the test guest has no ACPI reboot to wait for)."""
        server = self.get(who, server_id)
        require_writer(who, "reboot")
        self.locks.busy(server, "reboot")
        vm = self.vms.get(server_id)
        if server.status != "ACTIVE" or vm is None or vm.qmp is None:
            raise Conflict(f"Instance {server.id} is not running.", kind="conflictingRequest")
        async with self.locks.lock(server_id):
            await vm.qmp.execute("system_reset", timeout=self.settings.qmp_timeout)

    async def delete(self, who: Principal, server_id: str) -> None:
        server = self.get(who, server_id)
        require_writer(who, "delete")
        if server.task == "deleting":
            return
        self.edit(server_id, lambda s: setattr(s, "task", "deleting"))
        self.spawn_task(self._delete(server_id))

    async def _delete(self, server_id: str) -> None:
        async with self.locks.lock(server_id):
            try:
                await self._halt(server_id, graceful=False)
                server = self.load(server_id)
                await self.volumes.detach_all(server)
                for p in server.ports:
                    await self.networks.release(p["port_id"], delete=p["created"])
                shutil.rmtree(self.instance_dir(server_id), ignore_errors=True)
                self.store.delete(server_id)
                log.info("server %s deleted", server_id)
            except Exception as exc:
                log.warning("server %s: delete failed: %s", server_id, exc)
                with contextlib.suppress(NotFound):
                    message = f"Delete failed: {exc}"
                    self.edit(server_id, lambda s: self._fail(s, message))
        self.locks.forget(server_id)

    def refuse_action(self, who: Principal, server_id: str, action: str) -> None:
        """A Nova action this compute does not do: 404 or 403 as for any action, else 501."""
        self.get(who, server_id)
        require_writer(who, action)

    def console(self, who: Principal, server_id: str, length: int | None) -> str:
        """The tail of the serial console (``length`` lines; all, up to 1 MiB, if None)."""
        self.get(who, server_id)
        path = self.instance_dir(server_id) / "console.log"
        if not path.exists():
            return ""
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - CONSOLE_MAX))
            text = f.read().decode("utf-8", "replace")
        if length is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-length:]) if length > 0 else ""
        return text

    def addresses(self, server: Server) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for p in server.ports:
            try:
                port = self.networks.get_port(None, p["port_id"])
                net = self.networks.get_network(None, port.network_id)
            except NotFound:
                continue
            for fixed in port.fixed_ips:
                out.setdefault(net.name or net.id, []).append(
                    {
                        "addr": fixed["ip_address"],
                        "version": 4,
                        "OS-EXT-IPS:type": "fixed",
                        "OS-EXT-IPS-MAC:mac_addr": port.mac_address,
                    }
                )
        return out

    # -- service start and stop ------------------------------------------------------------------

    async def start(self) -> dict[str, list[str]]:
        """Adopt the QEMU processes still running; settle what a crash left half-done."""
        report: dict[str, list[str]] = {"adopted": [], "shutoff": [], "failed": []}
        for server in list(self.store.all()):
            if server.task == "deleting":
                self.spawn_task(self._delete(server.id))
                continue
            vm = None
            if server.pid is not None and server.pid_ticks is not None:
                try:
                    vm = await VmProcess.adopt(
                        server.pid, server.pid_ticks, server.id, Path(server.qmp)
                    )
                except Exception as exc:
                    log.warning("server %s: QEMU %s not adopted: %s", server.id, server.pid, exc)
            if vm is not None:
                self.vms[server.id] = vm
                vm.on_exit(self._exited)
                report["adopted"].append(server.id)
                self.edit(server.id, _adopted)
            elif server.status == "BUILD":
                report["failed"].append(server.id)
                self.edit(server.id, lambda s: self._fail(s, "Build interrupted by a restart"))
            else:
                if server.status == "ACTIVE":
                    report["shutoff"].append(server.id)
                self.edit(server.id, _not_running)
            if any(a.state != "attached" for a in server.volumes()):
                self.spawn_task(self.volumes.settle(server.id))
        log.info("servers: adopted %d, now SHUTOFF %d, failed %d", *map(len, report.values()))
        return report

    async def close(self) -> None:
        """Stop serving: tasks end, QEMU processes run on (a new service adopts them)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for vm in list(self.vms.values()):
            await vm.detach()
        self.vms.clear()
        await self.clients.close()
        self.store.close()


def _adopted(s: Server) -> None:
    if s.status in ("BUILD", "SHUTOFF", "ACTIVE"):
        s.status = "ACTIVE"
    s.task = None


def _not_running(s: Server) -> None:
    if s.status == "ACTIVE":
        s.status = "SHUTOFF"
    s.pid, s.task = None, None


def _private_dir(path: Path) -> None:
    """A server's directory: user_data, secrets and its disk are the service's alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def _accel(wanted: str) -> str:
    if wanted != "auto":
        return wanted
    try:
        with open("/dev/kvm", "rb"):
            return "kvm"
    except OSError:
        return "tcg"


__all__ = ["ComputeSettings", "ServerManager"]
