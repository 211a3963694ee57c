"""Text as members type it, made safe to store."""
from __future__ import annotations


def clean_text(text: str | None) -> str:
    """No NUL or other control characters (newlines and tabs stay), surrounding blanks trimmed."""
    return "".join(c for c in (text or "") if c in "\n\t" or c >= " " and c != "\x7f").strip()
