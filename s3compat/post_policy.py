"""The POST policy of a browser upload: parsed, then matched against the form.

A POST policy is base64 JSON, ``{"expiration": ..., "conditions": [...]}``,
signed by whoever hands the form out; the browser may then fill the form in
only as the conditions allow. Conditions are exact matches
(``{"acl": "public-read"}`` or ``["eq", "$acl", "public-read"]``), prefixes
(``["starts-with", "$key", "user/"]``; a comma-separated Content-Type is a
list whose every item must match) and ``["content-length-range", min, max]``
on the file's size. Every field the form sends must be named by some
condition (AWS's "Extra input fields"), except the signature, the policy,
the file and ``x-ignore-*`` fields. Field and operator names match in any
case, values exactly.

The errors are the ones S3 answers: a policy it cannot read is
``InvalidPolicyDocument`` (400, "Invalid Policy: ..."); an expired policy,
a failed condition (printed as AWS prints it, simple conditions as ``eq``
arrays) or an uncovered field are ``AccessDenied`` (403, "Invalid according
to Policy: ...").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from s3compat.errors import S3Error

IGNORED_PREFIX = "x-ignore-"
_EXPIRATION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")  # ASCII digits only: int() takes more
_OPERATIONS = frozenset({"eq", "starts-with", "content-length-range"})


def _invalid(detail: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {detail}")


def _denied(detail: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {detail}")


@dataclass(frozen=True)
class Condition:
    """One condition: ``op`` and ``field`` lower case (``field`` is "" when the
    name lacks its ``$``: such a condition never holds); ``operands`` as written."""

    op: str
    field: str
    operands: tuple[Any, ...]
    shown: str  # as S3 prints it in "Policy Condition failed: ..."


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @property
    def named(self) -> frozenset[str]:
        """The fields some condition covers."""
        return frozenset(c.field for c in self.conditions if c.field)


@dataclass(frozen=True)
class SizeRange:
    """The file's allowed size, bounds included (content-length-range)."""

    minimum: int = 0
    maximum: int | None = None


def _show(items: Sequence[Any]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _reject_floats(value: str) -> Any:
    raise ValueError(value)  # S3 reads only integers: 512.0 is "Invalid JSON"


def _load(policy_b64: str) -> Any:
    try:
        raw = base64.b64decode(policy_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("invalid Base64 encoding.") from None
    try:
        return json.loads(raw.decode("utf-8"), parse_float=_reject_floats)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalid("Invalid JSON.") from None


def _expiration(value: Any) -> datetime:
    m = _EXPIRATION.match(value) if isinstance(value, str) else None
    try:
        if m is None:
            raise ValueError(value)
        return datetime(*map(int, m.groups()[:6]), tzinfo=UTC)
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{value}'") from None


def _simple(item: Mapping[str, Any]) -> Condition:
    if len(item) != 1:
        raise _invalid(
            "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
        )
    ((name, value),) = item.items()
    if value is None or isinstance(value, (list, dict)):
        raise _invalid("Invalid JSON.")
    if not isinstance(value, str):
        raise _invalid("Invalid Simple-Condition: value must be a string.")
    return Condition("eq", name.lower(), (value,), _show(["eq", f"${name}", value]))


def _field_name(name: Any) -> str:
    if not isinstance(name, str):
        raise _invalid("Invalid JSON.")
    return name[1:].lower() if name.startswith("$") else ""


def _array(item: list[Any]) -> Condition:
    if not item:
        raise _invalid("Invalid Condition: missing operation identifier.")
    op = item[0]
    if not isinstance(op, str):
        raise _invalid("Invalid JSON.")
    lowered = op.lower()
    if lowered not in _OPERATIONS:
        raise _invalid(f"Invalid Condition: unknown operation '{op}'.")
    if len(item) != 3:
        raise _invalid(f"Invalid {op}: wrong number of arguments.")
    if lowered == "content-length-range":
        if any(isinstance(v, bool) or not isinstance(v, (int, str)) for v in item[1:]):
            raise _invalid("Invalid JSON.")
        return Condition(lowered, "", (item[1], item[2]), _show(item))
    if not isinstance(item[2], str):
        raise _invalid("Invalid JSON.")
    return Condition(lowered, _field_name(item[1]), (item[2],), _show(item))


def parse(policy_b64: str) -> PostPolicy:
    """The policy as sent in the form (base64 JSON), or InvalidPolicyDocument."""
    doc = _load(policy_b64)
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    for member in doc:  # the names are case-sensitive: "EXPIRATION" is not one
        if member not in ("expiration", "conditions"):
            raise _invalid(f"Unexpected: '{str(member).lower()}'")
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    if "conditions" not in doc:
        raise _invalid("Policy missing conditions.")
    expiration = _expiration(doc["expiration"])
    items = doc["conditions"]
    if not isinstance(items, list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    conditions: list[Condition] = []
    for item in items:
        if isinstance(item, dict):
            conditions.append(_simple(item))
        elif isinstance(item, list):
            conditions.append(_array(item))
        else:
            raise _invalid("Invalid condition test: must be a List or Object.")
    return PostPolicy(expiration, tuple(conditions))


def _integer(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return None


def _holds(cond: Condition, fields: Mapping[str, str]) -> bool:
    value = fields.get(cond.field) if cond.field else None
    if value is None:
        return False  # a condition on a field the form lacks fails, even starts-with ""
    expected = cond.operands[0]
    if cond.op == "eq":
        return value == expected
    if cond.field == "content-type":  # a list: every item must match
        return all(v.strip().startswith(expected) for v in value.split(","))
    return value.startswith(expected)


def check(
    policy: PostPolicy,
    fields: Mapping[str, str],
    sent: Sequence[str],
    exempt: Collection[str],
    *,
    now: datetime,
) -> SizeRange:
    """Does the form meet the policy? Its allowed file size if so, AccessDenied if not.

    ``fields`` maps lower-case names to values (``bucket`` included, from the
    URL); ``sent`` are the form's field names as sent, for the coverage rule.
    """
    if now > policy.expiration:
        raise _denied("Policy expired.")
    size = SizeRange()
    for cond in policy.conditions:
        if cond.op == "content-length-range":
            low, high = (_integer(v) for v in cond.operands)
            if low is None or high is None:
                raise _denied(f"Policy Condition failed: {cond.shown}")
            top = high if size.maximum is None else min(size.maximum, high)
            size = SizeRange(max(size.minimum, low), top)
        elif not _holds(cond, fields):
            raise _denied(f"Policy Condition failed: {cond.shown}")
    named = policy.named
    extra = [
        name
        for name in sent
        if name.lower() not in named
        and name.lower() not in exempt
        and not name.lower().startswith(IGNORED_PREFIX)
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
    return size
