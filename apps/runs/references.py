"""Translating a canonical record's references from source ids to target ids via RecordMap."""

from __future__ import annotations

import copy
from typing import Any

from apps.runs.choices import Action, MapStatus
from apps.runs.models import RecordMap, RecordOutcome
from apps.stores.connectors.canonical import REFERENCES

# A reference whose record is not on the target fails the record (instead of being dropped)
# when losing it would misplace the record: a category under the wrong parent.
REQUIRED = {("categories", "parent")}


def _paths(entity: str) -> list[tuple[str, str, str]]:
    """(list field or "", field, referenced entity) per reference of the entity."""
    result = []
    for path, target_entity in REFERENCES.get(entity, {}).items():
        if "[]." in path:
            outer, inner = path.split("[].", 1)
            result.append((outer, inner, target_entity))
        else:
            result.append(("", path, target_entity))
    return result


def source_ids(entity: str, records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every referenced source id, per referenced entity."""
    wanted: dict[str, set[str]] = {}
    for outer, field, target_entity in _paths(entity):
        bucket = wanted.setdefault(target_entity, set())
        for record in records:
            holders = record.get(outer) or [] if outer else [record]
            for holder in holders:
                value = holder.get(field.removesuffix("[]"))
                values = value if field.endswith("[]") else [value]
                bucket.update(str(v) for v in values or [] if v not in (None, ""))
    return wanted


class Resolver:
    """Loads the RecordMap rows a batch's references need in one query per entity."""

    def __init__(self, project_id: int, entity: str, records: list[dict[str, Any]]) -> None:
        self.entity = entity
        self.maps: dict[str, dict[str, str]] = {}
        for target_entity, ids in source_ids(entity, records).items():
            known = dict(
                RecordMap.objects.filter(
                    project_id=project_id,
                    entity=target_entity,
                    source_id__in=ids,
                    status=MapStatus.SYNCED,
                ).values_list("source_id", "target_id")
            )
            # A duplicate that was excluded stands for the record that kept its key.
            excluded = ids - set(known)
            if excluded:
                known.update(
                    RecordOutcome.objects.filter(
                        run__project_id=project_id,
                        entity=target_entity,
                        source_id__in=excluded,
                        action=Action.SKIPPED,
                    )
                    .exclude(target_id="")
                    .order_by("id")
                    .values_list("source_id", "target_id")
                )
            self.maps[target_entity] = known

    def learn(self, entity: str, source_id: str, target_id: str) -> None:
        """A mapping made in this batch, before it is committed (a tree's parents)."""
        self.maps.setdefault(entity, {})[source_id] = target_id

    def resolve(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The record with target ids, and what could not be resolved. Raises LookupError when
        a required reference is missing."""
        resolved = copy.deepcopy(record)
        missing: list[str] = []
        for outer, field, target_entity in _paths(self.entity):
            known = self.maps.get(target_entity, {})
            holders = resolved.get(outer) or [] if outer else [resolved]
            key = field.removesuffix("[]")
            for holder in holders:
                value = holder.get(key)
                if field.endswith("[]"):
                    ids = [str(v) for v in value or []]
                    missing += [f"{target_entity} {v}" for v in ids if v not in known]
                    holder[key] = sorted(known[v] for v in ids if v in known)
                elif value not in (None, ""):
                    target_id = known.get(str(value))
                    if target_id is None:
                        if (self.entity, key) in REQUIRED:
                            raise LookupError(
                                f"{key} {target_entity} {value} is not on the target yet"
                            )
                        missing.append(f"{target_entity} {value}")
                    holder[key] = target_id
        return resolved, missing
