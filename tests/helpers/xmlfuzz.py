"""Hypothesis strategies for S3 XML request bodies (shared by the unit and functional fuzz).

Documents follow an operation's schema with fuzzed values (a dictionary of
values that broke parsers: Unicode digits, thousands of digits, blanks), or
are random trees over its element names, now and then mangled byte-wise.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from s3compat import xmlio

# Values that have broken number and text parsers somewhere.
TRICKY = [
    "", " ", "0", "1", "2", "10000", "10001", "-1", "+1", " 7 ", "1_0", "0x10", "1e3", "1.5",
    "²", "١٢", "𝟗", "٣" * 9, "9" * 4301, "0" * 5000 + "1", "\t", "true", "True", "false",
    "Enabled", "Suspended", "READ", "WRITE", "FULL_CONTROL", "READ_ACP", "*", "**", "GET", "PUT",
    "http://acs.amazonaws.com/groups/global/AllUsers", '"d41d8cd98f00b204e9800998ecf8427e"',
    "us-east-1", "EU", "a" * 300,
]  # fmt: skip
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=24))


def tree(names: list[str]) -> st.SearchStrategy[tuple[str, str, list[Any]]]:
    """(tag, text, children) trees over one vocabulary."""
    leaf = st.tuples(st.sampled_from(names), TEXT, st.just([]))
    return st.recursive(
        leaf,
        lambda kids: st.tuples(st.sampled_from(names), TEXT, st.lists(kids, max_size=5)),
        max_leaves=30,
    )


def render(root: str, children: list[tuple[str, str, list[Any]]], ns: bool) -> bytes:
    def one(node: tuple[str, str, list[Any]]) -> str:
        tag, text, kids = node
        return f"<{tag}>{escape(text)}{''.join(one(k) for k in kids)}</{tag}>"

    attrs = f' xmlns="{xmlio.S3_NS}"' if ns else ""
    return f"<{root}{attrs}>{''.join(one(c) for c in children)}</{root}>".encode()


NUMBERS = ["1", "2", "-1", " 7 ", "1_0", "²", "١٢", "9" * 4301, ""]
NUMBER = st.one_of(st.sampled_from(NUMBERS), st.integers(-5, 2**70).map(str))


@st.composite
def shaped(draw: st.DrawFn, shape: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """Children that follow a schema (``{tag: sub-shape | strategy}``), each 0-2 times."""
    out = []
    for tag, sub in shape.items():
        for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
            if isinstance(sub, dict):
                out.append((tag, "", draw(shaped(sub))))
            else:
                out.append((tag, draw(sub), []))
    if draw(st.booleans()):
        out = draw(st.permutations(out))
    return out


@st.composite
def document(
    draw: st.DrawFn, root: str, names: list[str], shape: dict[str, Any] | None = None
) -> bytes:
    random_tree = st.lists(tree(names), max_size=6)
    use_shape = shape and draw(st.integers(0, 3))
    children = draw(shaped(shape) if use_shape else random_tree)
    body = render(root, children, draw(st.booleans()))
    how = draw(st.sampled_from(["as is"] * 7 + ["cut", "flip", "insert"]))
    if how == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    elif how == "flip":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    elif how == "insert":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=16)) + body[at:]
    return body


CORS_NAMES = ["CORSRule", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader",
              "MaxAgeSeconds", "ID"]  # fmt: skip
# Mostly valid methods and origins, so the fuzzed values behind them are reached.
CORS_SHAPE = {
    "CORSRule": {
        **dict.fromkeys(CORS_NAMES[1:], TEXT),
        "AllowedOrigin": st.sampled_from(["*", "https://a.example", "*.x.*"]) | TEXT,
        "AllowedMethod": st.sampled_from(["GET", "PUT", "HEAD"]) | TEXT,
        "MaxAgeSeconds": NUMBER,
    }
}
