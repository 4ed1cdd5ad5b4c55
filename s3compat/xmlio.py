"""S3 XML in and out.

Output is built from plain Python values (dicts, lists, scalars) so handlers
never concatenate markup: one serialiser here escapes every text and
attribute value (a 1000-key listing is written in a few milliseconds, where
building an ElementTree took several times that); input is parsed with defusedxml (no entities, no
external references) after a size check, and namespaces are stripped so
handlers look elements up by their local names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from s3compat.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 1024 * 1024


def _emit(out: list[str], tag: str, value: Any) -> None:
    if type(value) is dict or isinstance(value, Mapping):  # dict first: the ABC check is slow
        attrs = "".join(
            f" {key[1:]}={quoteattr(str(child))}" for key, child in value.items() if key[:1] == "@"
        )
        out.append(f"<{tag}{attrs}>")
        for key, child in value.items():
            if key[:1] == "@":
                continue
            if isinstance(child, list):
                for item in child:
                    _emit(out, key, item)
            elif child is not None:
                _emit(out, key, child)
        out.append(f"</{tag}>")
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = iso8601(value)
    else:
        text = escape(str(value))
    out.append(f"<{tag}>{text}</{tag}>")


def to_xml(root: str, value: Mapping[str, Any] | str, *, namespace: bool = True) -> bytes:
    """Serialise ``{"Name": v, "List": [..]}``: lists repeat the element, None omits it.

    A key ``"@name"`` sets an attribute of the enclosing element instead.
    """
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if not isinstance(value, Mapping):  # a root holding only text
        attrs = f" xmlns={quoteattr(S3_NS)}" if namespace else ""
        out.append(f"<{root}{attrs}>{escape(str(value))}</{root}>")
    else:
        _emit(out, root, {"@xmlns": S3_NS, **value} if namespace else value)
    return "".join(out).encode("utf-8")


def iso8601(when: datetime) -> str:
    """S3's timestamp form: 2026-11-25T10:00:00.000Z."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _strip_namespaces(elem: Element) -> Element:
    for node in elem.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
    return elem


def parse_xml(body: bytes, expected_root: str) -> Element:
    """Parse a request body; MalformedXML for anything unexpected."""
    if len(body) > MAX_XML_BODY:
        raise S3Error("MalformedXML", "The XML body is too large")
    if not body.strip():
        raise S3Error("MalformedXML")
    try:
        root = safe_et.fromstring(body)
    except (safe_et.ParseError, DefusedXmlException, ValueError):
        raise S3Error("MalformedXML") from None
    root = _strip_namespaces(root)
    if root.tag != expected_root:
        raise S3Error("MalformedXML", f"Expected a <{expected_root}> document")
    return root


def text(elem: Element, path: str, default: str | None = None) -> str | None:
    found = elem.find(path)
    if found is None:
        return default
    return found.text or ""
