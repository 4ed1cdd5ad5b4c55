from __future__ import annotations

import pytest

from s3compat import objects
from s3compat.errors import S3Error


@pytest.mark.parametrize(
    "value,spec",
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, None)),
        ("bytes=-3", (None, 3)),
        ("bytes=0-1,4-5", None),  # several ranges: the whole object, as S3 does
        ("bytes=9-2", None),
        ("items=0-1", None),
        ("bytes=-", None),
        (None, None),
    ],
)
def test_parse_range(value: str | None, spec: object) -> None:
    assert objects.parse_range(value) == spec


def test_resolve_range() -> None:
    assert objects.resolve_range((0, 9), 100) == (0, 10)
    assert objects.resolve_range((90, 200), 100) == (90, 100)
    assert objects.resolve_range((None, 10), 100) == (90, 100)
    assert objects.resolve_range((None, 500), 100) == (0, 100)
    for spec in ((100, None), (None, 0)):
        with pytest.raises(S3Error) as exc:
            objects.resolve_range(spec, 100)
        assert exc.value.code == "InvalidRange"
        assert exc.value.headers["Content-Range"] == "bytes */100"
