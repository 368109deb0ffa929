"""The record pipeline of one batch: normalise → validate → diff against RecordMap → write.

Exactly-once effects on an at-least-once queue:
- before a create is sent, its RecordMap row is committed as `pending`;
- a record found `pending` (an earlier attempt may have created it) is first looked up on the
  target by its natural key and adopted if there;
- a create the target refuses as a duplicate (409, or WooCommerce's duplicated SKU) is looked up
  and adopted the same way — this also covers a create that committed before the connection
  dropped and was then re-sent by the HTTP client.
The outcomes, journal, RecordMap rows and batch counters are then written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from apps.projects import cleansing, mapping
from apps.runs import batches, journal, signals, threeway, validation
from apps.runs.choices import Action, BatchStatus, JournalOp, MapStatus
from apps.runs.models import EntityBatch, JournalEntry, RecordMap, RecordOutcome
from apps.runs.planning import TREE_ENTITIES
from apps.runs.references import Resolver
from apps.stores.connectors.base import (
    Connector,
    RecordInvalid,
    WriteItem,
    WriteResult,
    parse_timestamp,
)
from apps.stores.connectors.canonical import NATURAL_KEY, content_hash

# Statuses a platform answers a duplicate with (WooCommerce 400 product_invalid_sku /
# registration-error-email-exists, BigCommerce 409 and 422 for customers): the engine looks the
# record up by its natural key before calling it a failure.
DUPLICATE_STATUSES = {400, 409, 422}
PATH_SEPARATOR = " > "
# Batch counters per outcome action (EntityBatch fields).
COUNTERS = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "merged",
    "conflicts",
    "deleted",
)
COUNTERS_OF = {
    Action.CREATED: "created",
    Action.UPDATED: "updated",
    Action.UNCHANGED: "unchanged",
    Action.SKIPPED: "skipped",
    Action.FAILED: "failed",
    Action.MERGED: "merged",
    Action.CONFLICT: "conflicts",
    Action.DELETED: "deleted",
}
# How far the platform's clock may lag ours when telling our own creates from older records.
CLOCK_SKEW = timedelta(seconds=60)


def _maybe_duplicate(result: WriteResult) -> bool:
    return bool(result.extra.get("duplicate")) or result.status in DUPLICATE_STATUSES


class LeaseLost(Exception):
    """Another worker took over this batch (our lease expired); our results are discarded."""


@dataclass
class Item:
    source_id: str
    natural_key: str = ""
    canonical: dict[str, Any] | None = None
    digest: str = ""
    action: str = ""
    reason: str = ""
    target_id: str = ""
    target_hash: str = ""
    journal: tuple[str, dict[str, Any] | None] | None = None
    keep_pending: bool = False
    # The canonical record with its references translated to target ids, and its digest (what
    # the target's own canonical form of the record should hash to).
    resolved: dict[str, Any] | None = None
    resolved_digest: str = ""
    notes: list[str] = field(default_factory=list)
    # For an excluded duplicate: the source record that keeps the natural key.
    keeper: str = ""
    pending_since: datetime | None = None
    # From RecordMap, for the three-way merge of an update: what we last wrote (source terms)
    # and the target's canonical form right after that write, with its hash.
    base: dict[str, Any] | None = None
    base_target: dict[str, Any] | None = None
    base_target_hash: str = ""
    target_canonical: dict[str, Any] | None = None
    source_modified: datetime | None = None
    # For a record sent to the review queue: the Conflict row's fields (kind included).
    conflict: dict[str, Any] | None = None
    # What a delete sweep does to the record's RecordMap row: "remove" or "archive".
    map_change: str = ""
    # The RecordMap row before this run wrote it (journal.map_state), for the journal entry.
    map_before: dict[str, Any] | None = None

    def finish(self, action: str, reason: str = "") -> None:
        self.action = action
        self.reason = "; ".join([reason, *self.notes]) if reason else "; ".join(self.notes)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def normalise(
    entity: str,
    source: Connector,
    raws: list[dict[str, Any]],
    *,
    field_mapping: dict[str, Any] | None = None,
    rules: dict[str, bool] | None = None,
) -> list[Item]:
    """One Item per source record: read, mapped, cleansed, validated. A record that cannot be
    read or fails validation fails alone, with the reason."""
    items: dict[str, Item] = {}
    key_field = NATURAL_KEY.get(entity, "")
    rules = rules or cleansing.rules(None)
    for position, raw in enumerate(raws, start=1):
        try:
            source_id = source.record_id(raw)
        except (KeyError, TypeError, ValueError):
            source_id = f"?{position}"
            items[source_id] = Item(source_id, action=Action.FAILED, reason="record has no id")
            continue
        item = Item(source_id)
        items[source_id] = item  # a record listed twice on a page is processed once
        try:
            canonical = source.to_canonical(entity, raw)
            canonical = mapping.apply(entity, canonical, field_mapping or {})
        except RecordInvalid as exc:
            item.finish(Action.FAILED, f"unreadable record: {_describe(exc)}")
            continue
        except Exception as exc:  # whatever a record holds, it fails alone
            item.finish(Action.FAILED, f"unreadable record: {type(exc).__name__}: {exc}")
            continue
        item.source_modified = source.modified_at(entity, raw)
        canonical, item.notes = cleansing.cleanse(entity, canonical, rules)
        item.canonical = canonical
        item.natural_key = str(canonical.get(key_field) or "")[:255]
        item.digest = content_hash(canonical)
        problems = validation.problems(entity, canonical)
        if problems:
            item.finish(Action.FAILED, "; ".join(problems))
    return list(items.values())


def _levels(items: list[Item]) -> list[list[Item]]:
    """Items grouped by depth in their tree (the path's separators), roots first."""
    by_depth: dict[int, list[Item]] = {}
    for item in items:
        by_depth.setdefault(item.natural_key.count(PATH_SEPARATOR), []).append(item)
    return [by_depth[depth] for depth in sorted(by_depth)]


def _only(level: list[Item], group: list[Item]) -> list[Item]:
    members = {id(item) for item in level}
    return [item for item in group if id(item) in members]


def _id_order(source_id: str) -> tuple[int, int | str]:
    return (0, int(source_id)) if source_id.isdigit() else (1, source_id)


class BatchProcessor:
    def __init__(
        self, batch: EntityBatch, source: Connector, target: Connector, *, dry: bool = False
    ) -> None:
        # A dry run classifies every record (reading the target) and writes nothing.
        self.dry = dry
        self.batch = batch
        self.run = batch.run
        self.project_id = batch.run.project_id
        self.entity = batch.entity
        self.source = source
        self.target = target
        project = batch.run.project
        self.rules = cleansing.rules(project.cleansing)
        self.field_mapping = mapping.effective_mapping(
            project.source_store.api_family,
            project.target_store.api_family,
            project.field_mappings,
        )
        self.policies = project.conflict_policies
        self._requests_counted = 0

    def execute(self) -> None:
        """Process the whole batch: one page, a list of ids, or — for a delta's change scan —
        every page of the window, committing page by page with the cursor to resume from."""
        cursor = self.batch.cursor
        if cursor.get("mode") == "changes":
            since = parse_timestamp(cursor.get("since"))
            until = parse_timestamp(cursor["until"])
            resume = cursor.get("resume")
            while True:
                page = self.source.read_changes(
                    self.entity, since, until, resume, settings.SOURCE_PAGE_SIZE
                )
                items = self.process_records(page.records)
                resume = page.next_cursor
                self.commit(items, cursor={**cursor, "resume": resume}, done=resume is None)
                if resume is None:
                    return
        raws, gone = self.read()
        self.commit(self.process_records(raws) + gone)

    # --- reading -------------------------------------------------------------------------
    def read(self) -> tuple[list[dict[str, Any]], list[Item]]:
        """The raw records of this batch, plus Items for requested ids the source lacks."""
        cursor = self.batch.cursor
        if "ids" in cursor:
            ids = [str(i) for i in cursor["ids"]]
            raws = self.source.read_by_ids(self.entity, ids) if ids else []
            found = {self.source.record_id(raw) for raw in raws}
            gone = [
                Item(i, action=Action.SKIPPED, reason="no longer in the source store")
                for i in ids
                if i not in found
            ]
            return raws, gone
        page = self.source.read_page(self.entity, cursor, int(cursor.get("per_page", 100)))
        return page.records, []

    # --- the pipeline --------------------------------------------------------------------
    def process(self) -> list[Item]:
        raws, gone = self.read()
        return self.process_records(raws) + gone

    def process_records(self, raws: list[dict[str, Any]]) -> list[Item]:
        items = normalise(
            self.entity, self.source, raws, field_mapping=self.field_mapping, rules=self.rules
        )
        if self.rules["dedupe_by_natural_key"]:
            self._exclude_duplicates(items)
        todo = [item for item in items if not item.action]
        maps = {
            m.source_id: m
            for m in RecordMap.objects.filter(
                project_id=self.project_id,
                entity=self.entity,
                source_id__in=[item.source_id for item in todo],
            )
        }
        creates: list[Item] = []
        pending: list[Item] = []
        updates: list[Item] = []
        for item in todo:
            record_map = maps.get(item.source_id)
            item.map_before = journal.map_state(record_map, self.run.pk)
            if record_map is None:
                creates.append(item)
            elif record_map.status == MapStatus.PENDING or not record_map.target_id:
                item.pending_since = record_map.pending_since
                pending.append(item)
            elif record_map.source_hash == item.digest:
                item.target_id = record_map.target_id
                item.target_hash = record_map.target_hash
                item.finish(Action.UNCHANGED)
            else:
                item.target_id = record_map.target_id
                item.base = record_map.canonical
                item.base_target = record_map.target_canonical
                item.base_target_hash = record_map.target_hash
                updates.append(item)

        writing = [*creates, *pending, *updates]
        resolver = Resolver(self.project_id, self.entity, [i.canonical for i in writing])
        if self.entity in TREE_ENTITIES:
            # A child's parent must exist on the target before the child is written: write
            # level by level and teach the resolver each level's new target ids.
            for level in _levels(writing):
                self._resolve(level, resolver)
                self._write(*(_only(level, group) for group in (creates, pending, updates)))
                for item in level:
                    if item.target_id and item.action in (Action.CREATED, Action.UPDATED):
                        resolver.learn(self.entity, item.source_id, item.target_id)
        else:
            self._resolve(writing, resolver)
            self._write(creates, pending, updates)
        return items

    def _write(self, creates: list[Item], pending: list[Item], updates: list[Item]) -> None:
        creates, pending, updates = (
            [i for i in g if not i.action] for g in (creates, pending, updates)
        )
        if self.dry:
            for item in [*creates, *pending]:
                item.finish(Action.CREATED, "dry run: would create")
            self._update(updates)
            return
        # Earlier attempts may have created these: look before creating again.
        for item in pending:
            found = self.target.find_by_natural_key(self.entity, item.natural_key)
            if found is None:
                creates.append(item)
            else:
                self._adopt(item, found, created_by_us=self._ours(item, found))
        recreate = self._update(updates)
        self._create(creates + recreate)

    def _exclude_duplicates(self, items: list[Item]) -> None:
        """A second source record with the same natural key is excluded (documented, not
        failed): the first by id, or the one already mapped, keeps the key."""
        keyed = [i for i in items if not i.action and i.natural_key]
        if not keyed:
            return
        owners: dict[str, set[str]] = {}
        for key, source_id in RecordMap.objects.filter(
            project_id=self.project_id,
            entity=self.entity,
            natural_key__in={i.natural_key for i in keyed},
        ).values_list("natural_key", "source_id"):
            owners.setdefault(key, set()).add(source_id)
        key_field = NATURAL_KEY.get(self.entity, "key")
        for item in sorted(keyed, key=lambda i: _id_order(i.source_id)):
            others = owners.setdefault(item.natural_key, set()) - {item.source_id}
            if others:
                first = min(others, key=_id_order)
                item.keeper = first
                item.finish(
                    Action.SKIPPED,
                    f"excluded: same {key_field} {item.natural_key!r} as source record {first}",
                )
            else:
                owners[item.natural_key].add(item.source_id)

    def _resolve(self, items: list[Item], resolver: Resolver) -> None:
        for item in items:
            try:
                item.resolved, missing = resolver.resolve(item.canonical)
            except LookupError as exc:
                item.finish(Action.FAILED, str(exc))
                continue
            if missing:
                item.notes.append(f"not on the target, left out: {', '.join(missing[:5])}")
            item.notes.extend(self.target.write_notes(self.entity, item.resolved))
            item.resolved_digest = content_hash(item.resolved)

    def _heartbeat(self) -> None:
        if not batches.heartbeat(self.batch):
            raise LeaseLost(f"batch {self.batch.pk}: lease taken over")

    def _mark_pending(self, items: list[Item]) -> None:
        """Commit the pending marks before any create is sent (the crash-safety point)."""
        if not items:
            return
        now = timezone.now()
        for item in items:
            item.pending_since = now
        with transaction.atomic():
            RecordMap.objects.bulk_create(
                [
                    RecordMap(
                        project_id=self.project_id,
                        entity=self.entity,
                        source_id=item.source_id,
                        natural_key=item.natural_key,
                        status=MapStatus.PENDING,
                        pending_since=now,
                        last_run=self.run,
                    )
                    for item in items
                ],
                update_conflicts=True,
                unique_fields=["project", "entity", "source_id"],
                update_fields=["status", "natural_key", "last_run", "pending_since"],
            )

    def _chunks(self, items: list[Any]) -> list[list[Any]]:
        size = max(1, self.target.max_write_batch.get(self.entity, 1))
        return [items[i : i + size] for i in range(0, len(items), size)]

    def _read_targets(self, target_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The target's current records by id, in one call: the connector pages the ids in its
        platform's read limit (100 or more), not in the smaller write batches."""
        return {
            self.target.record_id(raw): raw
            for raw in self.target.read_by_ids(self.entity, target_ids)
        }

    def _target_form(self, record: dict[str, Any] | None) -> dict[str, Any]:
        """The target's canonical form of one of its records ({} when it cannot be read)."""
        if not record:
            return {}
        try:
            return self.target.to_canonical(self.entity, record)
        except (RecordInvalid, KeyError, TypeError, ValueError):
            return {}

    def _target_hash(self, record: dict[str, Any] | None) -> str:
        form = self._target_form(record)
        return content_hash(form) if form else ""

    def _written(self, item: Item, record: dict[str, Any] | None) -> None:
        item.target_canonical = self._target_form(record)
        item.target_hash = content_hash(item.target_canonical) if item.target_canonical else ""

    def _create(self, items: list[Item]) -> None:
        self._mark_pending(items)
        by_ref = {item.source_id: item for item in items}
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
                if result.ok:
                    item.target_id = str(result.target_id)
                    self._written(item, result.record)
                    item.journal = (JournalOp.CREATED, None)
                    item.finish(Action.CREATED)
                elif _maybe_duplicate(result) and item.natural_key:
                    self._adopt_duplicate(item, result)
                else:
                    item.keep_pending = result.retryable
                    item.finish(Action.FAILED, f"target refused the record: {result.error}")

    def _adopt_duplicate(self, item: Item, result: WriteResult) -> None:
        found = self.target.find_by_natural_key(self.entity, item.natural_key)
        if found is None:
            item.finish(Action.FAILED, f"target refused the record: {result.error}")
            return
        self._adopt(item, found, created_by_us=self._ours(item, found))

    def _ours(self, item: Item, found: dict[str, Any]) -> bool:
        """Whether a target record with the item's key is our own create whose answer was lost
        (a dropped connection after the commit, a worker killed after the request): equal
        content, or created after we marked the record pending. Anything else was already
        there, and is journalled with its pre-image so a rollback restores, not deletes, it."""
        if self._target_hash(found) == item.resolved_digest:
            return True
        created = self.target.created_at(self.entity, found)
        if created is None or item.pending_since is None:
            return False
        return created >= item.pending_since - CLOCK_SKEW

    def _adopt(self, item: Item, found: dict[str, Any], *, created_by_us: bool) -> None:
        item.target_id = self.target.record_id(found)
        written = found
        if self._target_hash(found) != item.resolved_digest:
            payload = self.target.from_canonical(self.entity, item.resolved)
            [result] = self.target.update(
                self.entity,
                [WriteItem(ref=item.source_id, target_id=item.target_id, payload=payload)],
            )
            if not result.ok:
                item.keep_pending = True
                item.finish(Action.FAILED, f"target refused the update: {result.error}")
                return
            written = result.record or found
        self._written(item, written)
        if created_by_us:
            item.journal = (JournalOp.CREATED, None)
            item.finish(Action.CREATED)
        else:
            item.journal = (JournalOp.UPDATED, found)
            item.finish(Action.UPDATED, "adopted the record already on the target (same key)")

    def _update(self, items: list[Item]) -> list[Item]:
        """Update changed records, journalling each pre-image. A record the target changed
        too since our last write is merged field by field (threeway.py); what no policy
        settles goes to the review queue. Returns the items whose target record has gone (to
        be created again)."""
        if not items:
            return []
        pre_images = self._read_targets([i.target_id for i in items])
        gone = [item for item in items if item.target_id not in pre_images]
        present = [item for item in items if item.target_id in pre_images]
        for item in present:
            self._three_way(item, pre_images[item.target_id])
        to_write = [i for i in present if not i.action]
        if self.dry:
            for item in to_write:
                item.finish(Action.UPDATED, "dry run: would update")
            for item in gone:
                item.finish(Action.CREATED, "dry run: would create again (gone from the target)")
            return []
        by_ref = {item.source_id: item for item in to_write}
        for chunk in self._chunks(to_write):
            write = [
                WriteItem(
                    ref=i.source_id,
                    target_id=i.target_id,
                    payload=self.target.from_canonical(self.entity, i.resolved),
                    current=pre_images[i.target_id],
                )
                for i in chunk
            ]
            results = self.target.update(self.entity, write)
            self._heartbeat()
            for result in results:
                item = by_ref[result.ref]
                if result.ok:
                    self._written(item, result.record)
                    item.journal = (JournalOp.UPDATED, pre_images[item.target_id])
                    item.finish(Action.MERGED if item.conflict is not None else Action.UPDATED)
                    item.conflict = None
                else:
                    item.finish(Action.FAILED, f"target refused the update: {result.error}")
        for item in gone:
            item.target_id = ""
        return gone

    def _three_way(self, item: Item, pre_image: dict[str, Any]) -> None:
        """Untouched on the target since our write: a plain update. Touched: merge, and mark
        the item merged (its `resolved` becomes the merged record) or in conflict."""
        target_now = self._target_form(pre_image)
        if not item.base_target_hash or content_hash(target_now) == item.base_target_hash:
            return
        result = threeway.merge(
            self.entity,
            base=item.base or {},
            source=item.canonical or {},
            source_resolved=item.resolved or {},
            base_target=item.base_target or {},
            target=target_now,
            policies=self.policies,
            source_time=item.source_modified,
            target_time=self.target.modified_at(self.entity, pre_image),
        )
        conflict = {
            "kind": "edit",
            "base": item.base or {},
            "source": item.canonical or {},
            "source_resolved": item.resolved or {},
            "target": target_now,
            "merged": result.merged,
            "fields": result.unresolved,
            "policy": "manual",
            "source_hash": item.digest,
            "target_hash": content_hash(target_now),
        }
        if result.unresolved:
            item.conflict = conflict
            item.finish(
                Action.CONFLICT,
                f"changed on both sides: {', '.join(result.unresolved)} (sent to review)",
            )
            return
        # Settled: write the merge (target terms), keeping the target's own edits.
        item.resolved = result.merged
        item.conflict = conflict  # marks the write as a merge; cleared once written
        if not result.source_changed:
            item.finish(Action.UNCHANGED, "only the target changed: kept")
        if self.dry and not item.action:
            item.finish(Action.MERGED, "dry run: would merge")

    # --- committing ----------------------------------------------------------------------
    def _point_exclusions_at_keepers(self, items: list[Item]) -> None:
        """An excluded record's outcome names the target record that stands for it, so records
        referring to the duplicate (an order of a duplicate customer) attach to the keeper."""
        excluded = [i for i in items if i.keeper]
        if not excluded:
            return
        known = {i.source_id: i.target_id for i in items if i.target_id}
        missing = {i.keeper for i in excluded} - set(known)
        known.update(
            RecordMap.objects.filter(
                project_id=self.project_id, entity=self.entity, source_id__in=missing
            )
            .exclude(target_id="")
            .values_list("source_id", "target_id")
        )
        for item in excluded:
            item.target_id = known.get(item.keeper, "")

    def commit(
        self, items: list[Item], *, cursor: dict[str, Any] | None = None, done: bool = True
    ) -> dict[str, int]:
        """Write outcomes, journal, RecordMap, conflicts and the batch's counters in one
        transaction, only if this worker still holds the lease. A batch that pages (a delta's
        change scan) commits each page with the cursor to resume from; `done` ends it."""
        now = timezone.now()
        with transaction.atomic():
            holder = (
                EntityBatch.objects.select_for_update()
                .filter(pk=self.batch.pk)
                .values_list("lease_owner", "status")
                .first()
            )
            if holder != (self.batch.lease_owner, BatchStatus.RUNNING):
                raise LeaseLost(f"batch {self.batch.pk} is now held by {holder}")
            if not self.dry:
                self._write_maps(items, now)
            items = self._keep_earlier_writes(items)
            RecordOutcome.objects.bulk_create(
                [
                    RecordOutcome(
                        run=self.run,
                        batch=self.batch,
                        entity=self.entity,
                        source_id=i.source_id,
                        natural_key=i.natural_key,
                        action=i.action,
                        target_id=i.target_id,
                        reason=i.reason[:4000],
                        payload_digest=i.digest,
                    )
                    for i in items
                ],
                update_conflicts=True,
                unique_fields=["run", "entity", "source_id"],
                update_fields=[
                    "batch",
                    "natural_key",
                    "action",
                    "target_id",
                    "reason",
                    "reason_key",
                    "payload_digest",
                    "created_at",
                ],
            )
            # Counted from the batch's outcomes: exact however often a page was re-read.
            counts = dict.fromkeys(COUNTERS, 0)
            for action, n in (
                RecordOutcome.objects.filter(batch=self.batch)
                .values_list("action")
                .annotate(n=Count("id"))
            ):
                counts[COUNTERS_OF.get(action, "skipped")] += n
            fields: dict[str, Any] = {
                "read": sum(counts.values()),
                "requests": F("requests") + self.target.requests_sent - self._requests_counted,
                **counts,
            }
            self._requests_counted = self.target.requests_sent
            if cursor is not None:
                fields["cursor"] = cursor
            if done:
                fields.update(
                    status=BatchStatus.DONE,
                    lease_owner="",
                    lease_expires_at=None,
                    finished_at=now,
                    error="",
                )
            EntityBatch.objects.filter(pk=self.batch.pk).update(**fields)
        return counts

    def _keep_earlier_writes(self, items: list[Item]) -> list[Item]:
        """A record read twice in one run (named by a webhook and in the delta's window, or at
        a page boundary) keeps the outcome of the pass that wrote it, not "unchanged"."""
        unchanged = [i.source_id for i in items if i.action == Action.UNCHANGED]
        if not unchanged:
            return items
        written = set(
            RecordOutcome.objects.filter(run=self.run, entity=self.entity, source_id__in=unchanged)
            .exclude(action__in=[Action.UNCHANGED, Action.SKIPPED, Action.FAILED])
            .values_list("source_id", flat=True)
        )
        return [i for i in items if not (i.action == Action.UNCHANGED and i.source_id in written)]

    def _journal(self, items: list[Item]) -> None:
        """The journal entries of the items that wrote to the target (one insert)."""
        JournalEntry.objects.bulk_create(
            [
                JournalEntry(
                    run=self.run,
                    entity=self.entity,
                    source_id=i.source_id,
                    target_id=i.target_id,
                    op=i.journal[0],
                    pre_image=i.journal[1],
                    map_before=i.map_before,
                )
                for i in items
                if i.journal is not None
            ]
        )

    def _write_maps(self, items: list[Item], now: datetime) -> None:
        """RecordMap, pending marks, journal and review-queue rows of a committed page."""
        synced = [i for i in items if i.action in (Action.CREATED, Action.UPDATED, Action.MERGED)]
        RecordMap.objects.bulk_create(
            [
                RecordMap(
                    project_id=self.project_id,
                    entity=self.entity,
                    source_id=i.source_id,
                    target_id=i.target_id,
                    natural_key=i.natural_key,
                    status=MapStatus.SYNCED,
                    source_hash=i.digest,
                    canonical=i.canonical or {},
                    target_hash=i.target_hash,
                    target_canonical=i.target_canonical or {},
                    last_run=self.run,
                    synced_at=now,
                )
                for i in synced
            ],
            update_conflicts=True,
            unique_fields=["project", "entity", "source_id"],
            update_fields=[
                "target_id",
                "natural_key",
                "status",
                "source_hash",
                "canonical",
                "target_hash",
                "target_canonical",
                "last_run",
                "synced_at",
            ],
        )
        # A create the target refused for good left nothing behind: drop its pending mark.
        refused = [i.source_id for i in items if i.action == Action.FAILED and not i.keep_pending]
        if refused:
            RecordMap.objects.filter(
                project_id=self.project_id,
                entity=self.entity,
                source_id__in=refused,
                status=MapStatus.PENDING,
            ).delete()
        self._point_exclusions_at_keepers(items)
        self._journal(items)
        rows = RecordMap.objects.filter(project_id=self.project_id, entity=self.entity)
        removed = [i.source_id for i in items if i.map_change == "remove"]
        if removed:
            rows.filter(source_id__in=removed).delete()
        archived = [i.source_id for i in items if i.map_change == "archive"]
        if archived:
            rows.filter(source_id__in=archived).update(status=MapStatus.ARCHIVED)
        for item in items:
            if item.action == Action.CONFLICT and item.conflict is not None:
                open_conflict(
                    self.run,
                    self.entity,
                    item.source_id,
                    item.target_id,
                    item.natural_key,
                    **item.conflict,
                )


def open_conflict(
    run: Any, entity: str, source_id: str, target_id: str, natural_key: str, **fields: Any
) -> None:
    """Open a review-queue row for a record, or refresh the open one (one per record)."""
    conflict_model = django_apps.get_model("conflicts", "Conflict")
    conflict, created = conflict_model.objects.update_or_create(
        project_id=run.project_id,
        entity=entity,
        source_id=source_id,
        status="open",
        defaults={"run": run, "target_id": target_id, "natural_key": natural_key, **fields},
    )
    if created:
        transaction.on_commit(
            lambda: signals.conflict_opened.send(
                sender=type(run), run=run, conflict=conflict, entity=entity, source_id=source_id
            )
        )
