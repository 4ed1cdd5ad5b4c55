"""S3 XML in and out.

Output is built from plain Python values (dicts, lists, scalars) so handlers
never concatenate markup; input is parsed with defusedxml (no entities, no
external references) after a size check, and namespaces are stripped so
handlers look elements up by their local names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from s3compat.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 1024 * 1024


def _fill(parent: Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key.startswith("@"):  # an attribute of this element
                parent.set(key[1:], str(child))
            elif isinstance(child, list):
                for item in child:
                    _fill(SubElement(parent, key), item)
            elif child is not None:
                _fill(SubElement(parent, key), child)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif isinstance(value, datetime):
        parent.text = iso8601(value)
    elif value is not None:
        parent.text = str(value)


def to_xml(root: str, value: Mapping[str, Any] | str, *, namespace: bool = True) -> bytes:
    """Serialise ``{"Name": v, "List": [..]}``: lists repeat the element, None omits it.

    A key ``"@name"`` sets an attribute of the enclosing element instead.
    """
    elem = Element(root, {"xmlns": S3_NS} if namespace else {})
    _fill(elem, value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(elem, encoding="utf-8")


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
