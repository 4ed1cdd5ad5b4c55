"""The KV seam: both engines scan, isolate and commit alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from objectstore.node.kv import Engine, LmdbEngine, MemoryEngine


@pytest.fixture(params=["lmdb", "memory"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    eng = (
        LmdbEngine(str(tmp_path / "kv"), sync=False) if request.param == "lmdb" else MemoryEngine()
    )
    yield eng
    eng.close()


def _fill(engine: Engine, keys: list[bytes]) -> None:
    def fn(txn):
        for k in keys:
            txn.put("crows", k, b"v" + k)

    engine.write(fn)


def test_scans_forward_and_reverse(engine: Engine) -> None:
    _fill(engine, [b"a", b"b", b"c"])
    with engine.read() as txn:
        assert [k for k, _ in txn.scan("crows", b"b")] == [b"b", b"c"]
        assert [k for k, _ in txn.scan("crows", b"bb")] == [b"c"]
        assert [k for k, _ in txn.scan("crows", b"b", reverse=True)] == [b"a"]
        assert [k for k, _ in txn.scan("crows", b"bb", reverse=True)] == [b"b", b"a"]
        assert [k for k, _ in txn.scan("crows", b"", reverse=True)] == [b"c", b"b", b"a"]
        assert [k for k, _ in txn.scan("crows", b"z", reverse=True)] == [b"c", b"b", b"a"]
        assert list(txn.scan("objects", b"")) == []
        assert txn.get("crows", b"b") == b"vb"


def test_failed_write_leaves_nothing(engine: Engine) -> None:
    def fn(txn):
        txn.put("crows", b"x", b"1")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        engine.write(fn)
    with engine.read() as txn:
        assert txn.get("crows", b"x") is None


def test_reads_see_a_snapshot_and_writes_see_themselves(engine: Engine) -> None:
    _fill(engine, [b"a"])
    with engine.read() as snap:

        def fn(txn):
            txn.put("crows", b"b", b"2")
            txn.delete("crows", b"a")
            assert txn.get("crows", b"b") == b"2" and txn.get("crows", b"a") is None
            assert [k for k, _ in txn.scan("crows", b"")] == [b"b"]

        if isinstance(engine, MemoryEngine):
            engine.write(fn)
            assert snap.get("crows", b"a") == b"va"  # the old snapshot still reads "a"
    if isinstance(engine, LmdbEngine):
        engine.write(fn)
    with engine.read() as txn:
        assert [k for k, _ in txn.scan("crows", b"")] == [b"b"]


def test_garbage_is_unlinked_after_commit(engine: Engine, tmp_path: Path) -> None:
    victim = tmp_path / "old.data"
    victim.write_bytes(b"x")
    engine.write(lambda txn: txn.garbage.append(str(victim)))
    assert not victim.exists()
