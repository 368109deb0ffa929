"""URL arithmetic for redirects: old URLs are kept as a path (and query) relative to the source
storefront's root; new URLs as absolute URLs on the target storefront.

A storefront may live under a path (a sandbox at {server}/sandbox/<slug>, a WordPress site in a
subdirectory): its path prefix is taken off whatever host a URL names, since a shop's own
permalinks may carry another host than the one it is reached at (a staging copy, a CDN).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

MAX_URL = 2000


class BadUrl(ValueError):
    """A URL that cannot be a storefront page (the message says why)."""


def relative(url: str, base: str) -> str:
    """`url` (absolute or a path) as a path + query relative to the storefront `base`."""
    text = (url or "").strip()
    if not text:
        raise BadUrl("empty URL")
    if len(text) > MAX_URL:
        raise BadUrl(f"longer than {MAX_URL} characters")
    if any(c.isspace() for c in text):
        raise BadUrl("contains whitespace")
    parts = urlsplit(text)
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise BadUrl(f"not a web URL (scheme {parts.scheme!r})")
    if parts.scheme and not parts.netloc:
        raise BadUrl("has no host")
    if not parts.scheme and not text.startswith("/"):
        raise BadUrl("neither an absolute URL nor a path starting with /")
    path = parts.path or "/"
    prefix = urlsplit(base).path.rstrip("/") if base else ""
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def absolute(path_or_url: str, base: str) -> str:
    """A path on the storefront `base` (or a URL, taken as its path) → absolute URL there."""
    return base.rstrip("/") + relative(path_or_url, base)


def same(a: str, b: str) -> bool:
    """Whether two absolute URLs name the same page (host case and a trailing slash aside)."""
    x, y = urlsplit(a), urlsplit(b)
    return (
        x.netloc.lower() == y.netloc.lower()
        and (x.path.rstrip("/") or "/") == (y.path.rstrip("/") or "/")
        and x.query == y.query
    )


def follow(url: str, location: str) -> str:
    return urljoin(url, location)
