"""Put the redirects on the target: BigCommerce through its redirects API, WooCommerce as a
file in the Redirection plugin's CSV import format (WordPress has no redirect API of its own).

BigCommerce: rows with a new URL are upserted in the API's batches through the target's
connector (so under the store's shared rate limiter). A row for a migrated record points at
the record (`to: {type: product, entity_id}`), so the redirect follows the record if its URL
changes later; other rows point at the URL. A batch the platform refuses (422) is sent again
one row at a time, so one bad row fails alone with the platform's reason.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.projects.models import Project
from apps.redirects.choices import MapState
from apps.redirects.models import Redirect
from apps.redirects.paths import BadUrl, relative
from apps.stores.connectors.base import ConnectorError
from apps.stores.connectors.bigcommerce.redirects import DEFAULT_SITE_ID, UPSERT_BATCH
from apps.stores.connectors.bigcommerce.urls import REDIRECT_TYPES
from apps.stores.services import build_connector

MAX_JOB_ERRORS = 200
#: Header of the Redirection plugin's own CSV export, which its importer reads back.
REDIRECTION_HEADER = ("source", "target", "regex", "code", "type", "hits", "title", "status")


def _pushable(project: Project) -> list[Redirect]:
    rows = Redirect.objects.filter(project=project).exclude(new_url="").order_by("old_path")
    base = project.target_store.storefront_base
    keep = []
    for row in rows:
        try:
            if relative(row.new_url, base) == row.old_path:
                continue  # the page keeps its URL: nothing to redirect
        except BadUrl:
            pass
        keep.append(row)
    return keep


def _from_path_key(path: str) -> str:
    # BigCommerce stores from_path without its trailing slash.
    return (path.split("?", 1)[0].rstrip("/") or "/") + (
        "?" + path.split("?", 1)[1] if "?" in path else ""
    )


def _payload(row: Redirect, base: str) -> dict[str, Any]:
    kind = REDIRECT_TYPES.get(row.entity)
    if kind and row.target_id.isdigit():
        to: dict[str, Any] = {"type": kind, "entity_id": int(row.target_id)}
    else:
        try:
            url = relative(row.new_url, base)
        except BadUrl:
            url = row.new_url
        to = {"type": "url", "url": url}
    return {"from_path": row.old_path, "site_id": DEFAULT_SITE_ID, "to": to}


def push_bigcommerce(project: Project) -> tuple[dict[str, int], list[dict[str, Any]]]:
    rows = _pushable(project)
    base = project.target_store.storefront_base
    counts = {"pushed": 0, "failed": 0}
    errors: list[dict[str, Any]] = []
    connector = build_connector(project.target_store)
    try:
        for start in range(0, len(rows), UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            try:
                stored = connector.redirects.upsert([_payload(r, base) for r in batch])
                _record(batch, stored, counts)
            except ConnectorError as exc:
                if exc.status not in (400, 409, 413, 422):
                    raise  # the store refuses us, not the rows: the job fails with the reason
                for row in batch:  # find the bad rows: each one alone
                    try:
                        _record([row], connector.redirects.upsert([_payload(row, base)]), counts)
                    except ConnectorError as one:
                        if one.status not in (400, 409, 413, 422):
                            raise
                        _failed(row, str(one), counts, errors)
    finally:
        connector.close()
    return counts, errors


def _record(batch: list[Redirect], stored: list[dict[str, Any]], counts: dict[str, int]) -> None:
    ids = {_from_path_key(str(r.get("from_path", ""))): str(r.get("id", "")) for r in stored}
    now = timezone.now()
    with transaction.atomic():
        for row in batch:
            row.target_redirect_id = ids.get(_from_path_key(row.old_path), "")
            row.state, row.push_error, row.pushed_at = MapState.PUSHED, "", now
            # What is on the target changed: the last check no longer says anything.
            row.problem, row.checked_at = "", None
        Redirect.objects.bulk_update(
            batch,
            ["target_redirect_id", "state", "push_error", "pushed_at", "problem", "checked_at"],
        )
    counts["pushed"] += len(batch)


def _failed(
    row: Redirect, reason: str, counts: dict[str, int], errors: list[dict[str, Any]]
) -> None:
    row.state, row.push_error = MapState.FAILED, reason[:2000]
    row.save(update_fields=["state", "push_error", "updated_at"])
    counts["failed"] += 1
    if len(errors) < MAX_JOB_ERRORS:
        errors.append({"path": row.old_path, "reason": reason[:500]})


def mark_exported(project: Project) -> dict[str, int]:
    """WooCommerce target: the rows the export file carries are marked as exported."""
    rows = _pushable(project)
    now = timezone.now()
    Redirect.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=MapState.EXPORTED, pushed_at=now, push_error="", problem="", checked_at=None
    )
    return {"exported": len(rows)}


def _cell(value: Any) -> str:
    # The plugin's escape_csv: numbers bare, everything else quoted with "" doubled.
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def redirection_csv(project: Project) -> str:
    """The Redirection plugin's CSV (source, target, regex, code, type, hits, title, status):
    sources relative to the site, absolute targets, plain (not regex) 301s."""
    lines = [",".join(REDIRECTION_HEADER)]
    for row in _pushable(project):
        title = f"Migrated {row.entity or row.origin} {row.source_id}".strip()
        values = (row.old_path, row.new_url, 0, 301, "url", 0, title, "active")
        lines.append(",".join(_cell(v) for v in values))
    return "\n".join(lines) + "\n"
