"""Fuzz: looking a record up by any id a request can carry finds it or nothing.

Ids come from URL paths and JSON bodies (empty, 600 characters, lone
surrogates); LMDB refuses empty keys and keys over 511 bytes with an error,
which once surfaced as a 500 from the image, server and network APIs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compute_glue.records import RecordStore
from tests.helpers.fuzz import budget

IDS = st.sampled_from(["", "a" * 511, "a" * 512, "é" * 256, "\udcff", "\ud800x"]) | st.text()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RecordStore:
    s = RecordStore(Path(tmp_path_factory.mktemp("records")), ["t"])
    s.put("t", "a" * 511, {"n": 1})
    return s


@budget(200)
@given(key=IDS)
def test_fuzz_lookup_keys(store: RecordStore, key: str) -> None:
    found = store.get("t", key)
    assert found is None or (key == "a" * 511 and found == {"n": 1})
    with store.write() as t:
        assert t.delete("t", key + "-absent") is False
