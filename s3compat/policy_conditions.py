"""Bucket policy ``Condition`` blocks: every operator IAM documents, checked and judged.

An operator is ``[ForAnyValue:|ForAllValues:]<base>[IfExists]`` (``Null``
takes neither). The bases are IAM's: String*, Numeric*, Date*, Bool,
BinaryEquals, IpAddress / NotIpAddress, Arn* and Null. A condition's values
are validated when the policy is put (:func:`validate_block`), so judging a
request (:func:`holds`) never meets a value it cannot read.

The semantics are AWS's: several values of one key match when any does (a
negated operator: when none does); a key the request lacks makes a positive
operator false and a negated one true; ``IfExists`` makes a missing key
true; ``ForAllValues`` holds when every request value matches (and when there
are none), ``ForAnyValue`` when at least one does. Policy variables
(``${aws:username}``, ``${*}``, ...) in String and Arn values are
substituted from the request.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from s3compat.errors import S3Error

Value = str | tuple[str, ...]

_STRING = {
    "StringEquals": ("eq", False),
    "StringNotEquals": ("eq", True),
    "StringEqualsIgnoreCase": ("ieq", False),
    "StringNotEqualsIgnoreCase": ("ieq", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "ArnEquals": ("like", False),
    "ArnLike": ("like", False),
    "ArnNotEquals": ("like", True),
    "ArnNotLike": ("like", True),
    "BinaryEquals": ("bin", False),
}
_NUMERIC = {
    "NumericEquals": ("==", False),
    "NumericNotEquals": ("==", True),
    "NumericLessThan": ("<", False),
    "NumericLessThanEquals": ("<=", False),
    "NumericGreaterThan": (">", False),
    "NumericGreaterThanEquals": (">=", False),
}
_DATE = {name.replace("Numeric", "Date"): spec for name, spec in _NUMERIC.items()}
_OTHER = {"Bool": ("bool", False), "IpAddress": ("ip", False), "NotIpAddress": ("ip", True)}
BASES: dict[str, tuple[str, bool]] = {**_STRING, **_NUMERIC, **_DATE, **_OTHER}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Operator:
    """A parsed condition operator."""

    base: str  # e.g. "StringLike", or "Null"
    test: str  # how a value is compared: eq, ieq, like, bin, ==, <, ..., bool, ip, null
    negated: bool
    if_exists: bool
    quantifier: str | None  # "ForAnyValue", "ForAllValues" or None

    @property
    def kind(self) -> str:
        if self.base in _NUMERIC:
            return "numeric"
        if self.base in _DATE:
            return "date"
        return self.test


def _malformed(msg: str) -> S3Error:
    return S3Error("MalformedPolicy", msg)


@lru_cache(maxsize=256)
def parse_operator(name: str) -> Operator:
    """``ForAllValues:StringLikeIfExists`` -> its parts; MalformedPolicy for anything else."""
    quantifier, _, rest = name.rpartition(":")
    if quantifier not in ("", "ForAnyValue", "ForAllValues"):
        raise _malformed(f"Invalid Condition type : {name}")
    if rest == "Null":
        if quantifier:
            raise _malformed(f"Invalid Condition type : {name}")
        return Operator("Null", "null", False, False, None)
    if_exists = rest.endswith("IfExists")
    base = rest.removesuffix("IfExists")
    if base not in BASES:
        raise _malformed(f"Invalid Condition type : {name}")
    test, negated = BASES[base]
    return Operator(base, test, negated, if_exists, quantifier or None)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_date(text: str) -> float | None:
    """An ISO 8601 date or time (``Z`` or an offset; UTC if none), or epoch seconds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_value(op: Operator, key: str, value: Any) -> None:
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise _malformed(f"Invalid Condition value for {op.base}: {key}")
    text = str(value)
    ok = True
    if op.kind in ("bool", "null"):
        ok = text.lower() in ("true", "false")
    elif op.kind == "numeric":
        ok = _parse_number(text) is not None
    elif op.kind == "date":
        ok = parse_date(text) is not None
    elif op.kind == "ip":
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            ok = False
    elif op.kind == "bin":
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            ok = False
    if not ok:
        raise _malformed(f"Invalid Condition value for {op.base}: {key}: {text!r}")


def validate_block(cond: Any, check_key: Callable[[str], None]) -> None:
    """A statement's ``Condition``: known operators, keys (``check_key``) and values."""
    if not isinstance(cond, dict):
        raise _malformed("Condition must be an object")
    for name, tests in cond.items():
        op = parse_operator(str(name))
        if not isinstance(tests, dict) or not tests:
            raise _malformed(f"Condition {name} must name keys and values")
        for key, wanted in tests.items():
            check_key(str(key))
            values = _listify(wanted)
            if not values:
                raise _malformed(f"Condition {name} has no values for {key}")
            for value in values:
                _check_value(op, str(key), value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@lru_cache(maxsize=4096)
def _pattern(glob: str, case: bool) -> re.Pattern[str]:
    out: list[str] = []
    literal = False
    for c in glob:
        if c == "\x00":  # the next character is literal (``${*}``, ``${?}``)
            literal = True
            continue
        out.append(
            re.escape(c) if literal else ".*" if c == "*" else "." if c == "?" else re.escape(c)
        )
        literal = False
    return re.compile("".join(out), re.S if case else re.S | re.I)


def glob_match(glob: str, value: str, *, case: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character."""
    return _pattern(glob, case).fullmatch(value) is not None


def substitute(text: str, lookup: Callable[[str], Value | None]) -> str:
    """Policy variables: ``${aws:username}`` and kin; ``${*}``, ``${?}``, ``${$}`` literal."""
    if "${" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("*", "?", "$"):
            return "\x00" + name  # a literal character, not a wildcard
        got = lookup(name)
        return got if isinstance(got, str) else m.group(0)

    return _VARIABLE.sub(one, text)


def _matches(op: Operator, actual: str, wanted: str) -> bool:
    """One request value against one policy value, before negation."""
    test = op.test
    if test == "eq":
        return actual == wanted.replace("\x00", "")
    if test == "ieq":
        wanted = wanted.replace("\x00", "")
        return actual.lower() == wanted.lower()
    if test == "like":
        return glob_match(wanted, actual)
    if test == "bin":
        return actual == wanted
    if test == "bool":
        return actual.lower() == wanted.lower()
    if test == "ip":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
        except ValueError:
            return False
    a, w = (
        (parse_date(actual), parse_date(wanted))
        if op.kind == "date"
        else (_parse_number(actual), _parse_number(wanted))
    )
    if a is None or w is None:
        return False
    return _COMPARE[test](a, w)


def _one_value(op: Operator, actual: str, wanted: list[str]) -> bool:
    hit = any(_matches(op, actual, w) for w in wanted)
    return hit != op.negated


def test_condition(
    op: Operator, wanted_raw: Any, actual: Value | None, lookup: Callable[[str], Value | None]
) -> bool:
    """Does one key's test hold for the request's value (None: the key is absent)?"""
    if op.base == "Null":
        return (actual is None) == (_text(wanted_raw).lower() == "true")
    wanted = [_text(w) for w in _listify(wanted_raw)]
    if op.test in ("eq", "ieq", "like"):
        wanted = [substitute(w, lookup) for w in wanted]
    values = () if actual is None else (actual,) if isinstance(actual, str) else actual
    if op.quantifier == "ForAllValues":
        return all(_one_value(op, v, wanted) for v in values)
    if op.quantifier == "ForAnyValue":
        return any(_one_value(op, v, wanted) for v in values)
    if not values:
        return op.if_exists or op.negated
    if op.negated:
        return all(_one_value(op, v, wanted) for v in values)
    return any(_one_value(op, v, wanted) for v in values)


def holds(cond: Mapping[str, Any], lookup: Callable[[str], Value | None]) -> bool:
    """Do all of a statement's conditions hold (``lookup``: a key's request value)?"""
    for name, tests in cond.items():
        op = parse_operator(name)
        for key, wanted in tests.items():
            if not test_condition(op, wanted, lookup(key), lookup):
                return False
    return True
