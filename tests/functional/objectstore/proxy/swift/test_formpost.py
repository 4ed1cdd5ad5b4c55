"""FormPost through the native API on a real cluster: forms as browsers send them."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.objectstore.conftest import Cluster, Reply, SwiftHTTP
from tests.functional.objectstore.proxy.swift.test_tempurl import keyed_account

ACCOUNT = "/v1/AUTH_fp"
BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
FileSpec = tuple[str, bytes, str | None]  # filename, data, part Content-Type


def form_signature(
    key: str,
    path: str,
    redirect: str,
    max_file_size: int,
    max_file_count: int,
    expires: int,
    digest: Callable[..., Any] = hashlib.sha256,
) -> str:
    hmac_body = f"{path}\n{redirect}\n{max_file_size}\n{max_file_count}\n{expires}"
    return hmac.new(key.encode(), hmac_body.encode(), digest).hexdigest()


def multipart(fields: list[tuple[str, str]], files: list[FileSpec]) -> bytes:
    """A body as a browser builds it: fields first, then each file input."""
    out = b""
    for name, value in fields:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for i, (filename, data, ctype) in enumerate(files):
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file{i}"; '
        head += f'filename="{filename}"\r\n'
        if ctype is not None:
            head += f"Content-Type: {ctype}\r\n"
        out += head.encode() + b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


class Form:
    """Signed form posts to one path."""

    def __init__(self, swift: SwiftHTTP) -> None:
        self.swift = swift

    def fields(
        self,
        path: str,
        *,
        key: str = "akey",
        redirect: str = "",
        max_file_size: int = 1024,
        max_file_count: int = 2,
        expires: int | None = None,
        digest: Callable[..., Any] = hashlib.sha256,
    ) -> list[tuple[str, str]]:
        expires = expires or int(time.time() + 60)
        sig = form_signature(key, path, redirect, max_file_size, max_file_count, expires, digest)
        out = [("redirect", redirect)] if redirect else []
        return [
            *out,
            ("max_file_size", str(max_file_size)),
            ("max_file_count", str(max_file_count)),
            ("expires", str(expires)),
            ("signature", sig),
        ]

    async def post(
        self, path: str, fields: list[tuple[str, str]], files: list[FileSpec], **kw: Any
    ) -> Reply:
        ctype = f"multipart/form-data; boundary={BOUNDARY}"
        return await self.raw(path, multipart(fields, files), ctype)

    async def raw(self, path: str, body: bytes, ctype: str) -> Reply:
        """POST as a browser would, but see the 303 itself rather than follow it."""
        url = self.swift.base + path
        headers = {"Content-Type": ctype}
        async with self.swift.session.post(
            url, data=body, headers=headers, allow_redirects=False
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def send(self, path: str, files: list[FileSpec], **kw: Any) -> Reply:
        extra = kw.pop("extra", [])
        return await self.post(path, self.fields(path, **kw) + extra, files)


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    return await keyed_account(cluster, swift, "fp")


@pytest.fixture
def form(swift: SwiftHTTP) -> Form:
    return Form(swift)


async def test_upload_files(swift: SwiftHTTP, form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/pre/"
    files: list[FileSpec] = [("a.txt", b"hello", "text/x-a"), ("b.txt", b"second", None)]
    r = await form.send(path, files)
    assert (r.status, r.body, r.headers["Content-Type"]) == (201, b"201 Created", "text/plain")
    r = await swift("GET", f"{ACCOUNT}/c/pre/a.txt", token=tok)
    assert (r.body, r.headers["Content-Type"]) == (b"hello", "text/x-a")
    r = await swift("GET", f"{ACCOUNT}/c/pre/b.txt", token=tok)
    assert (r.body, r.headers["Content-Type"]) == (b"second", "text/plain")  # guessed
    # To a container (with or without the slash) and to a name prefix.
    for target, name in (
        (f"{ACCOUNT}/c", "top"),
        (f"{ACCOUNT}/c/", "top2"),
        (f"{ACCOUNT}/c/x-", "y"),
    ):
        assert (await form.send(target, [(name, b"t", None)])).status == 201
    listing = (await swift("GET", f"{ACCOUNT}/c", token=tok)).text.split()
    assert listing == ["pre/a.txt", "pre/b.txt", "top", "top2", "x-y"]


async def test_large_file_streams(swift: SwiftHTTP, form: Form, tok: str) -> None:
    data = bytes(range(256)) * 12_000  # ~3 MiB, in many reads
    r = await form.send(f"{ACCOUNT}/c/", [("big", data, None)], max_file_size=len(data))
    assert r.status == 201
    r = await swift("GET", f"{ACCOUNT}/c/big", token=tok)
    assert r.headers["Etag"] == hashlib.md5(data).hexdigest()


async def test_redirect(form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/"
    for redirect, joiner in (("https://example.com/done", "?"), ("https://e.com/x?a=1", "&")):
        r = await form.send(path, [("r.txt", b"r", None)], redirect=redirect)
        location = f"{redirect}{joiner}status=201&message="
        assert (r.status, r.headers["Location"]) == (303, location)
        page = f'<html><body><p><a href="{location}">Click to continue...</a></p></body></html>'
        assert r.body == page.encode()
        assert "Content-Type" not in r.headers
    r = await form.send(
        path, [("1", b"1", None), ("2", b"2", None)], redirect="https://e.com/", max_file_count=1
    )
    assert (
        r.headers["Location"] == "https://e.com/?status=400&message=max%20file%20count%20exceeded"
    )


async def test_signatures(swift: SwiftHTTP, form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/"
    one: list[FileSpec] = [("s", b"s", None)]
    for digest in (hashlib.sha1, hashlib.sha256, hashlib.sha512):
        assert (await form.send(path, one, digest=digest)).status == 201
    for kw in ({"key": "wrong"}, {"digest": hashlib.md5}):
        r = await form.send(path, one, **kw)
        assert (r.status, r.body) == (401, b"FormPost: Invalid Signature"), kw
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert r.headers["Www-Authenticate"] == 'Swift realm="unknown"'
    fields = form.fields(path)
    fields[-1] = ("signature", fields[-1][1][:-1] + "0")
    assert (await form.post(path, fields, one)).body == b"FormPost: Invalid Signature"
    fields = form.fields(path, max_file_size=1024)
    fields[0] = ("max_file_size", "2048")  # a field changed after signing
    assert (await form.post(path, fields, one)).status == 401
    r = await form.send(path, one, expires=int(time.time() - 1))
    assert (r.status, r.body) == (401, b"FormPost: Form Expired")
    r = await form.send(ACCOUNT, one)  # an account: no keys to sign with
    assert (r.status, r.body) == (401, b"FormPost: Invalid Signature")
    # Key 2 and the container's keys sign too; removing a key revokes it.
    await swift("POST", ACCOUNT, token=tok, headers={"X-Account-Meta-Temp-URL-Key-2": "k2"})
    await swift("POST", f"{ACCOUNT}/c", token=tok, headers={"X-Container-Meta-Temp-URL-Key": "ck"})
    for key in ("k2", "ck"):
        assert (await form.send(path, one, key=key)).status == 201, key
    await swift("POST", f"{ACCOUNT}/c", token=tok, headers={"X-Container-Meta-Temp-URL-Key": ""})
    assert (await form.send(path, one, key="ck")).status == 401


async def test_limits(swift: SwiftHTTP, form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/"
    r = await form.send(path, [("exact", b"12345", None)], max_file_size=5)
    assert r.status == 201
    r = await form.send(path, [("over", b"123456", None)], max_file_size=5)
    assert (r.status, r.body) == (400, b"FormPost: max_file_size exceeded")
    assert r.headers["Content-Type"] == "text/plain"
    assert (await swift("HEAD", f"{ACCOUNT}/c/over", token=tok)).status == 404
    r = await form.send(path, [("first", b"1", None), ("second", b"2", None)], max_file_count=1)
    assert (r.status, r.body) == (400, b"400 Bad Request\r\nFormPost: Max File Count Exceeded")
    assert (await swift("HEAD", f"{ACCOUNT}/c/first", token=tok)).status == 200
    assert (await swift("HEAD", f"{ACCOUNT}/c/second", token=tok)).status == 404
    r = await form.send(path, [])
    assert (r.status, r.body) == (400, b"400 Bad Request\r\nFormPost: No Files To Process")


async def test_bad_forms(form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/"
    one: list[FileSpec] = [("f", b"f", None)]
    ctype = f"multipart/form-data; boundary={BOUNDARY}"
    r = await form.raw(path, b"not a form", ctype)
    assert (r.status, r.body) == (400, b"FormPost: invalid starting boundary")
    for fields, message in (
        ([("max_file_count", "x")], "max_file_count not an integer"),
        ([("max_file_count", "1"), ("max_file_size", "x")], "max_file_size not an integer"),
        ([("max_file_count", "1"), ("expires", "x")], "expired not an integer"),
        (
            [*form.fields(path), ("x_delete_at", "x")],
            "x_delete_at not an integer: Unix timestamp required.",
        ),
        (
            [*form.fields(path), ("x_delete_after", "x")],
            "x_delete_after not an integer: Number of seconds required.",
        ),
    ):
        r = await form.post(path, fields, one)
        assert (r.status, r.body) == (400, f"FormPost: {message}".encode()), message
    # No max_file_count: no file may be sent, signed or not.
    r = await form.post(path, [("signature", "x")], one)
    assert r.body == b"400 Bad Request\r\nFormPost: Max File Count Exceeded"
    # Not a form with a boundary: an ordinary POST (no token: 401).
    r = await form.raw(path, b"x", "multipart/form-data")
    assert r.status == 401 and b"FormPost" not in r.body
    # The upload's own failure is the answer: no such container.
    r = await form.send(f"{ACCOUNT}/nope/", one)
    assert (r.status, r.headers["Content-Type"]) == (404, "text/plain")
    assert r.body == b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"


async def test_per_file_attributes(swift: SwiftHTTP, form: Form, tok: str) -> None:
    path = f"{ACCOUNT}/c/"
    extra = [("x_delete_after", "100"), ("content-type", "text/forced")]
    r = await form.send(path, [("d", b"d", "text/ignored")], extra=extra)
    assert r.status == 201
    r = await swift("HEAD", f"{ACCOUNT}/c/d", token=tok)
    assert r.headers["Content-Type"] == "text/forced"
    assert abs(int(r.headers["X-Delete-At"]) - (time.time() + 100)) < 10
    r = await form.send(path, [("old", b"d", None)], extra=[("x_delete_at", "10")])
    assert (r.status, r.body) == (400, b"X-Delete-At in past")
    # A field after the file does not govern it (the body is read once, in order).
    body = multipart(form.fields(path), [("late", b"l", None)])
    late = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content-type"\r\n\r\nx/late\r\n'
    body = body.replace(f"--{BOUNDARY}--".encode(), late.encode() + f"--{BOUNDARY}--".encode())
    r = await form.raw(path, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert r.status == 201
    r = await swift("HEAD", f"{ACCOUNT}/c/late", token=tok)
    assert r.headers["Content-Type"] == "application/octet-stream"
