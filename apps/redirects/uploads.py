"""Old URLs from a CSV file or a sitemap.

CSV: one URL per row, `old URL[, new URL]` (absolute URLs or paths; a header row whose first
cell is not a URL is skipped). Sitemap: `<urlset><url><loc>` (sitemaps.org); a sitemap index is
recognised, and its child sitemaps are listed as rows to upload one by one (this server does not
fetch URLs a file names). XML is parsed with defusedxml, which refuses entity expansion
("billion laughs"), external entities and DTDs that the standard library would process.

A bad row is reported with its number and reason and the rest of the file is kept. An old URL
without a new URL is matched to a collected row with the same path, else it stays unmapped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.db import transaction

from apps.projects.models import Project
from apps.redirects.choices import MapState, Origin
from apps.redirects.models import Redirect
from apps.redirects.paths import BadUrl, absolute, relative

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class UploadRejected(ValueError):
    """The whole file is unusable (the message says why); `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Parsed:
    rows: list[tuple[int, str, str]] = field(default_factory=list)  # (row, old, new)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def bad(self, row: int, value: str, reason: str) -> None:
        self.errors.append({"row": row, "value": value[:200], "reason": reason})


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRejected("The file is not UTF-8 text.") from None


def _looks_like_url(cell: str) -> bool:
    return cell.startswith(("/", "http://", "https://"))


def parse_csv(data: bytes) -> Parsed:
    parsed = Parsed()
    reader = csv.reader(io.StringIO(_text(data)))
    try:
        for number, row in enumerate(reader, start=1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if number == 1 and not _looks_like_url(cells[0]):
                continue  # a header
            if len(cells) > 2 and any(cells[2:]):
                parsed.bad(number, ",".join(cells), "expected at most two columns: old, new")
                continue
            parsed.rows.append((number, cells[0], cells[1] if len(cells) > 1 else ""))
    except csv.Error as exc:
        raise UploadRejected(f"The CSV cannot be read: {exc}.") from None
    return parsed


def parse_sitemap(data: bytes) -> Parsed:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise UploadRejected("The sitemap uses DTDs or entities, which are not accepted.") from None
    except SafeET.ParseError as exc:
        raise UploadRejected(f"The sitemap is not well-formed XML: {exc}.") from None
    parsed = Parsed()
    tag = root.tag.removeprefix(SITEMAP_NS)
    if tag == "sitemapindex":
        for number, item in enumerate(root, start=1):
            loc = (item.findtext(f"{SITEMAP_NS}loc") or "").strip()
            parsed.bad(number, loc, "a child sitemap of an index: upload that sitemap itself")
        return parsed
    if tag != "urlset":
        raise UploadRejected(f"Expected a sitemap <urlset> or <sitemapindex>, not <{tag}>.")
    for number, item in enumerate(root, start=1):
        loc = item.findtext(f"{SITEMAP_NS}loc")
        if loc is None or not loc.strip():
            parsed.bad(number, "", "<url> without a <loc>")
            continue
        parsed.rows.append((number, loc.strip(), ""))
    return parsed


def parse(kind: str, data: bytes) -> Parsed:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", status=413
        )
    parsed = parse_csv(data) if kind == "csv" else parse_sitemap(data)
    if len(parsed.rows) > MAX_ROWS:
        raise UploadRejected(f"The file has more than {MAX_ROWS} URLs.", status=413)
    return parsed


@transaction.atomic
def apply(project: Project, kind: str, parsed: Parsed) -> dict[str, int]:
    """Upsert the parsed rows; bad rows go to parsed.errors. Returns counts."""
    source_base = project.source_store.storefront_base
    target_base = project.target_store.storefront_base
    origin = Origin.CSV if kind == "csv" else Origin.SITEMAP
    wanted: dict[str, tuple[int, str]] = {}
    for number, old, new in parsed.rows:
        try:
            path = relative(old, source_base)
        except BadUrl as exc:
            parsed.bad(number, old, f"old URL: {exc}")
            continue
        new_url = ""
        if new:
            if not target_base:
                parsed.bad(number, new, "new URL: the target store has no storefront URL")
                continue
            try:
                new_url = absolute(new, target_base)
            except BadUrl as exc:
                parsed.bad(number, new, f"new URL: {exc}")
                continue
        if path in wanted:
            parsed.bad(number, old, f"the same old URL as row {wanted[path][0]}")
            continue
        wanted[path] = (number, new_url)
    rows = Redirect.objects.filter(project=project, old_path__in=list(wanted))
    existing = {r.old_path: r for r in rows}
    counts = {"rows": len(parsed.rows), "created": 0, "updated": 0, "matched": 0, "unmapped": 0}
    counts["mapped"] = 0
    creates: list[Redirect] = []
    updates: list[Redirect] = []
    for path, (_, new_url) in wanted.items():
        row = existing.get(path)
        if row is None:
            creates.append(
                Redirect(
                    project=project,
                    old_path=path,
                    new_url=new_url,
                    origin=origin,
                    state=MapState.MAPPED if new_url else MapState.UNMAPPED,
                )
            )
            counts["created"] += 1
            counts["mapped" if new_url else "unmapped"] += 1
        elif not new_url:
            # Already known (collected from the source, or uploaded before): nothing to change.
            counts["matched" if row.new_url else "unmapped"] += 1
        elif new_url != row.new_url:
            row.new_url, row.origin, row.state = new_url, origin, MapState.MAPPED
            row.target_redirect_id, row.problem, row.checked_at = "", "", None
            updates.append(row)
            counts["updated"] += 1
    Redirect.objects.bulk_create(creates, batch_size=500)
    Redirect.objects.bulk_update(
        updates,
        ["new_url", "origin", "state", "target_redirect_id", "problem", "checked_at"],
        batch_size=500,
    )
    parsed.errors.sort(key=lambda error: error["row"])
    counts["bad_rows"] = len(parsed.errors)
    return counts
