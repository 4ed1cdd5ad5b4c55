"""Non-negative decimal numbers from untrusted text (headers, queries, XML, login keys).

``str.isdigit()`` is true for digits ``int()`` refuses (``"²"``) and
``int()`` refuses strings of more than 4300 digits: a check with one and a
parse with the other turned such input into a ValueError, that is a 500.
"""

from __future__ import annotations

MAX_DIGITS = 64  # far beyond any count, size or time a protocol field holds


def ascii_uint(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of ``text`` if it is 1 to ``max_digits`` ASCII digits, else None."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
