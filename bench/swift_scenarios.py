"""The scripted requests of the Swift conformance check: data, one ``Scenario`` per behaviour.

Each scenario is a list of steps (``swift_replay.Step``) sent in order, as one of the
users of ``swift_replay.USERS`` (or anonymous), to Stratus and to Swift; every step's
answer is compared unless the step says otherwise. Paths are templates: ``{acct}`` the
owner's account, ``{acct2}`` another account, ``{qacct}`` an account of this run only
(account quotas and account keys are set there, never on the shared peer's accounts),
``{c}`` the scenario's container prefix (``conf<nonce>-<scenario>``), ``{n}`` the nonce.

``middleware=True`` marks the scenarios of issue 15's middlewares (SLO, DLO, TempURL,
FormPost, staticweb, symlinks, quotas, versioning, bulk); the others are core behaviours,
which the recorded-answers test replays against Stratus alone.
"""

from __future__ import annotations

import io
import tarfile

try:
    from swift_replay import FormPost, Scenario, Step, TempUrl
except ImportError:  # imported as bench.swift_scenarios (the tests)
    from bench.swift_replay import FormPost, Scenario, Step, TempUrl

C = "/v1/{acct}/{c}"  # the scenario's container
A = "/v1/{acct}"
MiB = 1 << 20


def step(method: str, path: str, body: str | bytes = b"", **kw: object) -> Step:
    headers = kw.pop("headers", None) or {}
    return Step(method, path, dict(headers), body, **kw)  # type: ignore[arg-type]


def put(path: str, body: str | bytes = b"x", **headers: str) -> Step:
    return Step("PUT", path, dict(headers), body)


def get(path: str, user: str = "owner", **headers: str) -> Step:
    return Step("GET", path, dict(headers), user=user)


def head(path: str, user: str = "owner", **headers: str) -> Step:
    return Step("HEAD", path, dict(headers), user=user)


def post(path: str, user: str = "owner", **headers: str) -> Step:
    return Step("POST", path, dict(headers), user=user)


def delete(path: str, user: str = "owner", **headers: str) -> Step:
    return Step("DELETE", path, dict(headers), user=user)


def h(**kw: str) -> dict[str, str]:
    """Header names from keywords: ``x_object_meta_a`` -> ``X-Object-Meta-A``."""
    return {"-".join(p.capitalize() for p in k.split("_")): v for k, v in kw.items()}


def auth(body: bool = True, **headers: str) -> Step:
    """GET /auth/v1.0 with these headers (``x_auth_user=`` ...), anonymous."""
    return Step("GET", "/auth/v1.0", h(**headers), user="anon", body_compare=body)


def _tar(files: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


LIST_NAMES = ["B", "a", "a-b", "a::x", "a::y::z", "b", "~", "%C3%A9", "%F0%9F%98%80", "x/y"]

# -- core: listings ------------------------------------------------------------------------

CORE: list[Scenario] = [
    Scenario(
        "listing-formats",
        "core:listings",
        (
            put(C),
            put(f"{C}/a%3C%26%3E", "abc", **{"Content-Type": "text/x"}),
            put(f"{C}/%C3%A9", ""),
            get(C),
            get(f"{C}?format=json"),
            get(f"{C}?format=xml"),
            get(f"{C}?format=XML"),
            get(f"{C}?format=bogus", Accept="application/json"),
            get(f"{C}?format=", Accept="application/json"),
            get(C, Accept="application/json"),
            get(C, Accept="application/xml"),
            get(C, Accept="text/xml"),
            get(C, Accept="text/*;q=0.5, application/json;q=0.5"),
            get(C, Accept="*/*;q=0.5, text/plain;q=0"),
            get(C, Accept="image/png"),
            get(C, Accept="garbage"),
            get(C, user="anon", Accept="image/png"),
            head(C, Accept="application/json"),
            get(f"{C}?format=%FF"),
            get(f"{C}?prefix=zz"),
            get(f"{C}?prefix=zz&format=json"),
            get(f"{C}?prefix=zz&format=xml"),
            get(f"{C}?format=xml&limit=1"),
            get(f"{C}?limit=10001"),
            get(f"{C}?limit=x"),
            get(f"{C}?limit=-1"),
            get(f"{C}?marker=%FF"),
        ),
    ),
    Scenario(
        "listing-order",
        "core:listings",
        (
            put(C),
            *(put(f"{C}/{name}") for name in LIST_NAMES),
            get(C),
            get(f"{C}?marker=a"),
            get(f"{C}?end_marker=b"),
            get(f"{C}?marker=a&end_marker=a::y::z"),
            get(f"{C}?reverse=true"),
            get(f"{C}?reverse=true&marker=a::x"),
            get(f"{C}?reverse=on&marker=b&end_marker=a::x"),
            get(f"{C}?reverse=yes&limit=2"),
            get(f"{C}?reverse=false&limit=2"),
            get(f"{C}?delimiter=::"),
            get(f"{C}?prefix=a::&delimiter=::"),
            get(f"{C}?prefix=a::&delimiter=::&format=json"),
            get(f"{C}?prefix=a::y&delimiter=::&format=xml"),
            get(f"{C}?delimiter=::&reverse=true&marker=b"),
            get(f"{C}?delimiter=/&format=json"),
            get(f"{C}?path=x"),
            get(f"{C}?delimiter=" + "-" * 40 + "&limit=1"),
            get(f"{C}?prefix=%C3%A9&format=json"),
        ),
    ),
    Scenario(
        "listing-account",
        "core:listings",
        (
            put(f"{C}-1"),
            put(f"{C}-2"),
            put(f"{C}::x"),
            get(f"{A}?prefix={{c}}"),
            get(f"{A}?prefix={{c}}&format=json"),
            get(f"{A}?prefix={{c}}&format=xml"),
            get(f"{A}?prefix={{c}}&delimiter=::"),
            get(f"{A}?prefix={{c}}&delimiter=::&format=xml"),
            get(f"{A}?prefix={{c}}&reverse=true"),
            get(f"{A}?prefix={{c}}&marker={{c}}-1"),
            get(f"{A}?prefix={{c}}&end_marker={{c}}-2"),
            get(f"{A}?prefix={{c}}&limit=1&format=json"),
            get(f"{A}?prefix={{c}}zz"),
            get(f"{A}?prefix={{c}}zz&format=json"),
            get(f"{A}?limit=10001"),
            get(A, Accept="image/png"),
            step("HEAD", f"{A}?prefix={{c}}", body_compare=False),
        ),
    ),
    # -- core: paths and errors -------------------------------------------------------------
    Scenario(
        "paths",
        "core:paths",
        (
            put(C),
            get("/v1"),
            get("/v1/"),
            get("/v1", user="anon"),
            get("/nothing"),
            get("/v2/{acct}"),
            get("/v1//c"),
            get("/v1/{acct}//o"),
            get(f"{C}/%FF"),
            get(f"{C}/a%00b"),
            get("/v1/{acct}/%C0%AF"),
            put("/v1/{acct}/" + "c" * 257, ""),
            get("/v1/{acct}/" + "c" * 257),
            put(f"{C}/" + "o" * 1025),
            get(f"{C}/" + "o" * 1025),
            put("/v1/{acct}/{c}-missing/" + "o" * 1025),
            get("/v1/AUTH_" + "a" * 252),
            get("/v1/{acct}/" + "c" * 257, user="anon"),
            get(f"{C}/o?multipart-manifest=bogus"),
            step("PATCH", f"{C}/o"),
            step("OPTIONS", f"{C}/o"),
            step("OPTIONS", C),
            step("OPTIONS", A),
            get("/healthcheck"),
        ),
    ),
    Scenario(
        "errors",
        "core:errors",
        (
            put(C),
            get(f"{C}-missing"),
            head(f"{C}-missing"),
            get(f"{C}/missing"),
            head(f"{C}/missing"),
            delete(f"{C}/missing"),
            post(f"{C}/missing"),
            post(f"{C}-missing"),
            put(f"{C}-missing/o"),
            put(f"{C}/o", "data"),
            delete(C),
            put(f"{C}/e", "data", Etag="0" * 32),
            put(f"{C}/e", "data", Etag="8d777f385d3dfec8815d20f7496026dc"),
            put(f"{C}/e", "data", Etag='"8d777f385d3dfec8815d20f7496026dc"'),
            put(f"{C}/t", "x", **{"Content-Type": "a/b; swift_x=1"}),
            put(f"{C}/t", "x", **{"If-None-Match": "abc"}),
            put(f"{C}/o", "x", **{"If-None-Match": "*"}),
            put(f"{C}/t", "x", **{"X-Delete-After": "0"}),
            put(f"{C}/t", "x", **{"X-Delete-After": "1.5"}),
            put(f"{C}/t", "x", **{"X-Delete-At": "soon"}),
            put(f"{C}/t", "x", **{"X-Delete-At": "1000"}),
            post(f"{C}/o", **{"X-Delete-After": "-5"}),
            put(f"{C}/far", "x", **{"X-Delete-At": "99999999999"}),
            head(f"{C}/far"),
            get(f"{C}/o", **{"X-Auth-Token": "AUTH_tk_bogus"}),
            get(f"{C}/o", user="anon"),
            get(f"{C}/o", user="other"),
            step("PUT", C, user="acl"),
            put("/v1/{acct2}/{c}", ""),
        ),
    ),
    Scenario(
        "auth",
        "core:auth",
        (
            auth(x_auth_user="test:tester", x_auth_key="bad"),
            auth(x_auth_user="test:nobody", x_auth_key="x"),
            auth(x_auth_user="tester", x_auth_key="x"),
            auth(),
            auth(x_auth_user="test:tester"),
            # a token: the body (and its URL) is not compared
            auth(False, x_storage_user="test:tester", x_storage_pass="testing"),
            auth(False, x_auth_user="test:tester", x_auth_key="testing"),
        ),
    ),
    # -- core: objects ----------------------------------------------------------------------
    Scenario(
        "metadata",
        "core:metadata",
        (
            put(C),
            put(f"{C}/o", "x", **{"X-Object-Meta-": "v"}),
            put(f"{C}/o", "x", **{"X-Object-Meta-" + "n" * 129: "v"}),
            put(f"{C}/o", "x", **{"X-Object-Meta-Big": "v" * 257}),
            put(f"{C}/o", "x", **{f"X-Object-Meta-K{i}": "v" for i in range(91)}),
            put(f"{C}/o", "x", **{f"X-Object-Meta-K{i}": "v" * 250 for i in range(17)}),
            put(f"{C}/o", "x", **{"X-Object-Meta-" + "n" * 128: "v" * 256}),
            head(f"{C}/o"),
            post(f"{C}/o", **{"X-Object-Meta-" + "n" * 129: "v"}),
            post(f"{C}/o", **{f"X-Object-Meta-K{i}": "v" for i in range(91)}),
            post(f"{C}/o", **{"X-Object-Meta-Color": "blue", "Content-Type": "text/x"}),
            head(f"{C}/o"),
            post(C, **{"X-Container-Meta-" + "n" * 129: "v"}),
            post(C, **{"X-Container-Meta-Big": "v" * 257}),
            post(C, **{"X-Container-Meta-Color": "red"}),
            head(C),
            post(C, **{"X-Remove-Container-Meta-Color": "x"}),
            head(C),
            post(A, **{"X-Account-Meta-" + "n" * 129: "v"}),
            post(f"{C}/o", **{"X-Object-Meta-Utf8": "\u00e9t\u00e9"}),
            head(f"{C}/o"),
        ),
    ),
    Scenario(
        "objects",
        "core:objects",
        (
            put(C),
            put(f"{C}/file.txt", "hello"),
            put(f"{C}/file.html", "<p>"),
            put(f"{C}/noext", "x"),
            put(f"{C}/typed", "x", **{"Content-Type": "image/png"}),
            head(f"{C}/file.txt"),
            head(f"{C}/file.html"),
            head(f"{C}/noext"),
            get(f"{C}/typed"),
            get(f"{C}/file.txt", **{"If-Match": '"5d41402abc4b2a76b9719d911017c592"'}),
            get(f"{C}/file.txt", **{"If-Match": '"nope"'}),
            get(f"{C}/file.txt", **{"If-None-Match": '"5d41402abc4b2a76b9719d911017c592"'}),
            get(f"{C}/file.txt", **{"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
            get(f"{C}/file.txt", **{"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
            get(f"{C}/file.txt", **{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
            put(f"{C}/file.txt", "again", **{"X-Detect-Content-Type": "true"}),
            put(f"{C}/empty", ""),
            get(f"{C}/empty"),
            put(f"{C}/dir/", "", **{"Content-Type": "application/directory"}),
            get(f"{C}?format=json"),
            delete(f"{C}/file.html"),
            delete(f"{C}/file.html"),
            head(C),
        ),
    ),
    Scenario(
        "ranges",
        "core:ranges",
        (
            put(C),
            put(f"{C}/r", "0123456789abcdefghij", **{"Content-Type": "text/x"}),
            get(f"{C}/r", Range="bytes=0-4"),
            get(f"{C}/r", Range="bytes=-3"),
            get(f"{C}/r", Range="bytes=15-"),
            get(f"{C}/r", Range="bytes=5-100"),
            get(f"{C}/r", Range="bytes=20-"),
            get(f"{C}/r", Range="bytes=-0"),
            get(f"{C}/r", Range="bytes=5-3"),
            get(f"{C}/r", Range="bytes=x"),
            get(f"{C}/r", Range="items=0-1"),
            get(f"{C}/r", Range="bytes=0-1,4-5,-2"),
            get(f"{C}/r", Range="bytes=0-1,30-40"),
            get(f"{C}/r", Range="bytes=0-5,2-8,3-9,4-10"),
            get(f"{C}/r", Range="bytes=0-5,0-5,0-5,0-5"),
            get(f"{C}/r", Range="bytes=" + ",".join(f"{i}-{i}" for i in range(9, 0, -1))),
            get(f"{C}/r", Range="bytes=" + ",".join(f"{i}-{i}" for i in range(8, 0, -1))),
            get(f"{C}/r", Range="bytes=0-10,0-5"),
            get(f"{C}/r", Range="bytes=" + ",".join(["0-0"] * 51)),
            get(f"{C}/r", Range="bytes=" + ",".join(["0-0"] * 50)),
            get(f"{C}/r", Range="bytes=" + ",".join(f"{i % 20}-{i % 20}" for i in range(51))),
            head(f"{C}/r", Range="bytes=0-4"),
            get(f"{C}/r", Range="bytes=0-4", **{"If-Range": '"nope"'}),
        ),
    ),
    Scenario(
        "copies",
        "core:copies",
        (
            put(C),
            put(f"{C}-dst"),
            put(f"{C}/src", "0123456789", **{"Content-Type": "text/x", "X-Object-Meta-A": "1"}),
            step("COPY", f"{C}/src", headers={"Destination": "{c}-dst/d1"}),
            head("/v1/{acct}/{c}-dst/d1"),
            put("/v1/{acct}/{c}-dst/d2", "", **{"X-Copy-From": "{c}/src", "X-Object-Meta-B": "2"}),
            head("/v1/{acct}/{c}-dst/d2"),
            put(
                "/v1/{acct}/{c}-dst/d3",
                "",
                **{"X-Copy-From": "{c}/src", "X-Fresh-Metadata": "true"},
            ),
            head("/v1/{acct}/{c}-dst/d3"),
            put("/v1/{acct}/{c}-dst/d4", "", **{"X-Copy-From": "{c}/src", "Range": "bytes=2-4"}),
            get("/v1/{acct}/{c}-dst/d4"),
            put("/v1/{acct}/{c}-dst/d5", "", **{"X-Copy-From": "{c}/missing"}),
            put("/v1/{acct}/{c}-dst/d6", "", **{"X-Copy-From": "nocontainer"}),
            step("COPY", f"{C}/src", headers={"Destination": "nocontainer"}),
            step("COPY", f"{C}/src"),
            step("COPY", f"{C}/src", headers={"Destination": "{c}-nope/x"}),
            step(
                "COPY",
                f"{C}/src",
                headers={"Destination": "{c}/x", "Destination-Account": "{acct2}"},
            ),
            put("/v1/{acct}/{c}-dst/d7", "", **{"X-Copy-From": "{c}/src", "Content-Type": "a/b"}),
            head("/v1/{acct}/{c}-dst/d7"),
            put("/v1/{acct}/{c}-dst/d8", "", **{"X-Copy-From": "/{c}/src"}),
            put(
                "/v1/{acct}/{c}-dst/d9",
                "",
                **{"X-Copy-From": "{c}/src", "X-Copy-From-Account": "{acct2}"},
            ),
            post(f"{C}/src", **{"X-Object-Meta-C": "3"}),
            head(f"{C}/src"),
        ),
    ),
    Scenario(
        "cors",
        "core:cors",
        (
            put(
                C,
                **{
                    "X-Container-Meta-Access-Control-Allow-Origin": "http://good.example",
                    "X-Container-Meta-Access-Control-Expose-Headers": "X-Object-Meta-A",
                    "X-Container-Meta-Access-Control-Max-Age": "60",
                },
            ),
            put(f"{C}/o", "x", **{"X-Object-Meta-A": "1"}),
            step(
                "OPTIONS",
                f"{C}/o",
                user="anon",
                headers={"Origin": "http://good.example", "Access-Control-Request-Method": "GET"},
            ),
            step(
                "OPTIONS",
                f"{C}/o",
                user="anon",
                headers={"Origin": "http://bad.example", "Access-Control-Request-Method": "GET"},
            ),
            step("OPTIONS", f"{C}/o", user="anon", headers={"Origin": "http://good.example"}),
            step(
                "OPTIONS",
                f"{C}/o",
                user="anon",
                headers={
                    "Origin": "http://good.example",
                    "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "x-auth-token, content-type",
                },
            ),
            get(f"{C}/o", Origin="http://good.example"),
            get(f"{C}/o", Origin="http://bad.example"),
            head(C, Origin="http://good.example"),
            step(
                "OPTIONS",
                "/v1/{acct}/{c}-none/o",
                user="anon",
                headers={"Origin": "http://good.example", "Access-Control-Request-Method": "GET"},
            ),
            get(f"{C}/o", user="anon", Origin="http://good.example"),
        ),
    ),
    Scenario(
        "acls",
        "core:acls",
        (
            put(f"{C}-r", **{"X-Container-Read": "test:tester3"}),
            put(f"{C}-r/o", "x"),
            get(f"{C}-r/o", user="acl"),
            head(f"{C}-r/o", user="acl"),
            get(f"{C}-r", user="acl"),
            head(f"{C}-r", user="acl"),
            step("PUT", f"{C}-r/o2", "x", user="acl"),
            step("DELETE", f"{C}-r/o", user="acl"),
            post(f"{C}-r", user="acl", **{"X-Container-Read": ".r:*"}),
            get(f"{C}-r/o", user="other"),
            get(f"{C}-r/o", user="anon"),
            put(f"{C}-w", **{"X-Container-Write": "test:tester3"}),
            step("PUT", f"{C}-w/up", "x", user="acl"),
            get(f"{C}-w/up", user="acl"),
            get(f"{C}-w", user="acl"),
            step("DELETE", f"{C}-w/up", user="acl"),
            step("POST", f"{C}-w/up", user="acl"),
            put(f"{C}-p", **{"X-Container-Read": ".r:*"}),
            put(f"{C}-p/o", "x"),
            get(f"{C}-p/o", user="anon"),
            get(f"{C}-p", user="anon"),
            post(f"{C}-p", **{"X-Container-Read": ".r:*,.rlistings"}),
            get(f"{C}-p", user="anon"),
            head(f"{C}-p", user="anon"),
            get(f"{C}-p/o", user="other"),
            step("PUT", f"{C}-p/o", "x", user="anon"),
            put(f"{C}-x", **{"X-Container-Read": "test2:*"}),
            put(f"{C}-x/o", "x"),
            get(f"{C}-x/o", user="other"),
            get(f"{C}-x/o", user="acl"),
            head(f"{C}-x"),
            head(f"{C}-x", user="other"),
            put(f"{C}-bad", **{"X-Container-Read": ".r:"}),
            put(f"{C}-ref", **{"X-Container-Read": ".r:.example.com"}),
            put(f"{C}-ref/o", "x"),
            get(f"{C}-ref/o", user="anon", Referer="http://www.example.com/page"),
            get(f"{C}-ref/o", user="anon", Referer="http://www.other.com/page"),
            get(A, user="acl"),
            get(A, user="anon"),
        ),
    ),
    Scenario(
        "info",
        "core:info",
        (
            step("GET", "/info", user="anon", select="swift"),
            step("GET", "/info", user="anon", select="tempauth"),
            step("HEAD", "/info", user="anon"),
            step("OPTIONS", "/info", user="anon"),
            step(
                "GET",
                "/info",
                user="anon",
                headers={"Origin": "http://x.example"},
                body_compare=False,
            ),
            step("GET", "/info?swiftinfo_sig=x&swiftinfo_expires=1", user="anon"),
            step("POST", "/info", user="anon"),
        ),
    ),
]

# -- middlewares -----------------------------------------------------------------------------

SEG = "/v1/{acct}/{c}-seg"
SEG_A = "a" * MiB
SEG_B = "b" * 10
# the stored manifest's MD5 (its Etag with ?multipart-manifest=get) covers timestamps
MANIFEST_MD5 = ("Etag",)
SLO_MANIFEST = (
    '[{"path": "/{c}-seg/a", "etag": null, "size_bytes": null},'
    ' {"path": "/{c}-seg/b", "etag": "ignored", "size_bytes": 10}]'
)


OBJ = f"{C}/o.txt"
KEY2 = {"X-Container-Meta-Temp-Url-Key-2": "ckey2"}


def signed(verb: str, path: str, body: str = "", key: str = "ckey", **kw: object) -> Step:
    """An anonymous ``verb`` with a TempURL signature (for ``kw["method"]``, GET by default)."""
    return Step(verb, path, {}, body, user="anon", tempurl=TempUrl(key, **kw))  # type: ignore[arg-type]


def form(key: str = "fkey", **kw: object) -> Step:
    """An anonymous FormPost upload to ``{c}/up/``."""
    return Step("POST", f"{C}/up/", user="anon", formpost=FormPost(key, **kw))  # type: ignore[arg-type]


def info(name: str) -> Step:
    return step("GET", "/info", user="anon", select=name, note=f"/info {name}")


MIDDLEWARE: list[Scenario] = [
    Scenario(
        "slo",
        "slo",
        (
            info("slo"),
            put(C),
            put(f"{SEG}"),
            put(f"{SEG}/a", SEG_A),
            put(f"{SEG}/b", SEG_B),
            step(
                "PUT",
                f"{C}/m?multipart-manifest=put",
                '[{"path": "/{c}-seg/a", "etag": null, "size_bytes": null},'
                ' {"path": "/{c}-seg/b", "etag": null, "size_bytes": 10}]',
            ),
            head(f"{C}/m"),
            step("GET", f"{C}/m", body_compare=False),
            get(f"{C}/m", Range="bytes=1048574-1048577"),
            get(f"{C}/m", Range="bytes=0-1,-2"),
            step("GET", f"{C}/m?multipart-manifest=get", ignore=MANIFEST_MD5),
            get(f"{C}/m?multipart-manifest=get&format=raw"),
            step("HEAD", f"{C}/m?multipart-manifest=get", ignore=MANIFEST_MD5),
            step("PUT", f"{C}/bad?multipart-manifest=put", SLO_MANIFEST),
            step(
                "PUT",
                f"{C}/bad?multipart-manifest=put",
                '[{"path": "/{c}-seg/missing"}, {"path": "/{c}-seg/b", "size_bytes": 11}]',
            ),
            step("PUT", f"{C}/bad?multipart-manifest=put", "not json"),
            step("PUT", f"{C}/bad?multipart-manifest=put", "[]"),
            step("PUT", f"{C}/bad?multipart-manifest=put", '[{"path": "nocontainer"}]'),
            step(
                "PUT",
                f"{C}/r?multipart-manifest=put",
                '[{"path": "/{c}-seg/b", "range": "2-4"}, {"path": "/{c}-seg/b", "range": "-1"}]',
            ),
            get(f"{C}/r"),
            step(
                "PUT",
                f"{C}/nest?multipart-manifest=put",
                '[{"path": "/{c}/r"}, {"path": "/{c}-seg/b"}]',
            ),
            get(f"{C}/nest"),
            head(f"{C}/nest"),
            step("COPY", f"{C}/r", headers={"Destination": "{c}/r-copy"}),
            get(f"{C}/r-copy"),
            head(f"{C}/r-copy"),
            step(
                "COPY", f"{C}/r?multipart-manifest=get", headers={"Destination": "{c}/r-manifest"}
            ),
            head(f"{C}/r-manifest"),
            get(f"{C}?format=json"),
            step(
                "DELETE", f"{C}/m?multipart-manifest=delete", headers={"Accept": "application/json"}
            ),
            get(f"{SEG}?format=json"),
            step("DELETE", f"{C}/r?multipart-manifest=delete"),
            put(f"{C}/plain", "x", **{"X-Static-Large-Object": "true"}),
        ),
        middleware=True,
    ),
    Scenario(
        "dlo",
        "dlo",
        (
            info("dlo"),
            put(C),
            put(f"{SEG}"),
            put(f"{SEG}/p/001", "aaa"),
            put(f"{SEG}/p/002", "bbbb"),
            put(f"{SEG}/p/003", "cc"),
            put(f"{C}/m", "", **{"X-Object-Manifest": "{c}-seg/p/"}),
            head(f"{C}/m"),
            get(f"{C}/m"),
            get(f"{C}/m", Range="bytes=2-5"),
            get(f"{C}/m", Range="bytes=0-0,-1"),
            get(f"{C}/m?multipart-manifest=get"),
            post(f"{C}/m", **{"X-Object-Meta-A": "1"}),
            head(f"{C}/m"),
            step("COPY", f"{C}/m", headers={"Destination": "{c}/real"}),
            head(f"{C}/real"),
            get(f"{C}/real"),
            step("COPY", f"{C}/m?multipart-manifest=get", headers={"Destination": "{c}/m2"}),
            head(f"{C}/m2"),
            put(f"{C}/bad", "", **{"X-Object-Manifest": "nocontainer"}),
            put(f"{C}/empty", "", **{"X-Object-Manifest": "{c}-seg/none/"}),
            get(f"{C}/empty"),
            put(f"{SEG}-r", **{"X-Container-Read": "test:tester3"}),
            put(f"{SEG}-r/p/1", "zz"),
            put(f"{C}-a", **{"X-Container-Read": "test:tester3"}),
            put(f"{C}-a/m", "", **{"X-Object-Manifest": "{c}-seg/p/"}),
            get(f"{C}-a/m", user="acl"),
            put(f"{C}-a/m2", "", **{"X-Object-Manifest": "{c}-seg-r/p/"}),
            get(f"{C}-a/m2", user="acl"),
            get(f"{C}?format=json"),
        ),
        middleware=True,
    ),
    Scenario(
        "tempurl",
        "tempurl",
        (
            info("tempurl"),
            put(C, **{"X-Container-Meta-Temp-Url-Key": "ckey"} | KEY2),
            put(f"{C}/o.txt", "hello", **{"Content-Type": "text/plain"}),
            head(C),
            head(C, user="acl"),
            signed("GET", OBJ),
            signed("GET", OBJ, key="ckey2"),
            signed("HEAD", OBJ),
            signed("GET", OBJ, digest="sha1"),
            signed("GET", OBJ, digest="sha512", form="base64"),
            signed("GET", OBJ, iso=True),
            signed("GET", OBJ, extra="&inline"),
            signed("GET", OBJ, extra="&filename=my%20file.txt"),
            signed("GET", OBJ, extra="&inline&filename=a.txt"),
            signed("GET", OBJ, expires=-10),
            signed("GET", OBJ, key="wrong"),
            signed("PUT", OBJ, "x"),
            signed("PUT", f"{C}/new", "new", method="PUT"),
            get(f"{C}/new"),
            signed("DELETE", f"{C}/new", method="DELETE"),
            signed("POST", OBJ, method="POST"),
            signed("GET", f"{C}/pre/x", prefix="pre/"),
            put(f"{C}/pre/x", "px"),
            signed("GET", f"{C}/pre/x", prefix="pre/"),
            signed("GET", OBJ, prefix="pre/"),
            signed("GET", OBJ, ip_range="127.0.0.1"),
            signed("GET", OBJ, ip_range="10.0.0.0/8"),
            step("GET", f"{OBJ}?temp_url_sig=abc", user="anon"),
            step("GET", f"{OBJ}?temp_url_sig=abc&temp_url_expires=notanumber", user="anon"),
            signed("GET", C),
            # account keys, on this run's own account (the shared ones keep their keys)
            post("/v1/{qacct}", user="reseller", **{"X-Account-Meta-Temp-Url-Key": "akey"}),
            put("/v1/{qacct}/{c}"),
            step("PUT", "/v1/{qacct}/{c}", "", user="reseller"),
            step("PUT", "/v1/{qacct}/{c}/o", "acct", user="reseller"),
            signed("GET", "/v1/{qacct}/{c}/o", key="akey"),
            step("HEAD", "/v1/{qacct}", user="reseller"),
        ),
        middleware=True,
    ),
    Scenario(
        "formpost",
        "formpost",
        (
            info("formpost"),
            put(C, **{"X-Container-Meta-Temp-Url-Key": "fkey"}),
            form(),
            get(f"{C}?format=json"),
            get(f"{C}/up/one"),
            form(redirect="http://example.com/done"),
            form(redirect="http://example.com/done?x=1"),
            form(expires=-10),
            form(bad_signature=True),
            form(key="wrong"),
            form(files=(("a", b"1"), ("b", b"2")), max_file_count=1),
            form(files=(("big", b"x" * 100),), max_file_size=10),
            form(digest="sha1"),
            form(digest="sha512"),
            form(fields=(("x_delete_after", "notint"),)),
            step(
                "POST",
                f"{C}/up/",
                "not a form",
                user="anon",
                headers={"Content-Type": "multipart/form-data; boundary=zz"},
            ),
        ),
        middleware=True,
    ),
    Scenario(
        "staticweb",
        "staticweb",
        (
            info("staticweb"),
            put(
                C,
                **{
                    "X-Container-Read": ".r:*,.rlistings",
                    "X-Container-Meta-Web-Index": "index.html",
                    "X-Container-Meta-Web-Error": "error.html",
                },
            ),
            put(f"{C}/index.html", "<h1>home</h1>", **{"Content-Type": "text/html"}),
            put(f"{C}/404error.html", "<h1>gone</h1>", **{"Content-Type": "text/html"}),
            put(f"{C}/sub/index.html", "<h1>sub</h1>", **{"Content-Type": "text/html"}),
            put(f"{C}/other/file.txt", "f"),
            get(f"{C}/", user="anon"),
            get(C, user="anon"),
            get(f"{C}/sub/", user="anon"),
            get(f"{C}/sub", user="anon"),
            get(f"{C}/missing", user="anon"),
            get(f"{C}/other/", user="anon"),
            get(f"{C}/", user="owner"),
            get(f"{C}/", user="owner", **{"X-Web-Mode": "true"}),
            post(C, **{"X-Container-Meta-Web-Listings": "true", "X-Container-Meta-Web-Index": ""}),
            get(f"{C}/", user="anon"),
            get(f"{C}/other/", user="anon"),
            post(
                C,
                **{
                    "X-Container-Meta-Web-Listings-Css": "style.css",
                    "X-Container-Meta-Web-Listings-Label": "Site",
                },
            ),
            get(f"{C}/", user="anon"),
            post(C, **{"X-Container-Meta-Web-Directory-Type": "text/directory"}),
            put(f"{C}/d", "", **{"Content-Type": "text/directory"}),
            get(f"{C}/d", user="anon"),
        ),
        middleware=True,
    ),
    Scenario(
        "symlink",
        "symlink",
        (
            info("symlink"),
            put(C),
            put(f"{C}/t", "target", **{"Content-Type": "text/x"}),
            put(f"{C}/l", "", **{"X-Symlink-Target": "{c}/t"}),
            get(f"{C}/l"),
            head(f"{C}/l"),
            get(f"{C}/l?symlink=get"),
            head(f"{C}/l?symlink=get"),
            get(f"{C}/l", Range="bytes=1-2"),
            put(f"{C}/l2", "x", **{"X-Symlink-Target": "{c}/t"}),
            put(f"{C}/l3", "", **{"X-Symlink-Target": "bad"}),
            put(f"{C}/dang", "", **{"X-Symlink-Target": "{c}/missing"}),
            get(f"{C}/dang"),
            put(f"{C}/loop1", "", **{"X-Symlink-Target": "{c}/loop2"}),
            put(f"{C}/loop2", "", **{"X-Symlink-Target": "{c}/loop1"}),
            get(f"{C}/loop1"),
            put(
                f"{C}/s",
                "",
                **{
                    "X-Symlink-Target": "{c}/t",
                    "X-Symlink-Target-Etag": "ccc93d7ee5f9dda9397f6ea63a8d5c2c",
                },
            ),
            put(f"{C}/s2", "", **{"X-Symlink-Target": "{c}/t", "X-Symlink-Target-Etag": "0" * 32}),
            head(f"{C}/s"),
            get(f"{C}/s"),
            post(f"{C}/l", **{"X-Object-Meta-A": "1"}),
            post(f"{C}/l?symlink=get", **{"X-Object-Meta-A": "1"}),
            head(f"{C}/l?symlink=get"),
            step("COPY", f"{C}/l", headers={"Destination": "{c}/copied"}),
            head(f"{C}/copied"),
            step("COPY", f"{C}/l?symlink=get", headers={"Destination": "{c}/copied-link"}),
            head(f"{C}/copied-link?symlink=get"),
            put(
                f"{C}/xa",
                "",
                **{"X-Symlink-Target": "{c}/t", "X-Symlink-Target-Account": "{acct2}"},
            ),
            head(f"{C}/xa?symlink=get"),
            get(f"{C}/xa"),
            get(f"{C}?format=json"),
            get(C),
            delete(f"{C}/l"),
            head(f"{C}/t"),
        ),
        middleware=True,
    ),
    Scenario(
        "container-quotas",
        "container_quotas",
        (
            info("container_quotas"),
            put(C, **{"X-Container-Meta-Quota-Bytes": "10"}),
            put(f"{C}/a", "12345"),
            put(f"{C}/b", "123456"),
            put(f"{C}/c", "12345"),
            head(C),
            post(C, **{"X-Container-Meta-Quota-Bytes": "abc"}),
            post(C, **{"X-Container-Meta-Quota-Count": "-1"}),
            put(f"{C}-n", **{"X-Container-Meta-Quota-Count": "1"}),
            put(f"{C}-n/a", "1"),
            put(f"{C}-n/b", "1"),
            step("PUT", f"{C}-n/a", "", headers={"X-Copy-From": "{c}/a"}),
            step("COPY", f"{C}/a", headers={"Destination": "{c}-n/c"}),
            head(f"{C}-n"),
        ),
        middleware=True,
    ),
    Scenario(
        "account-quotas",
        "account_quotas",
        (
            info("account_quotas"),
            post(A, **{"X-Account-Meta-Quota-Bytes": "10"}),
            post("/v1/{qacct}", user="reseller", **{"X-Account-Meta-Quota-Bytes": "10"}),
            post("/v1/{qacct}", user="reseller", **{"X-Account-Meta-Quota-Bytes": "ten"}),
            head("/v1/{qacct}", user="reseller"),
            step("PUT", "/v1/{qacct}/{c}", "", user="reseller"),
            step("PUT", "/v1/{qacct}/{c}/a", "123456", user="reseller"),
            step("PUT", "/v1/{qacct}/{c}/b", "123456", user="reseller"),
            step(
                "POST",
                "/v1/{qacct}",
                user="reseller",
                headers={"X-Remove-Account-Meta-Quota-Bytes": "x"},
            ),
            step("PUT", "/v1/{qacct}/{c}/b", "123456", user="reseller"),
        ),
        middleware=True,
    ),
    Scenario(
        "versioned-writes",
        "versioned_writes",
        (
            info("versioned_writes"),
            put(f"{C}-arch"),
            put(C, **{"X-Versions-Location": "{c}-arch"}),
            head(C),
            put(f"{C}/o", "v1"),
            put(f"{C}/o", "v2"),
            put(f"{C}/o", "v3"),
            step("GET", f"{C}-arch", body_compare=True),
            get(f"{C}/o"),
            delete(f"{C}/o"),
            get(f"{C}/o"),
            delete(f"{C}/o"),
            get(f"{C}/o"),
            put(f"{C}-h", **{"X-History-Location": "{c}-arch"}),
            put(f"{C}-h/p", "p1"),
            put(f"{C}-h/p", "p2"),
            delete(f"{C}-h/p"),
            get(f"{C}-h/p"),
            put(
                f"{C}-both", **{"X-History-Location": "{c}-arch", "X-Versions-Location": "{c}-arch"}
            ),
            put(f"{C}-bad", **{"X-Versions-Location": "{c}-nope"}),
            put(f"{C}-bad2/o", "x"),
            post(C, **{"X-Remove-Versions-Location": "x"}),
            head(C),
        ),
        middleware=True,
    ),
    Scenario(
        "object-versioning",
        "object_versioning",
        (
            info("object_versioning"),
            put(C, **{"X-Versions-Enabled": "true"}),
            head(C),
            put(f"{C}/o", "v1"),
            put(f"{C}/o", "v2"),
            head(f"{C}/o"),
            get(f"{C}?versions&format=json"),
            get(f"{C}?versions"),
            get(f"{C}/o?version-id=null"),
            get(f"{C}/o?version-id=bogus"),
            delete(f"{C}/o"),
            get(f"{C}/o"),
            head(f"{C}/o"),
            get(f"{C}?versions&format=json"),
            get(f"{C}?format=json"),
            post(C, **{"X-Versions-Enabled": "false"}),
            put(f"{C}/o", "v3"),
            get(f"{C}?versions&format=json"),
            post(C, **{"X-Versions-Enabled": "bogus"}),
            put(f"{C}-x", **{"X-Versions-Enabled": "true", "X-Versions-Location": "{c}"}),
            delete(C),
            get(f"{A}?prefix={{c}}"),
        ),
        middleware=True,
    ),
    Scenario(
        "bulk",
        "bulk",
        (
            info("bulk_delete"),
            info("bulk_upload"),
            put(C),
            put(f"{C}/a", "1"),
            put(f"{C}/b", "2"),
            step(
                "POST",
                f"{A}?bulk-delete",
                "/{c}/a\n/{c}/missing\n",
                headers={"Content-Type": "text/plain"},
            ),
            step(
                "DELETE",
                f"{A}?bulk-delete",
                "/{c}/b\n",
                headers={"Content-Type": "text/plain", "Accept": "application/json"},
            ),
            step(
                "DELETE",
                f"{A}?bulk-delete",
                "/{c}/x\n",
                headers={"Content-Type": "text/plain", "Accept": "application/xml"},
            ),
            step(
                "DELETE",
                f"{A}?bulk-delete",
                "/{c}\n",
                headers={"Content-Type": "text/plain", "Accept": "application/json"},
            ),
            step(
                "DELETE",
                f"{A}?bulk-delete",
                "/{c}\n",
                headers={"Content-Type": "text/plain", "Accept": "application/json"},
                user="acl",
            ),
            step(
                "PUT",
                f"{C}-t?extract-archive=tar",
                _tar({"x/one": b"1", "two": b"22"}),
                headers={"Accept": "application/json"},
            ),
            get(f"{C}-t?format=json"),
            step("PUT", f"{C}-t?extract-archive=tar.gz", _tar({"gz": b"3"}, "w:gz")),
            step(
                "PUT",
                f"{C}-t?extract-archive=tar.bz2",
                _tar({"bz": b"4"}, "w:bz2"),
                headers={"Accept": "application/json"},
            ),
            step("PUT", f"{C}-t?extract-archive=zip", b"x", headers={"Accept": "application/json"}),
            step(
                "PUT",
                f"{C}-t?extract-archive=tar",
                b"not a tar",
                headers={"Accept": "application/json"},
            ),
            get(f"{C}-t?format=json"),
        ),
        middleware=True,
    ),
]

SCENARIOS: list[Scenario] = [*CORE, *MIDDLEWARE]
