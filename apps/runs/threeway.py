"""Three-way merge of one record, field by field.

base            what we last wrote, in source terms (RecordMap.canonical)
source          the source now, in source terms
source_resolved the source now, references translated to target ids
base_target     the target's own canonical form right after our last write
                (RecordMap.target_canonical: what a lossy mapping made of `base`)
target          the target now

A field changed on one side only merges by itself: the source's change is written, the
target's is kept. A field changed on both sides to different values is a conflict, settled by
the field's policy or left for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SOURCE_WINS, TARGET_WINS, LATEST, MERGE, MANUAL = (
    "source_wins",
    "target_wins",
    "latest",
    "merge",
    "manual",
)
POLICIES = (SOURCE_WINS, TARGET_WINS, LATEST, MERGE, MANUAL)
DEFAULT_POLICY = MANUAL


@dataclass
class Merge:
    merged: dict[str, Any]
    source_changed: list[str] = field(default_factory=list)
    target_changed: list[str] = field(default_factory=list)
    # Changed on both sides to different values: field → the policy that settled it.
    settled: dict[str, str] = field(default_factory=dict)
    # Changed on both sides and left for a person.
    unresolved: list[str] = field(default_factory=list)

    @property
    def kept_target_changes(self) -> bool:
        return any(f not in self.settled for f in self.target_changed) or any(
            p != SOURCE_WINS for p in self.settled.values()
        )


def policy_for(policies: dict[str, Any] | None, entity: str, field_name: str) -> str:
    """A project's policy for one field: the field's own, else the entity's default, else
    manual (nothing is overwritten silently)."""
    rules = (policies or {}).get(entity) or {}
    chosen = (rules.get("fields") or {}).get(field_name) or rules.get("default") or DEFAULT_POLICY
    return chosen if chosen in POLICIES else DEFAULT_POLICY


def _union(a: Any, b: Any) -> Any:
    """Both sides' list items, each once, in a stable order (categories, tags, images)."""
    result = list(a or [])
    for item in b or []:
        if item not in result:
            result.append(item)
    try:
        return sorted(result)
    except TypeError:
        return result


def merge(
    entity: str,
    *,
    base: dict[str, Any],
    source: dict[str, Any],
    source_resolved: dict[str, Any],
    base_target: dict[str, Any],
    target: dict[str, Any],
    policies: dict[str, Any] | None = None,
    source_time: datetime | None = None,
    target_time: datetime | None = None,
) -> Merge:
    merged = dict(target)
    result = Merge(merged=merged)
    for name in sorted(set(source) | set(base) | set(target)):
        on_source = source.get(name) != base.get(name)
        on_target = target.get(name) != base_target.get(name)
        if on_source:
            result.source_changed.append(name)
        if on_target:
            result.target_changed.append(name)
        if on_source and not on_target:
            merged[name] = source_resolved.get(name)
        elif on_source and on_target and source_resolved.get(name) != target.get(name):
            policy = policy_for(policies, entity, name)
            if policy == SOURCE_WINS:
                merged[name] = source_resolved.get(name)
            elif policy == TARGET_WINS:
                pass  # merged already holds the target's value
            elif policy == LATEST and source_time and target_time:
                if source_time > target_time:
                    merged[name] = source_resolved.get(name)
            elif (
                policy == MERGE
                and isinstance(source_resolved.get(name), list)
                and isinstance(target.get(name), list)
            ):
                merged[name] = _union(target.get(name), source_resolved.get(name))
            else:
                result.unresolved.append(name)
                continue
            result.settled[name] = policy
    return result
