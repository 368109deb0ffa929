"""Records deleted at the source: found by an id-set diff against RecordMap (or named by a
webhook), then handled by the entity's delete policy:

- propagate: delete on the target (journalled with its pre-image, so a rollback re-creates it);
- archive:   hide on the target (status draft) where the entity has a status, else review;
- review:    a "delete" conflict in the review queue (the default: nothing vanishes silently).
"""

from __future__ import annotations

from typing import Any

from apps.runs import journal
from apps.runs.choices import Action, JournalOp, MapStatus
from apps.runs.models import RecordMap
from apps.runs.processing import BatchProcessor, Item
from apps.stores.connectors.base import WriteItem

ARCHIVABLE = {"products", "posts"}  # entities whose canonical form has a status


class DeleteProcessor(BatchProcessor):
    def execute(self) -> None:
        self.commit(self.sweep())

    def _gone_ids(self) -> list[str]:
        """Mapped records the source no longer has. A listing that misses an id (a webhook's
        word, or a page that shifted under a paged listing) is confirmed by asking for the
        record itself: only records the source cannot return are treated as deleted."""
        mapped = RecordMap.objects.filter(
            project_id=self.project_id, entity=self.entity, status=MapStatus.SYNCED
        )
        named = self.batch.cursor.get("ids")
        if named is not None:
            candidates = list(
                mapped.filter(source_id__in=[str(i) for i in named]).values_list(
                    "source_id", flat=True
                )
            )
        else:
            present = set(self.source.list_ids(self.entity))
            candidates = [s for s in mapped.values_list("source_id", flat=True) if s not in present]
        still_there = {
            self.source.record_id(raw) for raw in self.source.read_by_ids(self.entity, candidates)
        }
        return [source_id for source_id in candidates if source_id not in still_there]

    def sweep(self) -> list[Item]:
        gone = self._gone_ids()
        if not gone:
            return []
        policy = (self.run.project.delete_policies or {}).get(self.entity, "review")
        if policy == "archive" and self.entity not in ARCHIVABLE:
            policy = "review"
        maps = {
            m.source_id: m
            for m in RecordMap.objects.filter(
                project_id=self.project_id, entity=self.entity, source_id__in=gone
            )
        }
        items = [
            Item(
                sid,
                natural_key=maps[sid].natural_key,
                target_id=maps[sid].target_id,
                map_before=journal.map_state(maps[sid]),
            )
            for sid in gone
        ]
        pre_images = self._read_targets([i.target_id for i in items])
        for item in items:
            pre_image = pre_images.get(item.target_id)
            if pre_image is None:
                item.finish(Action.DELETED, "deleted at the source; already gone from the target")
                item.map_change = "remove"
            elif self.dry and policy == "review":
                item.finish(Action.CONFLICT, "dry run: deleted at the source, would go to review")
            elif self.dry:
                item.finish(Action.DELETED, f"dry run: deleted at the source, would {policy}")
            elif policy == "propagate":
                self._propagate(item, pre_image)
            elif policy == "archive":
                self._archive(item, pre_image, maps[item.source_id])
            else:
                target_now = self._target_form(pre_image)
                item.finish(Action.CONFLICT, "deleted at the source (sent to review)")
                item.conflict = {
                    "kind": "delete",
                    "base": maps[item.source_id].canonical,
                    "target": target_now,
                    "policy": "review",
                }
        return items

    def _propagate(self, item: Item, pre_image: dict[str, Any]) -> None:
        [result] = self.target.delete(self.entity, [item.target_id])
        self._heartbeat()
        if result.ok:
            item.journal = (JournalOp.DELETED, pre_image)
            item.finish(Action.DELETED, "deleted at the source: deleted on the target")
            item.map_change = "remove"
        else:
            item.finish(Action.FAILED, f"target refused the delete: {result.error}")

    def _archive(self, item: Item, pre_image: dict[str, Any], record_map: RecordMap) -> None:
        hidden = {**self._target_form(pre_image), "status": "draft"}
        [result] = self.target.update(
            self.entity,
            [
                WriteItem(
                    ref=item.source_id,
                    target_id=item.target_id,
                    payload=self.target.from_canonical(self.entity, hidden),
                )
            ],
        )
        self._heartbeat()
        if result.ok:
            item.journal = (JournalOp.UPDATED, pre_image)
            item.finish(Action.DELETED, "deleted at the source: archived (hidden) on the target")
            item.map_change = "archive"
        else:
            item.finish(Action.FAILED, f"target refused to archive: {result.error}")
