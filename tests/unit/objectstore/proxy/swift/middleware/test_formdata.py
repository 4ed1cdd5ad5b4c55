"""The streaming form reader: same parts whatever sizes the body arrives in."""

from __future__ import annotations

import pytest

from objectstore.proxy.swift.middleware import formdata

BOUNDARY = b"XyZ"
BODY = (
    b"\r\n--XyZ\r\n"
    b'Content-Disposition: form-data; name="expires"\r\n\r\n'
    b"123\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="f"; filename="a.txt"\r\n'
    b"Content-Type: text/x\r\n\r\n"
    b"line one\r\n--Xy\r\nmid--XyZ\r\nend\r\n"
    b"--XyZ--\r\n"
)


def reads_of(data: bytes, size: int) -> formdata.Read:
    pos = 0

    async def read(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + min(n, size)]
        pos += len(chunk)
        return chunk

    return read


async def collect(data: bytes, size: int, read_size: int = 3) -> list[tuple[dict[str, str], bytes]]:
    out: list[tuple[dict[str, str], bytes]] = []
    reader = formdata.FormReader(reads_of(data, size), BOUNDARY, chunk_size=5)
    async for part in reader.parts():
        headers = await part.headers()
        body = b""
        while chunk := await part.read(read_size):
            body += chunk
        out.append((headers, body))
    return out


@pytest.mark.parametrize("size", [1, 2, 5, 7, 64, 10_000])
async def test_parts_whatever_the_read_sizes(size: int) -> None:
    parts = await collect(BODY, size)
    assert parts == [
        ({"content-disposition": 'form-data; name="expires"'}, b"123"),
        (
            {
                "content-disposition": 'form-data; name="f"; filename="a.txt"',
                "content-type": "text/x",
            },
            b"line one\r\n--Xy\r\nmid--XyZ\r\nend",
        ),
    ]


async def test_unread_parts_are_skipped() -> None:
    reader = formdata.FormReader(reads_of(BODY, 4), BOUNDARY)
    names = []
    async for part in reader.parts():
        names.append((await part.headers())["content-disposition"])
    assert len(names) == 2


async def test_missing_closing_boundary_ends_the_last_part() -> None:
    parts = await collect(b"--XyZ\r\n\r\ntail without end", 4)
    assert parts == [({}, b"tail without end")]


async def test_invalid_start() -> None:
    with pytest.raises(formdata.MimeInvalid):
        await collect(b"garbage\r\n--XyZ\r\n\r\nx\r\n--XyZ--", 64)


async def test_header_bounds() -> None:
    long_line = b"--XyZ\r\nX-Long: " + b"a" * (formdata.MAX_HEADER_LINE + 10) + b"\r\n\r\nx"
    with pytest.raises(formdata.MimeHeadersTooLong):
        await collect(long_line, 1000)
    many = b"--XyZ\r\n" + b"X-H: v\r\n" * (formdata.MAX_HEADER_LINES + 1) + b"\r\nx"
    with pytest.raises(formdata.MimeHeadersTooLong):
        await collect(many, 1000)


def test_parse_content_disposition() -> None:
    parse = formdata.parse_content_disposition
    assert parse('form-data; name="a"; filename="b c.txt"') == (
        "form-data",
        {"name": "a", "filename": "b c.txt"},
    )
    assert parse("multipart/form-data; boundary=----x") == (
        "multipart/form-data",
        {"boundary": "----x"},
    )
    assert parse("text/plain") == ("text/plain", {})
