"""The RecordMap half of the journal: a row's state before a write, and putting it back.

Every JournalEntry carries `map_before`, the record's RecordMap row as it was before the write
(None when there was none). A rollback restores those rows, so the map says again what the
target held before the run — and the next delta, diffing the source against it, re-applies the
source's changes. Capture is one query per page (`map_states`), never one per record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from apps.runs.choices import MapStatus
from apps.runs.models import RecordMap, Run

# The RecordMap fields a rollback puts back (the row's identity is project, entity, source_id).
MAP_FIELDS = (
    "target_id",
    "natural_key",
    "status",
    "pending_since",
    "source_hash",
    "canonical",
    "target_hash",
    "target_canonical",
    "synced_at",
    "last_run",
)
_TIMES = ("pending_since", "synced_at")


def map_state(row: RecordMap | None, run_id: int | None = None) -> dict[str, Any] | None:
    """A RecordMap row as JSON (None for no row). A pending mark this run made itself (an
    earlier attempt of the same batch) counts as no row: before the run there was no target
    record known for it."""
    if row is None:
        return None
    if run_id is not None and row.status == MapStatus.PENDING and row.last_run_id == run_id:
        return None
    state: dict[str, Any] = {}
    for name in MAP_FIELDS:
        if name == "last_run":
            state[name] = row.last_run_id
        elif name in _TIMES:
            moment: datetime | None = getattr(row, name)
            state[name] = moment.isoformat() if moment else None
        else:
            state[name] = getattr(row, name)
    return state


def map_states(
    project_id: int, entity: str, source_ids: Iterable[str], run_id: int | None = None
) -> dict[str, dict[str, Any] | None]:
    """The rows of these records in one query: source id → state (None when unmapped)."""
    wanted = list(dict.fromkeys(source_ids))
    rows = {
        row.source_id: row
        for row in RecordMap.objects.filter(
            project_id=project_id, entity=entity, source_id__in=wanted
        )
    }
    return {sid: map_state(rows.get(sid), run_id) for sid in wanted}


def restore_maps(project_id: int, entity: str, states: dict[str, dict[str, Any] | None]) -> None:
    """Put rows back: delete those that did not exist, upsert the others (two queries, plus
    one to drop references to runs since deleted)."""
    gone = [sid for sid, state in states.items() if state is None]
    rows = RecordMap.objects.filter(project_id=project_id, entity=entity)
    if gone:
        rows.filter(source_id__in=gone).delete()
    kept = {sid: state for sid, state in states.items() if state is not None}
    if not kept:
        return
    run_ids = {s["last_run"] for s in kept.values() if s.get("last_run")}
    existing = set(Run.objects.filter(pk__in=run_ids).values_list("pk", flat=True))
    objs = []
    for sid, state in kept.items():
        fields = {name: state.get(name) for name in MAP_FIELDS if name != "last_run"}
        for name in _TIMES:
            fields[name] = parse_datetime(fields[name]) if fields[name] else None
        for name in ("target_id", "natural_key", "source_hash", "target_hash"):
            fields[name] = fields[name] or ""
        for name in ("canonical", "target_canonical"):
            fields[name] = fields[name] or {}
        last_run = state.get("last_run")
        objs.append(
            RecordMap(
                project_id=project_id,
                entity=entity,
                source_id=sid,
                last_run_id=last_run if last_run in existing else None,
                **fields,
            )
        )
    RecordMap.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["project", "entity", "source_id"],
        update_fields=list(MAP_FIELDS),
    )
