from __future__ import annotations

import pytest

from s3compat.copy import parse_copy_source
from s3compat.errors import S3Error


def test_copy_sources() -> None:
    assert parse_copy_source("/bkt/a/b%20c.txt") == ("bkt", "a/b c.txt", None)
    assert parse_copy_source("bkt/k?versionId=abc") == ("bkt", "k", "abc")
    assert parse_copy_source("bkt/k%3FversionId%3Dx") == ("bkt", "k?versionId=x", None)


@pytest.mark.parametrize("bad", ["bkt", "/bkt/", "/B!/k", "bkt/k?other=1"])
def test_bad_copy_sources(bad: str) -> None:
    with pytest.raises(S3Error):
        parse_copy_source(bad)
