"""Body sinks: MD5 on the way, inline under the threshold, durable files above it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from objectstore.node.bodies import BodySink, clean_tmp


def test_small_body_stays_in_memory(tmp_path: Path) -> None:
    sink = BodySink(str(tmp_path), 10)
    sink.write(b"hello")
    sink.write(b"world")
    assert sink.inline == b"helloworld" and sink.size == 10
    assert sink.etag == hashlib.md5(b"helloworld").hexdigest()
    assert not (tmp_path / "tmp").exists()


def test_large_body_spills_and_commits_to_its_final_name(tmp_path: Path) -> None:
    sink = BodySink(str(tmp_path), 4)
    sink.write(b"abc")
    sink.write(b"defg")
    assert sink.inline is None
    assert len(os.listdir(tmp_path / "tmp")) == 1
    rel = sink.commit_file(7, "ab" * 10, "0000000001.00000")
    assert rel.startswith("objects/7/")
    assert (tmp_path / rel).read_bytes() == b"abcdefg"
    assert os.listdir(tmp_path / "tmp") == []
    assert sink.etag == hashlib.md5(b"abcdefg").hexdigest()


def test_abort_removes_the_temp_file(tmp_path: Path) -> None:
    sink = BodySink(str(tmp_path), 0)
    sink.write(b"partial")
    sink.abort()
    assert os.listdir(tmp_path / "tmp") == []
    sink.abort()  # twice is harmless


def test_clean_tmp_after_a_crash(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "put-dead").write_bytes(b"x")
    assert clean_tmp(str(tmp_path)) == 1
    assert clean_tmp(str(tmp_path / "nowhere")) == 0
