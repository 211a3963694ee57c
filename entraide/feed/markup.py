"""The Markdown subset members write in posts and comments, rendered once on write to safe HTML.

Two layers: markdown-it's "zero" preset with only a few rules enabled (raw HTML is never passed through, it is
escaped), then nh3 (ammonia) as an allow-list sanitiser, so that even a bug in the first layer cannot let a
tag, an attribute or a URL scheme through that is not listed here.
"""
from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "a", "ul", "ol", "li", "code"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener ugc"
_RULES = ["paragraph", "newline", "emphasis", "link", "list", "backticks"]


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "zero" has html=False, so typed HTML is escaped; breaks=True turns a single newline into <br>.
    return MarkdownIt("zero", {"breaks": True, "html": False}).enable(_RULES)


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # nh3 lets relative URLs through whatever the schemes: a neighbour's link must name its site, or it is dropped
    # (a relative one could only point somewhere on this site, or be a mangled `javascript:` link).
    if tag == "a" and attribute == "href":
        return value if value.lower().startswith(("http://", "https://", "mailto:")) else None
    return value


def sanitise(html: str) -> str:
    """Keep only the allowed tags; links get rel="nofollow noopener ugc"; other URL schemes and relative links are
    dropped."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL, strip_comments=True,
                     attribute_filter=_absolute_links_only)


def render(text: str) -> str:
    """Markdown subset (paragraphs, line breaks, *emphasis*, **strong**, [links](https://…), lists, `code`) → safe HTML."""
    if not text:
        return ""
    return sanitise(_parser().render(text)).strip()
