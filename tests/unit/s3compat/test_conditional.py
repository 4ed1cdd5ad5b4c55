from __future__ import annotations

import pytest

from s3compat import conditional
from s3compat.errors import S3Error

LM = 1700000000.2  # shown as ...:21 (rounded up)
BEFORE, AT, AFTER = (
    "Tue, 14 Nov 2023 22:13:00 GMT",
    "Tue, 14 Nov 2023 22:13:21 GMT",
    "Tue, 14 Nov 2023 23:00:00 GMT",
)


def _eval(headers: dict[str, str], **kw: object) -> str | None:
    try:
        conditional.evaluate(headers, "e1", LM, **kw)  # type: ignore[arg-type]
    except S3Error as err:
        return err.code
    return None


@pytest.mark.parametrize(
    "headers,result",
    [
        ({}, None),
        ({"if-match": '"e1"'}, None),
        ({"if-match": '"e2", "e1"'}, None),
        ({"if-match": "*"}, None),
        ({"if-match": '"e2"'}, "PreconditionFailed"),
        ({"if-none-match": '"e1"'}, "NotModified"),
        ({"if-none-match": '"e2"'}, None),
        ({"if-modified-since": AT}, "NotModified"),
        ({"if-modified-since": BEFORE}, None),
        ({"if-unmodified-since": BEFORE}, "PreconditionFailed"),
        ({"if-unmodified-since": AFTER}, None),
        # S3's documented pairs: If-Match true wins over If-Unmodified-Since false,
        ({"if-match": '"e1"', "if-unmodified-since": BEFORE}, None),
        # and If-None-Match false wins over If-Modified-Since true.
        ({"if-none-match": '"e2"', "if-modified-since": AFTER}, None),
        ({"if-modified-since": "garbage"}, None),
    ],
)
def test_reads(headers: dict[str, str], result: str | None) -> None:
    assert _eval(headers) == result


def test_copy_source_conditions_fail_with_412() -> None:
    p = "x-amz-copy-source-"
    assert _eval({p + "if-none-match": '"e1"'}, prefix=p) == "PreconditionFailed"
    assert _eval({p + "if-modified-since": AFTER}, prefix=p) == "PreconditionFailed"
    assert _eval({p + "if-match": '"e1"'}, prefix=p) is None
    assert _eval({"if-match": '"nope"'}, prefix=p) is None  # plain headers are not copy conditions
