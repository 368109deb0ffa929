"""Rolling a run back from its journal: one batch of journal entries of one entity and phase.

The plan (planning._make_rollback_plan) cuts the parent run's journal into batches of first
entries — one per record, the state before the run's first touch — in two phases:

- remove:  the run created the record: delete it on the target (already gone is fine) and put
           the RecordMap row back (deleted when there was none);
- restore: the run updated or deleted it: write the pre-image back, or re-create it from the
           pre-image when it is no longer there (looked up by natural key first, so a re-run
           batch never creates twice), and put the row back with the (new) target id.

References in a pre-image name target ids as they were; a record the run deleted and this
rollback re-created has a new id, so references are translated old → new (from the parent's
journal and the restored RecordMap rows) before writing.

Each record gets one outcome in the rollback run; what the rollback itself wrote is journalled
on the rollback run (with its own pre-images and map_before), like any run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.runs import journal, references
from apps.runs.choices import Action, JournalOp
from apps.runs.models import JournalEntry, RecordMap
from apps.runs.planning import TREE_ENTITIES
from apps.runs.processing import PATH_SEPARATOR, BatchProcessor, Item
from apps.stores.connectors.base import RecordInvalid, WriteItem
from apps.stores.connectors.canonical import NATURAL_KEY, REFERENCES, content_hash

# What a platform cannot give back when it re-creates a record (said in the outcome).
RECREATE_NOTES = {
    "customers": "the customer's password cannot be restored (they must reset it)",
    "orders": "re-created as a new order (new id and creation record on the platform)",
}
# Raw fields holding a tree parent's id (BigCommerce categories, WooCommerce categories).
RAW_PARENT_KEYS = ("parent_id", "parent")


@dataclass
class Undo(Item):
    """One record to roll back: its first and latest journal entries in the parent run."""

    first: JournalEntry | None = None
    last: JournalEntry | None = None
    # The RecordMap row to put back (None: no row), once the target is as it was.
    map_after: dict[str, Any] | None = None
    restore_map: bool = False
    # The hash of the pre-image's canonical form before references were translated.
    pre_digest: str = ""
    current: dict[str, Any] | None = None


def _depth(item: Undo) -> int:
    return item.natural_key.count(PATH_SEPARATOR)


class RollbackProcessor(BatchProcessor):
    def execute(self) -> None:
        cursor = self.batch.cursor
        parent_id = self.run.parent_id
        firsts = list(
            JournalEntry.objects.filter(
                pk__in=cursor.get("entries") or [], run_id=parent_id, entity=self.entity
            ).order_by("id")
        )
        source_ids = [entry.source_id for entry in firsts]
        lasts: dict[str, JournalEntry] = {}
        for entry in JournalEntry.objects.filter(
            run_id=parent_id, entity=self.entity, source_id__in=source_ids
        ).order_by("id"):
            lasts[entry.source_id] = entry
        # The rows as they are now: this rollback's own journal keeps them (one query).
        now_maps = journal.map_states(self.project_id, self.entity, source_ids)
        items = []
        for entry in firsts:
            before = entry.map_before or {}
            now = now_maps.get(entry.source_id) or {}
            items.append(
                Undo(
                    entry.source_id,
                    natural_key=before.get("natural_key") or now.get("natural_key") or "",
                    first=entry,
                    last=lasts.get(entry.source_id, entry),
                    map_before=now_maps.get(entry.source_id),
                )
            )
        present = [
            i.last.target_id for i in items if i.last.op != JournalOp.DELETED and i.last.target_id
        ]
        current = self._read_targets(present) if present else {}
        for item in items:
            if item.last.op != JournalOp.DELETED:
                item.target_id = item.last.target_id
                item.current = current.get(item.target_id)
        if cursor.get("phase") == "remove":
            self._remove(items)
        else:
            self._restore(items)
        self.commit(items)

    # --- remove: what the run created ----------------------------------------------------
    def _remove(self, items: list[Undo]) -> None:
        run_label = f"run #{self.run.parent_id}"
        for item in items:
            item.map_after = item.first.map_before
            item.target_id = item.target_id or item.last.target_id
            if item.current is None:
                item.restore_map = True
                item.finish(Action.DELETED, f"created by {run_label}; already gone from the target")
        todo = [i for i in items if i.current is not None]
        # A tree's children go before their parents (deleting a parent may take its children).
        levels = (
            [
                [i for i in todo if _depth(i) == depth]
                for depth in sorted({_depth(i) for i in todo}, reverse=True)
            ]
            if self.entity in TREE_ENTITIES
            else [todo]
        )
        for level in levels:
            for chunk in self._chunks(level):
                by_id = {i.target_id: i for i in chunk}
                results = self.target.delete(self.entity, list(by_id))
                self._heartbeat()
                for result in results:
                    item = by_id.get(str(result.ref))
                    if item is None:
                        continue
                    if result.ok or result.status == 404:
                        item.journal = (JournalOp.DELETED, item.current)
                        item.restore_map = True
                        item.finish(Action.DELETED, f"created by {run_label}: deleted")
                    else:
                        item.finish(Action.FAILED, f"target refused the delete: {result.error}")

    # --- restore: what the run updated or deleted ----------------------------------------
    def _restore(self, items: list[Undo]) -> None:
        translations = self._translations()
        if self.entity not in TREE_ENTITIES:
            for item in items:
                self._wanted(item, translations)
            self._write_back([i for i in items if not i.action])
            return
        # A tree goes level by level, parents first: a re-created parent's new id is learnt
        # before its children's pre-images are read and written.
        own = translations.setdefault(self.entity, {})
        for depth in sorted({_depth(i) for i in items}):
            level = [i for i in items if _depth(i) == depth]
            for item in level:
                self._wanted(item, translations)
            self._write_back([i for i in level if not i.action])
            for item in level:
                old = item.first.target_id
                if item.action == Action.CREATED and old and old != item.target_id:
                    own[old] = item.target_id

    def _wanted(self, item: Undo, translations: dict[str, dict[str, str]]) -> None:
        """The record as the pre-image had it, in the target's terms, references translated."""
        pre_image = item.first.pre_image
        if not pre_image:
            item.finish(Action.FAILED, "the journal has no pre-image of this record")
            return
        raw = copy.deepcopy(pre_image)
        if self.entity in TREE_ENTITIES:
            moved = translations.get(self.entity, {})
            for key in RAW_PARENT_KEYS:
                if str(raw.get(key)) in moved:
                    raw[key] = type(raw[key])(moved[str(raw[key])])
        try:
            canonical = self.target.to_canonical(self.entity, raw)
            item.pre_digest = content_hash(self.target.to_canonical(self.entity, pre_image))
        except (RecordInvalid, KeyError, TypeError, ValueError) as exc:
            item.finish(Action.FAILED, f"cannot read the journalled pre-image: {exc}")
            return
        item.resolved = _translate(self.entity, canonical, translations)
        item.resolved_digest = content_hash(item.resolved)
        key = item.resolved.get(NATURAL_KEY.get(self.entity, ""))
        item.natural_key = item.natural_key or str(key or "")[:255]
        item.map_after = dict(item.first.map_before) if item.first.map_before else None

    def _translations(self) -> dict[str, dict[str, str]]:
        """Old target id → new target id, per entity this one references (and itself, for a
        tree): the records the parent run deleted and this rollback re-created (two queries
        per referenced entity)."""
        found: dict[str, dict[str, str]] = {}
        for entity in set(REFERENCES.get(self.entity, {}).values()):
            old = dict(
                JournalEntry.objects.filter(
                    run_id=self.run.parent_id, entity=entity, op=JournalOp.DELETED
                ).values_list("source_id", "target_id")
            )
            if not old:
                continue
            new = dict(
                RecordMap.objects.filter(
                    project_id=self.project_id, entity=entity, source_id__in=list(old)
                )
                .exclude(target_id="")
                .values_list("source_id", "target_id")
            )
            found[entity] = {
                old[sid]: new[sid] for sid in old if sid in new and new[sid] != old[sid]
            }
        return found

    def _write_back(self, items: list[Undo]) -> None:
        updates = [i for i in items if i.current is not None]
        missing = [i for i in items if i.current is None]
        for item in missing:
            # Gone (the run deleted it): look it up first, so a re-run never creates twice.
            key = item.resolved.get(NATURAL_KEY.get(self.entity, "")) if item.resolved else None
            found = self.target.find_by_natural_key(self.entity, str(key)) if key else None
            if found is not None and not self._read_targets([self.target.record_id(found)]):
                # A connector's cached copy (reading the pre-image may have taught it the
                # record) is not the record: only one the platform returns counts.
                found = None
            if found is not None:
                item.target_id = self.target.record_id(found)
                item.current = found
                item.journal = (JournalOp.CREATED, None)  # our own re-create, answer lost
        self._put_back([i for i in [*updates, *missing] if i.current is not None])
        self._recreate([i for i in missing if i.current is None])

    def _put_back(self, items: list[Undo]) -> None:
        for item in items:
            if self._target_hash(item.current) == item.resolved_digest:
                self._written(item, item.current)
                self._restored(item, "already as before the run")
        by_ref = {i.source_id: i for i in items if not i.action}
        for chunk in self._chunks(list(by_ref.values())):
            write = [
                WriteItem(
                    ref=i.source_id,
                    target_id=i.target_id,
                    payload=self.target.from_canonical(self.entity, i.resolved),
                    # The target's record now, not the pre-image: a connector matches the
                    # sub-records it must keep (BigCommerce variants by SKU) against it.
                    current=i.current,
                )
                for i in chunk
            ]
            results = self.target.update(self.entity, write)
            self._heartbeat()
            for result in results:
                item = by_ref[result.ref]
                if not result.ok:
                    item.finish(Action.FAILED, f"target refused the pre-image: {result.error}")
                    continue
                self._written(item, result.record)
                if item.journal is None:
                    item.journal = (JournalOp.UPDATED, item.current)
                self._restored(item, "pre-image written back")

    def _recreate(self, items: list[Undo]) -> None:
        # No pending mark: the natural-key lookup in _write_back is the retry guard.
        by_ref = {i.source_id: i for i in items}
        for chunk in self._chunks(items):
            write = [
                WriteItem(
                    ref=i.source_id, payload=self.target.from_canonical(self.entity, i.resolved)
                )
                for i in chunk
            ]
            results = self.target.create(self.entity, write)
            self._heartbeat()
            for result in results:
                item = by_ref[result.ref]
                if not result.ok:
                    item.finish(Action.FAILED, f"the target cannot re-create it: {result.error}")
                    continue
                item.target_id = str(result.target_id)
                self._written(item, result.record)
                item.journal = (JournalOp.CREATED, None)
                self._restored(item, "")

    def _restored(self, item: Undo, how: str) -> None:
        """The target holds the pre-image again: check it and put the RecordMap row back."""
        state = item.map_after
        if state is not None:
            state = {**state, "target_id": item.target_id}
            if state.get("target_hash") == item.pre_digest and item.target_hash:
                # The map said the target held what we last wrote; it does again, only with
                # re-created references under new ids: record the form now on the target.
                state["target_hash"] = item.target_hash
                state["target_canonical"] = item.target_canonical or {}
        item.map_after = state
        item.restore_map = True
        created = item.journal is not None and item.journal[0] == JournalOp.CREATED
        if created:
            was = item.first.target_id
            how = f"re-created from its pre-image as {item.target_id} (was {was})"
            if note := RECREATE_NOTES.get(self.entity):
                how = f"{how}; {note}"
        if item.target_hash and item.target_hash != item.resolved_digest:
            differs = _differing(item.target_canonical or {}, item.resolved or {})
            item.finish(
                Action.FAILED,
                f"{how}, but the target differs from the pre-image in: {', '.join(differs)}",
            )
        else:
            item.finish(Action.CREATED if created else Action.UPDATED, how)

    # --- committing ----------------------------------------------------------------------
    def _write_maps(self, items: list[Item], now: datetime) -> None:  # type: ignore[override]
        """RecordMap rows back as they were, and this rollback's own journal."""
        undone = [i for i in items if isinstance(i, Undo) and i.restore_map]
        journal.restore_maps(
            self.project_id, self.entity, {i.source_id: i.map_after for i in undone}
        )
        self._journal(items)


def _translate(
    entity: str, canonical: dict[str, Any], translations: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The canonical record with references to re-created records pointing at their new ids."""
    record = copy.deepcopy(canonical)
    for outer, field, target_entity in references._paths(entity):
        moved = translations.get(target_entity)
        if not moved:
            continue
        key = field.removesuffix("[]")
        for holder in record.get(outer) or [] if outer else [record]:
            value = holder.get(key)
            if field.endswith("[]"):
                holder[key] = sorted(moved.get(str(v), str(v)) for v in value or [])
            elif value not in (None, ""):
                holder[key] = moved.get(str(value), value)
    return record


def _differing(now: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(now) | set(wanted) if now.get(k) != wanted.get(k)) or ["?"]
