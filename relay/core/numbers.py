"""Whole numbers from text (ids in paths, form fields, headers)."""
import re

_DIGITS = re.compile(r"\A[0-9]{1,18}\Z")  # ASCII only: str.isdigit() also accepts "²" and "٣"


def parse_whole(text) -> int | None:
    """The number `text` spells in ASCII digits (at most 18), else None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 0 <= text < 10**18 else None
    return int(text) if isinstance(text, str) and _DIGITS.match(text) else None
