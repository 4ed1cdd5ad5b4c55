"""Replay the scripted Swift requests of ``swift_scenarios`` against one system, normalized.

The engine of ``bench/swift_conformance.py`` (both systems side by side) and of the
conformance test that checks Stratus against answers recorded from the real Swift
(``tests/functional/objectstore/proxy/swift/test_swift_recorded.py``). It logs the
scenario users in through ``/auth/v1.0`` (the same names and keys on both systems),
sends each step, and keeps of each answer what a comparison may look at:

- the status;
- the headers that matter (``HEADERS`` and every ``X-*-Meta-*``), never dates,
  transaction ids or timestamps;
- the body, with what legitimately differs between two runs or two systems replaced by
  a placeholder: account and container names of the run, timestamps, transaction ids,
  multipart boundaries, host:port.

Only the standard library and aiohttp: bench scripts and tests import it alike.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

# The headers compared (besides X-Account-Meta-*, X-Container-Meta-*, X-Object-Meta-*).
HEADERS = (
    "Content-Type",
    "Content-Length",
    "Etag",
    "Accept-Ranges",
    "Content-Range",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Location",
    "Location",
    "Allow",
    "Vary",
    "Www-Authenticate",
    "X-Static-Large-Object",
    "X-Object-Manifest",
    "X-Symlink-Target",
    "X-Symlink-Target-Account",
    "X-Symlink-Target-Etag",
    "X-Symlink-Target-Bytes",
    "X-Versions-Location",
    "X-History-Location",
    "X-Versions-Enabled",
    "X-Object-Version-Id",
    "X-Container-Read",
    "X-Container-Write",
    "X-Container-Object-Count",
    "X-Container-Bytes-Used",
    "X-Delete-At",
    "X-Object-Sysmeta-Container-Update-Override-Etag",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
)
# Headers whose value Swift builds from a set: compared as sorted lists.
SET_VALUED = frozenset({"access-control-expose-headers"})
# The shared peer's accounts carry other people's metadata (keys): only this one.
ACCOUNT_META = ("X-Account-Meta-Quota-Bytes",)
# Swift's tempauth users; Stratus gets the same names, keys and powers (see users()).
USERS: dict[str, tuple[str, str]] = {
    "owner": ("test:tester", "testing"),  # the account's admin
    "acl": ("test:tester3", "testing3"),  # same project, no rights but the ACLs'
    "other": ("test2:tester2", "testing2"),  # another account's admin
    "reseller": ("admin:admin", "admin"),  # the operator (reseller admin)
}

_TXID = re.compile(r"tx[0-9a-f]{21}-[0-9a-f]{10}(-[A-Za-z0-9]+)?")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # staticweb's listings
_HTTPDATE = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")
_TS = re.compile(r"\b1\d{9}(\.\d{5})?(_[0-9a-f]{16})?\b")
_HOST = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_BOUNDARY = re.compile(r"boundary=([0-9A-Za-z'()+_,./:=?-]+)")


@dataclass(frozen=True)
class TempUrl:
    """Sign the step's path as a temporary URL (Swift's tempurl middleware)."""

    key: str
    method: str = "GET"
    expires: int = 3600  # seconds from now; negative: already expired
    iso: bool = False  # temp_url_expires as ISO 8601
    digest: str = "sha256"
    form: str = "hex"  # hex, or base64 (sent as "<digest>:<b64>")
    prefix: str | None = None  # temp_url_prefix: sign "prefix:/v1/a/c/<prefix>"
    ip_range: str | None = None
    extra: str = ""  # more query, e.g. "&inline" or "&filename=x"
    sig_path: str | None = None  # sign another path than the one requested


@dataclass(frozen=True)
class FormPost:
    """A signed HTML form upload to the step's path (Swift's formpost middleware)."""

    key: str
    files: tuple[tuple[str, bytes], ...] = (("file1", b"one"),)
    redirect: str = ""
    max_file_size: int = 1024
    max_file_count: int = 10
    expires: int = 3600
    digest: str = "sha256"
    bad_signature: bool = False
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Step:
    """One request. Paths, headers and text bodies are templates (see ``Vars``)."""

    method: str
    path: str  # "/v1/{acct}/{c}/o" or any other path ("/info", "/auth/v1.0")
    headers: dict[str, str] = field(default_factory=dict[str, str])
    body: str | bytes = b""
    user: str = "owner"  # owner | acl | other | reseller | anon
    compare: bool = True  # False: set-up whose answer is not compared
    body_compare: bool = True  # False: the status and headers only (e.g. a random body)
    tempurl: TempUrl | None = None
    formpost: FormPost | None = None
    select: str | None = None  # a JSON body: compare only this top-level key (/info sections)
    ignore: tuple[str, ...] = ()  # headers not compared on this step
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    feature: str  # "core:listings", ..., or a middleware's name
    steps: tuple[Step, ...]
    middleware: bool = False  # needs one of issue 15's middlewares
    note: str = ""


@dataclass
class Login:
    token: str
    account: str


@dataclass
class Target:
    """One system: where it answers, and its users' tokens once logged in."""

    name: str
    url: str  # http://127.0.0.1:PORT
    logins: dict[str, Login] = field(default_factory=dict[str, Login])


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, "body": self.body}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Answer:
        return cls(doc["status"], dict(doc["headers"]), doc["body"])


def new_nonce() -> str:
    return os.urandom(4).hex()


class Vars:
    """The template values of one run on one system.

    ``{acct}``/``{acct2}``: the owner's / the other user's account; ``{qacct}``: an
    account of this run only, used by the reseller (quotas, account keys: never set on
    the shared accounts); ``{c}``: the scenario's container prefix; ``{n}``: the nonce.
    """

    def __init__(self, target: Target, nonce: str, scenario: str) -> None:
        self.nonce = nonce
        self.values = {
            "{acct}": target.logins["owner"].account,
            "{acct2}": target.logins["other"].account,
            "{qacct}": f"AUTH_conf{nonce}",
            "{c}": f"conf{nonce}-{scenario}",
            "{n}": nonce,
        }

    def sub(self, text: str) -> str:
        for name, value in self.values.items():
            text = text.replace(name, value)
        return text

    def normalize(self, text: str) -> str:
        """A text with this run's names put back as placeholders."""
        for name, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if name != "{n}":
                text = text.replace(value, name)
                text = text.replace(quote(value, safe=""), name)
        return text.replace(self.nonce, "{n}")


async def login(session: aiohttp.ClientSession, target: Target) -> None:
    """Log every scenario user in (``/auth/v1.0``)."""
    for role, (user, key) in USERS.items():
        async with session.get(
            f"{target.url}/auth/v1.0", headers={"X-Auth-User": user, "X-Auth-Key": key}
        ) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{target.name}: login of {user} gave {resp.status}")
            storage = resp.headers["X-Storage-Url"]
            target.logins[role] = Login(
                resp.headers["X-Auth-Token"], urlsplit(storage).path.split("/")[2]
            )


def _tempurl_query(spec: TempUrl, path: str) -> str:
    expires = int(time.time()) + spec.expires
    signed = spec.sig_path or path
    if spec.prefix is not None:
        signed = "prefix:" + "/".join(path.split("/")[:4]) + "/" + spec.prefix
    parts = [spec.method, str(expires), signed]
    if spec.ip_range:
        parts.insert(0, f"ip={spec.ip_range}")
    mac = hmac.new(spec.key.encode(), "\n".join(parts).encode(), spec.digest)
    if spec.form == "base64":
        sig = f"{spec.digest}:" + base64.urlsafe_b64encode(mac.digest()).decode()
    else:
        sig = mac.hexdigest()
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)) if spec.iso else expires
    query = f"temp_url_sig={quote(sig, safe='')}&temp_url_expires={when}"
    if spec.prefix is not None:
        query += f"&temp_url_prefix={quote(spec.prefix)}"
    if spec.ip_range:
        query += f"&temp_url_ip_range={quote(spec.ip_range)}"
    return query + spec.extra


FORM_BOUNDARY = "----conformanceFormBoundary7MA4YWxk"


def _formpost_body(spec: FormPost, path: str) -> bytes:
    expires = str(int(time.time()) + spec.expires)
    message = "\n".join(
        [path, spec.redirect, str(spec.max_file_size), str(spec.max_file_count), expires]
    )
    sig = hmac.new(spec.key.encode(), message.encode(), spec.digest).hexdigest()
    if spec.bad_signature:
        sig = "0" * len(sig)
    if spec.digest != "sha1":
        sig = f"{spec.digest}:" + base64.b64encode(bytes.fromhex(sig)).decode()
    fields = [
        ("redirect", spec.redirect),
        ("max_file_size", str(spec.max_file_size)),
        ("max_file_count", str(spec.max_file_count)),
        ("expires", expires),
        ("signature", sig),
        *spec.fields,
    ]
    out = b""
    for name, value in fields:
        out += (
            f'--{FORM_BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for i, (filename, data) in enumerate(spec.files):
        out += (
            (
                f'--{FORM_BOUNDARY}\r\nContent-Disposition: form-data; name="file{i}"; '
                f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{FORM_BOUNDARY}--\r\n".encode()


def _normalize_text(text: str, vars_: Vars, boundary: str | None) -> str:
    text = vars_.normalize(text)
    if boundary:
        text = text.replace(boundary, "{boundary}")
    text = _TXID.sub("{txid}", text)
    text = _ISO.sub("{iso}", text)
    text = _DATETIME.sub("{datetime}", text)
    text = _HTTPDATE.sub("{date}", text)
    text = _HOST.sub("{host}", text)
    return _TS.sub("{ts}", text)


def _normalize_json(doc: Any, vars_: Vars) -> Any:
    if isinstance(doc, dict):
        row: dict[str, Any] = {k: _normalize_json(v, vars_) for k, v in doc.items()}  # pyright: ignore
        if "slo_etag" in row and "hash" in row:
            row["hash"] = "{manifest md5}"  # of the stored manifest, which holds timestamps
        return row
    if isinstance(doc, list):
        return [_normalize_json(v, vars_) for v in doc]  # pyright: ignore
    if isinstance(doc, str):
        return _normalize_text(doc, vars_, None)
    return doc


def normalize_body(raw: bytes, content_type: str, vars_: Vars) -> str:
    match = _BOUNDARY.search(content_type)
    boundary = match.group(1) if match else None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode()
    if content_type.startswith("application/json") and text:
        try:
            return json.dumps(_normalize_json(json.loads(text), vars_), ensure_ascii=False)
        except ValueError:
            pass
    return _normalize_text(text, vars_, boundary)


def kept_headers(
    headers: Any, vars_: Vars, status: int = 200, ignore: Sequence[str] = ()
) -> dict[str, str]:
    """The headers that matter, normalized; names in Swift's Title-Case.

    Not compared: ``Content-Length: 0`` on a 204 or 304 (Swift sends it, aiohttp never
    does, RFC 9110 says a server should not), and the headers ``ignore`` names.
    """
    out: dict[str, str] = {}
    wanted = {h.lower() for h in HEADERS} | {h.lower() for h in ACCOUNT_META}
    wanted -= {h.lower() for h in ignore}
    for name, value in headers.items():
        low = name.lower()
        if low == "content-length" and status in (204, 304) and value == "0":
            continue
        if low in wanted or low.startswith(("x-container-meta-", "x-object-meta-")):
            if low in SET_VALUED:  # Swift joins a Python set: its order is the hash seed's
                value = ", ".join(sorted(v.strip() for v in value.split(",")))
            boundary = _BOUNDARY.search(value)
            out["-".join(p.capitalize() for p in low.split("-"))] = _normalize_text(
                value, vars_, boundary.group(1) if boundary else None
            )
    return dict(sorted(out.items()))


async def send(session: aiohttp.ClientSession, target: Target, step: Step, vars_: Vars) -> Answer:
    path = vars_.sub(step.path)
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    headers = {vars_.sub(k): vars_.sub(v) for k, v in step.headers.items()}
    if step.user != "anon":
        headers.setdefault("X-Auth-Token", target.logins[step.user].token)
    body: bytes = vars_.sub(step.body).encode() if isinstance(step.body, str) else step.body
    if step.tempurl is not None:
        query = "&".join(q for q in (query, _tempurl_query(step.tempurl, path)) if q)
    if step.formpost is not None:
        body = _formpost_body(step.formpost, path)
        headers["Content-Type"] = f"multipart/form-data; boundary={FORM_BOUNDARY}"
    url = f"{target.url}{path}" + (f"?{query}" if query else "")
    data: bytes | None = body if body or step.method in ("PUT", "POST") else None
    async with session.request(
        step.method,
        URL(url, encoded=True),
        headers=headers,
        data=data,
        allow_redirects=False,
        skip_auto_headers=("Content-Type",) if "Content-Type" not in headers else (),
    ) as resp:
        raw = await resp.read()
        content_type = resp.headers.get("Content-Type", "")
        if step.select is not None:
            try:
                section = json.loads(raw).get(step.select, "<absent>")
            except (ValueError, AttributeError):
                section = "<not json>"
            raw = json.dumps(section).encode()
        ignore = (*step.ignore, "Content-Length") if step.select is not None else step.ignore
        return Answer(
            resp.status,
            kept_headers(resp.headers, vars_, resp.status, ignore),
            normalize_body(raw, content_type, vars_) if step.body_compare else "",
        )


async def run_scenario(
    session: aiohttp.ClientSession, target: Target, scenario: Scenario, nonce: str
) -> list[Answer]:
    """Every step's answer (set-up steps too); then the scenario's names are removed."""
    vars_ = Vars(target, nonce, scenario.name)
    answers: list[Answer] = []
    try:
        for step in scenario.steps:
            try:
                answers.append(await send(session, target, step, vars_))
            except aiohttp.ClientError as exc:
                answers.append(Answer(0, {}, f"client error: {type(exc).__name__}: {exc}"))
    finally:
        await cleanup(session, target, vars_)
    return answers


async def cleanup(session: aiohttp.ClientSession, target: Target, vars_: Vars) -> None:
    """Delete the run's containers (in both users' accounts and the run's own account)."""
    prefix = vars_.values["{c}"]
    reseller = target.logins["reseller"].token
    accounts = {
        target.logins["owner"].account,
        target.logins["other"].account,
        vars_.values["{qacct}"],
    }
    for account in accounts:
        for _ in range(3):  # versions containers show up once the versioned ones go
            rows = await _names(session, target, reseller, f"/v1/{account}", "")
            names = [n for n, _v in rows if prefix in n]
            if not names:
                break
            for cont in names:
                cpath = f"/v1/{account}/{quote(cont, safe='')}"
                # object versioning keeps a container until versioning is off
                await _quiet(
                    session,
                    "POST",
                    f"{target.url}{cpath}",
                    reseller,
                    {
                        "X-Versions-Enabled": "false",
                        "X-Versions-Location": "",
                        "X-History-Location": "",
                    },
                )
                for obj, version in await _names(session, target, reseller, cpath, "&versions"):
                    query = f"?version-id={version}" if version else ""
                    await _quiet(
                        session,
                        "DELETE",
                        f"{target.url}{cpath}/{quote(obj, safe='/')}{query}",
                        reseller,
                        {},
                    )
                for obj, _v in await _names(session, target, reseller, cpath, ""):
                    await _quiet(
                        session,
                        "DELETE",
                        f"{target.url}{cpath}/{quote(obj, safe='/')}",
                        reseller,
                        {},
                    )
                await _quiet(session, "DELETE", f"{target.url}{cpath}", reseller, {})


async def _names(
    session: aiohttp.ClientSession, target: Target, token: str, path: str, extra: str
) -> list[tuple[str, str | None]]:
    """(name, version id) of a listing's rows."""
    url = f"{target.url}{path}?format=json{extra}"
    try:
        async with session.get(url, headers={"X-Auth-Token": token}) as resp:
            if resp.status != 200:
                return []
            rows: list[dict[str, Any]] = await resp.json(content_type=None)
    except (aiohttp.ClientError, ValueError):
        return []
    return [(str(r["name"]), r.get("version_id")) for r in rows if "name" in r]


async def _quiet(
    session: aiohttp.ClientSession, method: str, url: str, token: str, headers: dict[str, str]
) -> None:
    try:
        async with session.request(
            method,
            URL(url, encoded=True),
            headers={"X-Auth-Token": token, **headers},
        ) as resp:
            await resp.read()
    except aiohttp.ClientError:
        pass


def differences(
    scenario: Scenario, a: Sequence[Answer], b: Sequence[Answer], names: tuple[str, str]
) -> list[dict[str, Any]]:
    """What differs between two systems' answers to one scenario, step by step."""
    found: list[dict[str, Any]] = []
    for index, (step, x, y) in enumerate(zip(scenario.steps, a, b, strict=True)):
        if not step.compare:
            continue
        what: dict[str, Any] = {}
        if x.status != y.status:
            what["status"] = {names[0]: x.status, names[1]: y.status}
        for header in sorted(set(x.headers) | set(y.headers)):
            if x.headers.get(header) != y.headers.get(header):
                what.setdefault("headers", {})[header] = {
                    names[0]: x.headers.get(header),
                    names[1]: y.headers.get(header),
                }
        if step.body_compare and x.body != y.body:
            what["body"] = {names[0]: x.body[:2000], names[1]: y.body[:2000]}
        if what:
            found.append(
                {
                    "scenario": scenario.name,
                    "feature": scenario.feature,
                    "step": index,
                    "request": f"{step.method} {step.path} as {step.user}"
                    + (f" ({step.note})" if step.note else ""),
                    **what,
                }
            )
    return found


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60),
        auto_decompress=False,
        connector=aiohttp.TCPConnector(force_close=True),
    )


def select(
    scenarios: Iterable[Scenario], *, only: Sequence[str] = (), core: bool | None = None
) -> list[Scenario]:
    """Scenarios by feature/name prefix, and core-only (True) or middleware-only (False)."""
    chosen: list[Scenario] = []
    for s in scenarios:
        if core is not None and s.middleware == core:
            continue
        if only and not any(s.name.startswith(o) or s.feature.startswith(o) for o in only):
            continue
        chosen.append(s)
    return chosen
