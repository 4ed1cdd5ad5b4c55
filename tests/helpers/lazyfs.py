"""A file system that forgets what was never made durable (Jepsen's LazyFS, in Python).

Everything passes through to a real backing directory at once, so a running
process sees an ordinary file system. Beside it the daemon keeps what a
power cut would take away:

- for every file, the content its pages had when they were last durable
  (saved at the first write or truncate after the last fsync / fdatasync,
  or a write through an ``O_SYNC`` / ``O_DSYNC`` descriptor), and its
  durable size;
- every create, mkdir, symlink, link, unlink, rmdir and rename that no
  fsync of the directory holding it has made durable (strict POSIX: fsync
  of a new file does not make its name durable; a rename is durable once
  either directory is fsynced).

``crash`` (over the control socket) is the power cut: unsynced data is put
back as it was (optionally torn: each unsynced page independently old or
new, and a random page-aligned part of the appended tail kept), unsynced
namespace changes are undone newest first, and the daemon unmounts and
exits. The processes using the mount must be dead by then (killed with
SIGKILL, as a power cut kills them); the test remounts the same backing
directory to "boot" again.

Run: ``python -m tests.helpers.lazyfs BACKING MOUNT CONTROL_SOCKET``; use
:class:`LazyFS` from tests. Needs ``/dev/fuse``, libfuse 3 (Debian ``fuse3``)
and mfusepy.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = 4096
_SYNC_FLAGS = os.O_SYNC | os.O_DSYNC
_STRIP_FLAGS = _SYNC_FLAGS | os.O_APPEND | getattr(os, "O_DIRECT", 0) | os.O_TRUNC


@dataclass
class FileUndo:
    """What a file looked like when it was last durable."""

    path: str  # where the inode is now (backing path), kept current across renames
    durable_size: int
    pages: dict[int, bytes] = field(default_factory=dict)  # page -> durable content


@dataclass
class NameOp:
    """One namespace change that is not durable yet, with what undoes it."""

    kind: str  # create | mkdir | unlink | rmdir | rename
    dirs: tuple[int, ...]  # directory inodes whose fsync makes it durable
    path: str  # the entry it made or removed (rename: the new name)
    ino: int = 0
    old: str = ""  # rename: the old name
    stash: str = ""  # unlink / rename-over: a hard link to the removed inode
    mode: int = 0o700  # rmdir: the mode to make it again with


class Forgetful:
    """The bookkeeping, without FUSE: every method takes backing paths."""

    def __init__(self, root: str, stash: str) -> None:
        self.root = root
        self.stash = stash
        self.files: dict[int, FileUndo] = {}
        self.ops: list[NameOp] = []
        self.lock = threading.Lock()
        self._stash_seq = 0
        self.stats = {"writes": 0, "fsyncs": 0, "fsyncdirs": 0, "dsync_writes": 0}

    # -- data --
    def _undo_for(self, fd: int, path: str) -> FileUndo:
        st = os.fstat(fd)
        u = self.files.get(st.st_ino)
        if u is None:
            u = self.files[st.st_ino] = FileUndo(path, st.st_size)
        return u

    def _save(self, fd: int, u: FileUndo, first_page: int, last_page: int) -> None:
        for page in range(first_page, last_page + 1):
            start = page * PAGE
            if page in u.pages or start >= u.durable_size:
                continue
            u.pages[page] = os.pread(fd, min(PAGE, u.durable_size - start), start)

    def before_write(self, fd: int, path: str, offset: int, length: int) -> None:
        if length <= 0:
            return
        u = self._undo_for(fd, path)
        self._save(fd, u, offset // PAGE, (offset + length - 1) // PAGE)

    def before_truncate(self, fd: int, path: str, length: int) -> None:
        u = self._undo_for(fd, path)
        size = os.fstat(fd).st_size
        if length < min(size, u.durable_size):
            self._save(fd, u, length // PAGE, (min(size, u.durable_size) - 1) // PAGE)

    def synced(self, fd: int) -> None:
        self.files.pop(os.fstat(fd).st_ino, None)

    def dsync_write(self, fd: int, offset: int, length: int) -> None:
        """An O_DSYNC write is durable when it returns, with the rest of the pages it touched."""
        st = os.fstat(fd)
        u = self.files.get(st.st_ino)
        if u is None:
            return
        for page in range(offset // PAGE, (offset + length - 1) // PAGE + 1):
            u.pages.pop(page, None)  # written back whole, as the kernel syncs pages
        u.durable_size = max(u.durable_size, min(st.st_size, offset + length))

    # -- names --
    def _dir_ino(self, path: str) -> int:
        return os.lstat(os.path.dirname(path)).st_ino

    def _stash(self, path: str) -> str:
        self._stash_seq += 1
        target = os.path.join(self.stash, f"{self._stash_seq}")
        if os.path.isdir(path) and not os.path.islink(path):
            os.rename(path, target)  # an empty directory replaced by rename
        else:
            os.link(path, target, follow_symlinks=False)
        self._moved(path, target)
        return target

    def _moved(self, old: str, new: str) -> None:
        """Data undo follows the inode; name ops keep the names of their time (undone newest
        first, each finds the names as they were just after it)."""
        prefix = old + os.sep
        for u in self.files.values():
            if u.path == old:
                u.path = new
            elif u.path.startswith(prefix):
                u.path = new + u.path[len(old) :]

    def created(self, path: str, kind: str = "create") -> None:
        ino = os.lstat(path).st_ino
        self.ops.append(NameOp(kind, (self._dir_ino(path),), path, ino=ino))

    def before_unlink(self, path: str) -> None:
        st = os.lstat(path)
        stash = self._stash(path)
        self.ops.append(NameOp("unlink", (self._dir_ino(path),), path, ino=st.st_ino, stash=stash))

    def before_rmdir(self, path: str) -> None:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        self.ops.append(NameOp("rmdir", (self._dir_ino(path),), path, mode=mode))

    def rename(self, old: str, new: str) -> None:
        stash = ""
        if os.path.lexists(new):
            if os.path.isdir(new) and not os.path.islink(new) and os.listdir(new):
                raise OSError(errno.ENOTEMPTY, "directory not empty", new)
            stash = self._stash(new)
        dirs = (self._dir_ino(old), self._dir_ino(new))
        ino = os.lstat(old).st_ino
        os.rename(old, new)
        self._moved(old, new)
        self.ops.append(NameOp("rename", dirs, new, ino=ino, old=old, stash=stash))

    def dir_synced(self, dir_ino: int) -> None:
        keep = []
        durable_inos = set()
        for op in self.ops:
            if dir_ino in op.dirs:
                if op.stash and os.path.lexists(op.stash):
                    _remove(op.stash)
                if op.kind == "rename":
                    durable_inos.add(op.ino)
            else:
                keep.append(op)
        # The inode a durable rename put in place exists, wherever it was created.
        self.ops = [
            op for op in keep if not (op.kind in ("create", "mkdir") and op.ino in durable_inos)
        ]

    # -- the power cut --
    def crash(self, torn: bool, seed: int | None) -> dict[str, object]:
        rnd = random.Random(seed)
        pages = 0
        for u in self.files.values():
            if not os.path.lexists(u.path):
                continue
            with contextlib.suppress(OSError):
                fd = os.open(u.path, os.O_RDWR)
                try:
                    size = u.durable_size
                    if torn:
                        tail = max(0, os.fstat(fd).st_size - size) // PAGE
                        size += PAGE * rnd.randint(0, tail)
                    os.ftruncate(fd, size)
                    for page, content in u.pages.items():
                        if torn and rnd.random() < 0.5:
                            continue
                        os.pwrite(fd, content, page * PAGE)
                        pages += 1
                finally:
                    os.close(fd)
        undone, paths = 0, []
        for op in reversed(self.ops):
            with contextlib.suppress(OSError):
                _undo(op)
                undone += 1
                paths.append(f"{op.kind} {os.path.relpath(op.path, self.root)}")
        self.files.clear()
        self.ops.clear()
        shutil.rmtree(self.stash, ignore_errors=True)
        return {"pages_restored": pages, "name_ops_undone": undone, "undone": paths[::-1][:8]}


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _undo(op: NameOp) -> None:
    if op.kind in ("create", "mkdir"):
        if os.path.lexists(op.path):
            _remove(op.path)
    elif op.kind == "unlink":
        if os.path.lexists(op.path):
            _remove(op.path)
        os.link(op.stash, op.path, follow_symlinks=False)
    elif op.kind == "rmdir":
        os.mkdir(op.path, op.mode)
    elif op.kind == "rename":
        if os.path.lexists(op.path):
            os.rename(op.path, op.old)
        if op.stash:
            if os.path.isdir(op.stash) and not os.path.islink(op.stash):
                os.rename(op.stash, op.path)
            else:
                os.link(op.stash, op.path, follow_symlinks=False)


def _operations(root: str, state: Forgetful):
    import mfusepy as fuse

    def full(path: str) -> str:
        return os.path.join(root, path.lstrip("/"))

    class Ops(fuse.Operations):
        use_ns = True

        def __init__(self) -> None:
            self.sync_fds: set[int] = set()

        def __getattribute__(self, name):
            value = super().__getattribute__(name)
            if (
                name.startswith("_")
                or not callable(value)
                or not hasattr(fuse.Operations, name)
                or getattr(value, "libfuse_ignore", False)  # not implemented here
            ):
                return value

            def locked(*args):
                with state.lock:  # the control thread's crash waits for the call in flight
                    return value(*args)

            return locked

        def getattr(self, path, fh=None):
            st = os.fstat(fh) if fh is not None and path is None else os.lstat(full(path))
            keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_ino")
            out = {k: getattr(st, k) for k in keys}
            out.update(
                st_atime=st.st_atime_ns,
                st_mtime=st.st_mtime_ns,
                st_ctime=st.st_ctime_ns,
                st_blocks=st.st_blocks,
            )
            return out

        def readdir(self, path, fh):
            return [".", "..", *os.listdir(full(path))]

        def readlink(self, path):
            return os.readlink(full(path))

        def statfs(self, path):
            sv = os.statvfs(full(path))
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree")
            return {k: getattr(sv, k) for k in (*keys, "f_files", "f_frsize", "f_namemax")}

        def chmod(self, path, mode):
            os.chmod(full(path), mode)
            return 0

        def chown(self, path, uid, gid):
            os.lchown(full(path), uid, gid)
            return 0

        def utimens(self, path, times=None):
            if times is None:
                os.utime(full(path), follow_symlinks=False)
            else:
                os.utime(full(path), ns=times, follow_symlinks=False)
            return 0

        def access(self, path, amode):
            if not os.access(full(path), amode):
                raise OSError(errno.EACCES, "access")
            return 0

        def _open(self, path, flags, mode=0o600):
            p = full(path)
            if flags & os.O_TRUNC and os.path.exists(p):
                fd = os.open(p, os.O_RDWR)
                try:
                    state.before_truncate(fd, p, 0)
                    os.ftruncate(fd, 0)
                finally:
                    os.close(fd)
            access = os.O_RDWR if not stat.S_ISDIR(os.stat(p).st_mode) else os.O_RDONLY
            fd = os.open(p, (flags & ~(_STRIP_FLAGS | os.O_ACCMODE)) | access, mode)
            if flags & _SYNC_FLAGS:
                self.sync_fds.add(fd)
            return fd

        def open(self, path, flags):
            return self._open(path, flags)

        def create(self, path, mode, fi=None):
            flags = int(fi or 0)  # mfusepy passes the open flags here (raw_fi is off)
            p = full(path)
            existed = os.path.lexists(p)
            fd = os.open(p, (flags & ~(_STRIP_FLAGS | os.O_ACCMODE)) | os.O_RDWR | os.O_CREAT, mode)
            if flags & _SYNC_FLAGS:
                self.sync_fds.add(fd)
            if not existed:
                state.created(p)
            elif flags & os.O_TRUNC:
                state.before_truncate(fd, p, 0)
                os.ftruncate(fd, 0)
            return fd

        def read(self, path, size, offset, fh):
            return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):
            state.stats["writes"] += 1
            state.before_write(fh, full(path) if path else "", offset, len(data))
            n = os.pwrite(fh, data, offset)
            if fh in self.sync_fds:
                state.stats["dsync_writes"] += 1
                state.dsync_write(fh, offset, n)
            return n

        def truncate(self, path, length, fh=None):
            if fh is None:
                fd = os.open(full(path), os.O_RDWR)
                try:
                    state.before_truncate(fd, full(path), length)
                    os.ftruncate(fd, length)
                finally:
                    os.close(fd)
            else:
                state.before_truncate(fh, full(path) if path else "", length)
                os.ftruncate(fh, length)
            return 0

        def fallocate(self, path, mode, offset, size, fh):
            state.before_write(fh, full(path) if path else "", offset, size)
            libc = ctypes.CDLL(None, use_errno=True)
            fallocate = libc.fallocate
            fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
            if fallocate(fh, mode, offset, size) != 0:
                raise OSError(ctypes.get_errno(), "fallocate")
            return 0

        def fsync(self, path, datasync, fh):
            state.stats["fsyncs"] += 1
            if fh in self.sync_fds:
                # The kernel follows every write through an O_SYNC / O_DSYNC descriptor with
                # an fsync of the file, and FUSE carries no range: that write was already
                # made durable by its own range (dsync_write); the rest of the file was not.
                return 0
            state.synced(fh)
            return 0

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            self.sync_fds.discard(fh)
            os.close(fh)
            return 0

        def opendir(self, path):
            return os.open(full(path), os.O_RDONLY | os.O_DIRECTORY)

        def releasedir(self, path, fh):
            os.close(fh)
            return 0

        def fsyncdir(self, path, datasync, fh):
            state.stats["fsyncdirs"] += 1
            state.dir_synced(os.fstat(fh).st_ino)
            return 0

        def mkdir(self, path, mode):
            os.mkdir(full(path), mode)
            state.created(full(path), "mkdir")
            return 0

        def rmdir(self, path):
            state.before_rmdir(full(path))
            os.rmdir(full(path))
            return 0

        def unlink(self, path):
            state.before_unlink(full(path))
            os.unlink(full(path))
            return 0

        def symlink(self, target, source):
            os.symlink(source, full(target))
            state.created(full(target))
            return 0

        def link(self, target, source):
            os.link(full(source), full(target))
            state.created(full(target))
            return 0

        def rename(self, old, new):
            state.rename(full(old), full(new))
            return 0

        def lseek(self, path, offset, whence, fh):
            # SEEK_DATA / SEEK_HOLE answered by the backing file: without it the kernel
            # calls a sparse file all data, and hole-keeping copies copy every byte.
            return os.lseek(fh, offset, whence)

    return Ops()


def _fuse_class():
    import mfusepy as fuse

    class FUSE(fuse.FUSE):
        """mfusepy declares libfuse's lseek callback but has no wrapper for it."""

        def lseek(self, path, offset, whence, fip):
            fh = fip.contents if self.raw_fi else fip.contents.fh
            name = None if path is None else path.decode(self.encoding, self.errors)
            return self.operations.lseek(name, offset, whence, fh)

    return FUSE


def _control(sock_path: str, mount: str, state: Forgetful) -> None:
    """Serve crash / stats / stop commands, one JSON line each."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        with conn:
            req = json.loads(conn.makefile().readline() or "{}")
            cmd = req.get("cmd")
            if cmd == "stats":
                with state.lock:
                    reply = {
                        **state.stats,
                        "dirty_files": len(state.files),
                        "name_ops": len(state.ops),
                    }
                conn.sendall((json.dumps(reply) + "\n").encode())
                continue
            state.lock.acquire()  # held until exit: nothing may change after the cut
            reply = {}
            if cmd == "crash":
                reply = state.crash(bool(req.get("torn")), req.get("seed"))
            conn.sendall((json.dumps(reply) + "\n").encode())
            subprocess.run(["fusermount3", "-u", "-z", mount], check=False)
            os._exit(0)


def _orphan_watch(mount: str) -> None:
    """The test that started this daemon died (killed by a timeout, a cancelled CI job):
    unmount and exit, rather than leave a mount behind that nobody will take down."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    subprocess.run(["fusermount3", "-u", "-z", mount], check=False)
    os._exit(1)


def main(argv: list[str]) -> None:
    backing, mount, sock_path = (os.path.abspath(a) for a in argv[:3])
    stash = backing.rstrip("/") + ".lazyfs-stash"
    shutil.rmtree(stash, ignore_errors=True)
    os.makedirs(stash, mode=0o700)
    state = Forgetful(backing, stash)
    threading.Thread(target=_control, args=(sock_path, mount, state), daemon=True).start()
    threading.Thread(target=_orphan_watch, args=(mount,), daemon=True).start()
    _fuse_class()(_operations(backing, state), mount, foreground=True, nothreads=True)


class LazyFS:
    """A LazyFS mount for one test: start, crash (the power cut), stop; always unmounted."""

    def __init__(self, backing: Path, mount: Path, control: Path, log: Path) -> None:
        self.backing, self.mount, self.control, self.log = backing, mount, control, log
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def under(cls, root: Path) -> LazyFS:
        """One whose backing dir, mount point, control socket and log are all in ``root``."""
        return cls(root / "backing", root / "mnt", root / "ctl", root / "lazyfs.log")

    def __enter__(self) -> LazyFS:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for path in (self.backing, self.mount):  # private, parents too (services check)
            for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
                missing.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.control.unlink()
        root = Path(__file__).resolve().parents[2]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.helpers.lazyfs", str(self.backing),
                 str(self.mount), str(self.control)],
                cwd=root, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while not (os.path.ismount(self.mount) and self.control.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self._reap()  # never leave a daemon or a mount behind
                raise AssertionError(f"lazyfs did not mount:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def _ask(self, req: dict) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(str(self.control))
            s.sendall((json.dumps(req) + "\n").encode())
            return json.loads(s.makefile().readline() or "{}")

    def stats(self) -> dict:
        return self._ask({"cmd": "stats"})

    def _end(self, req: dict) -> dict:
        reply = self._ask(req) if self.proc and self.proc.poll() is None else {}
        self._reap()
        return reply

    def crash(self, *, torn: bool = False, seed: int | None = None) -> dict:
        """The power cut: unsynced data and names are lost; the mount goes away."""
        return self._end({"cmd": "crash", "torn": torn, "seed": seed})

    def stop(self) -> None:
        """A clean unmount: everything written stays (the page cache got written back)."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self._end({"cmd": "stop"})
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
        if os.path.ismount(self.mount):
            subprocess.run(["fusermount3", "-u", "-z", str(self.mount)], check=False)


if __name__ == "__main__":
    main(sys.argv[1:])
