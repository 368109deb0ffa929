"""Collect old URLs from the source store and map each to its migrated record's new URL.

Reads the source's categories, brands, products and posts (those in the project's scope) page
by page through its connector and takes each record's storefront URL; RecordMap names the
target record, whose URL is read from the target in batches by id. Rows are upserted by
(project, old_path): a row uploaded earlier without a new URL is matched here by its path; a
new URL someone typed or uploaded is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apps.projects.models import Project
from apps.redirects.choices import MapState, Origin
from apps.redirects.models import Redirect
from apps.redirects.paths import BadUrl, absolute, relative
from apps.runs.models import RecordMap
from apps.stores.services import build_connector

logger = logging.getLogger(__name__)

ENTITIES = ("categories", "brands", "products", "posts")
PAGE_SIZE = 100
READ_BATCH = 100


def _entities(project: Project) -> list[str]:
    return [entity for entity in ENTITIES if entity in (project.entities or [])]


def _source_urls(connector: Any, entity: str, base: str, counts: dict[str, int]) -> dict[str, str]:
    """source id → old path, for every record of the entity that has a storefront URL."""
    found: dict[str, str] = {}
    cursor: dict[str, Any] | None = None
    while True:
        page = connector.read_page(entity, cursor, PAGE_SIZE)
        for raw in page.records:
            url = connector.storefront_url(entity, raw)
            if not url:
                counts["no_url"] = counts.get("no_url", 0) + 1
                continue
            try:
                found[connector.record_id(raw)] = relative(url, base)
            except BadUrl:
                counts["bad_url"] = counts.get("bad_url", 0) + 1
        if page.next_cursor is None or not page.records:
            return found
        cursor = page.next_cursor


def _target_urls(connector: Any, entity: str, target_ids: list[str], base: str) -> dict[str, str]:
    """target id → new absolute URL, read from the target in batches."""
    urls: dict[str, str] = {}
    for start in range(0, len(target_ids), READ_BATCH):
        for raw in connector.read_by_ids(entity, target_ids[start : start + READ_BATCH]):
            url = connector.storefront_url(entity, raw)
            if url:
                try:
                    urls[connector.record_id(raw)] = absolute(url, base)
                except BadUrl:
                    continue
    return urls


def collect(project: Project) -> dict[str, int]:
    source_store, target_store = project.source_store, project.target_store
    source_base = source_store.storefront_base
    target_base = target_store.storefront_base
    if not target_base:
        raise ValueError(
            f"The target store “{target_store.name}” has no storefront URL: set it on the store."
        )
    counts: dict[str, int] = {"collected": 0, "mapped": 0, "unmapped": 0, "kept": 0}
    source = build_connector(source_store)
    target = build_connector(target_store)
    try:
        for entity in _entities(project):
            old = _source_urls(source, entity, source_base, counts)
            maps = dict(
                RecordMap.objects.filter(project=project, entity=entity, source_id__in=list(old))
                .exclude(target_id="")
                .values_list("source_id", "target_id")
            )
            new = _target_urls(target, entity, sorted(set(maps.values())), target_base)
            _save(project, entity, old, maps, new, counts)
    finally:
        source.close()
        target.close()
    return counts


@transaction.atomic
def _save(
    project: Project,
    entity: str,
    old: dict[str, str],
    maps: dict[str, str],
    new: dict[str, str],
    counts: dict[str, int],
) -> None:
    existing = {
        r.old_path: r for r in Redirect.objects.filter(project=project, old_path__in=old.values())
    }
    creates: list[Redirect] = []
    updates: list[Redirect] = []
    seen: set[str] = set()
    for source_id, old_path in old.items():
        if old_path in seen:
            counts["duplicate_path"] = counts.get("duplicate_path", 0) + 1
            continue
        seen.add(old_path)
        target_id = maps.get(source_id, "")
        new_url = new.get(target_id, "") if target_id else ""
        counts["collected"] += 1
        counts["mapped" if new_url else "unmapped"] += 1
        row = existing.get(old_path)
        if row is None:
            creates.append(
                Redirect(
                    project=project,
                    old_path=old_path,
                    new_url=new_url,
                    entity=entity,
                    source_id=source_id,
                    target_id=target_id,
                    origin=Origin.SOURCE,
                    state=MapState.MAPPED if new_url else MapState.UNMAPPED,
                )
            )
            continue
        row.entity, row.source_id, row.target_id = entity, source_id, target_id
        if row.origin != Origin.SOURCE and row.new_url:
            counts["kept"] += 1  # someone chose this destination: keep it
        elif new_url != row.new_url:
            row.new_url = new_url
            row.state = MapState.MAPPED if new_url else MapState.UNMAPPED
            # A new destination makes the last push and check stale.
            row.target_redirect_id, row.problem, row.checked_at = "", "", None
        updates.append(row)
    Redirect.objects.bulk_create(creates, batch_size=500)
    Redirect.objects.bulk_update(
        updates,
        [
            "entity",
            "source_id",
            "target_id",
            "new_url",
            "state",
            "target_redirect_id",
            "problem",
            "checked_at",
        ],
        batch_size=500,
    )
