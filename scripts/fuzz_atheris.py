#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris / libFuzzer) of the parsers facing the network.

Optional, for long runs; the test suite never needs it (its fuzz tests use
hypothesis). Each target feeds the raw input to one parser and lets through
only that protocol's own error; anything else is a crash libFuzzer reports
with the input that caused it (saved as ``crash-<sha1>``).

    .venv/bin/pip install atheris
    .venv/bin/python scripts/fuzz_atheris.py TARGET [libFuzzer options, e.g. -runs=1000000]

Targets: s3-xml, sigv4, aws-chunked, swift-acl, ranges, iscsi-text, iscsi-bhs, chap.

Random bytes rarely make well-formed XML, so ``s3-xml`` needs a seed corpus:
name an empty directory after the target and it is filled with one valid
document per parser first (libFuzzer then mutates from there and keeps
what it finds in that directory):

    mkdir corpus && .venv/bin/python scripts/fuzz_atheris.py s3-xml corpus -max_total_time=600
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import atheris

with atheris.instrument_imports():
    from blockstore.iscsi import pdu as P
    from blockstore.iscsi.chap import ChapError, decode_binary
    from blockstore.iscsi.negotiate import Negotiator, TargetLimits
    from blockstore.iscsi.textkeys import TextError, parse_text
    from objectstore.proxy.swift import headers as swift_headers
    from objectstore.proxy.swift import ranges as swift_ranges
    from objectstore.proxy.swift.errors import SwiftError
    from s3compat import complete, cors, delete_many, lifecycle, object_lock, objects, sigv4, xmlio
    from s3compat.chunked import AwsChunkedDecoder
    from s3compat.errors import S3Error


def s3_xml(data: bytes) -> None:
    for root, parse in (
        ("CompleteMultipartUpload", complete._parse),
        ("Delete", delete_many._parse),
        ("CORSConfiguration", lambda r: [cors._parse_rule(e) for e in r.findall("CORSRule")]),
        ("LifecycleConfiguration", lifecycle.parse_configuration),
        ("ObjectLockConfiguration", object_lock.parse_rule),
    ):
        with contextlib.suppress(S3Error):
            parse(xmlio.parse_xml(data, root))


def s3_sigv4(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    with contextlib.suppress(S3Error):
        sigv4.parse_authorization(text)
    objects.parse_range(text)


def aws_chunked(data: bytes) -> None:
    async def run() -> None:
        from aiohttp import StreamReader
        from aiohttp.base_protocol import BaseProtocol

        loop = asyncio.get_running_loop()
        reader = StreamReader(BaseProtocol(loop), 2**16, loop=loop)
        reader.feed_data(data)
        reader.feed_eof()
        mode = sigv4.STREAMING_UNSIGNED_TRAILER
        try:
            async for _ in AwsChunkedDecoder(reader, None, mode, None):
                pass
        except S3Error:
            pass

    asyncio.run(run())


def swift_acl(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    try:
        swift_headers.acl_entries({"x-container-read": text, "x-container-write": text})
        swift_headers.delete_at({"X-Delete-After": text})
    except SwiftError:
        pass


def ranges(data: bytes) -> None:
    swift_ranges.parse_range(data.decode("utf-8", "surrogateescape"))


def iscsi_text(data: bytes) -> None:
    try:
        pairs = parse_text(data)
    except TextError:
        return
    negotiator = Negotiator(TargetLimits())
    for key, value in pairs:
        negotiator.answer(key, value)
    negotiator.finish()


def iscsi_bhs(data: bytes) -> None:
    if len(data) < P.BHS_LEN:
        return
    pdu = P.Pdu(data[: P.BHS_LEN])
    pdu.ahs = data[P.BHS_LEN :]
    P.extended_cdb(pdu)
    P.bidi_read_length(pdu)


def chap(data: bytes) -> None:
    with contextlib.suppress(ChapError):
        decode_binary(data.decode("utf-8", "surrogateescape"))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "s3-xml": s3_xml, "sigv4": s3_sigv4, "aws-chunked": aws_chunked, "swift-acl": swift_acl,
    "ranges": ranges, "iscsi-text": iscsi_text, "iscsi-bhs": iscsi_bhs, "chap": chap,
}  # fmt: skip


SEEDS: dict[str, list[bytes]] = {
    "s3-xml": [
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<Delete><Quiet>true</Quiet><Object><Key>k</Key></Object></Delete>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET"
        b"</AllowedMethod><MaxAgeSeconds>10</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><And><Prefix>p</Prefix><Tag><Key>k"
        b"</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1"
        b"</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
        b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
        b"</ObjectLockConfiguration>",
    ],
}


def _seed(name: str, args: list[str]) -> None:
    """Fill the first corpus directory named in ``args``, if empty, with the target's seeds."""
    dirs = [Path(a) for a in args if not a.startswith("-") and Path(a).is_dir()]
    if dirs and not any(dirs[0].iterdir()):
        for i, seed in enumerate(SEEDS.get(name, [])):
            (dirs[0] / f"seed-{i}").write_bytes(seed)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv[1]]
    _seed(sys.argv[1], sys.argv[2:])
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
