"""Everything people do with the review queue: list, compare, resolve, dismiss, bulk-resolve.

The engine (apps/runs/processing.py, deletes.py) opens and refreshes Conflict rows; this module
closes them. Views and the API are thin and call these functions.

Resolving writes to the target store, so it cannot sit inside one database transaction with
the status change (an HTTP call must not hold a transaction open, and SQLite has no row
locks). Instead a person first *claims* the conflict with one conditional UPDATE; only the
holder of the claim calls the target; success commits the RecordMap, journal, audit event and
the resolved status together; failure releases the claim and leaves the error on the row. Two
people resolving at once therefore make exactly one write, and the second is told who did it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.conflicts.choices import ConflictKind, ConflictStatus, Side
from apps.conflicts.models import Conflict
from apps.core import audit
from apps.core.errors import Conflict as StateConflict
from apps.projects.models import Project
from apps.runs import journal, threeway, validation
from apps.runs.choices import JournalOp, MapStatus
from apps.runs.models import JournalEntry, RecordMap, Run
from apps.stores.connectors.base import (
    Connector,
    ConnectorError,
    RecordInvalid,
    WriteItem,
    WriteResult,
)
from apps.stores.connectors.canonical import REFERENCES, content_hash, decimal_text, money
from apps.stores.services import build_connector

logger = logging.getLogger(__name__)

# A claim older than this belongs to a request that died mid-write and may be taken over. A
# resolution makes at most four calls to the target, each given up by the HTTP client after
# about 3 minutes at the defaults (30 s timeout, 5 attempts, backoff), so a live request never
# loses its claim.
CLAIM_TTL = timedelta(minutes=20)
# Entities whose canonical form has a status that hides a record (see canonical.py).
ARCHIVE_STATUS = {"products": "draft", "posts": "draft"}
# Fields whose canonical form is a money string ("12.50") or a plain decimal ("0.7").
MONEY_FIELDS = frozenset(
    {"price", "sale_price", "subtotal", "shipping_total", "tax_total", "discount_total", "total"}
)
DECIMAL_FIELDS = frozenset({"weight"})
MAX_REASON = 500
# One bulk call writes at most this many records, and starts none after BULK_SECONDS (each
# is a few requests to the target, under its rate limit): a web request must end well before
# the server's timeout. The answer says how many remain.
BULK_LIMIT = 50
BULK_SECONDS = 60.0
FIELD_SCAN = 5000


class DeleteAction:
    DELETE = "delete"
    KEEP = "keep"
    ARCHIVE = "archive"
    CHOICES = (
        (DELETE, "Delete it on the target"),
        (KEEP, "Keep it on the target (no longer synced)"),
        (ARCHIVE, "Archive it on the target (status draft / hidden)"),
    )
    VALUES = (DELETE, KEEP, ARCHIVE)


class TargetUnavailable(Exception):
    """The target store could not be reached or failed for a passing reason (retry later)."""


class StaleTarget(StateConflict):
    """The target record changed since the conflict was detected; the row now shows it."""


class ConflictChanged(StateConflict):
    """The conflict was refreshed (by a delta or a stale check) after the person opened it."""


# --- reading the queue ----------------------------------------------------------------------


def open_conflicts(
    project: Project,
    entity: str | None = None,
    field: str | None = None,
    older_than: timedelta | datetime | None = None,
) -> QuerySet[Conflict]:
    """The project's open conflicts, optionally of one entity, with one conflicting field,
    detected before a moment (or longer ago than a duration)."""
    return filter_conflicts(
        Conflict.objects.filter(project=project, status=ConflictStatus.OPEN),
        entity=entity,
        field=field,
        older_than=older_than,
    )


def filter_conflicts(
    queryset: QuerySet[Conflict],
    *,
    entity: str | None = None,
    field: str | None = None,
    older_than: timedelta | datetime | None = None,
) -> QuerySet[Conflict]:
    if entity:
        queryset = queryset.filter(entity=entity)
    if field:
        # `fields` is a JSON list of names; SQLite has no JSON containment, so match the
        # quoted name in its text form (names are plain identifiers, never quotes).
        queryset = queryset.filter(fields__icontains=json.dumps(field))
    if older_than is not None:
        cutoff = timezone.now() - older_than if isinstance(older_than, timedelta) else older_than
        queryset = queryset.filter(created_at__lt=cutoff)
    return queryset


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> timedelta | datetime | None:
    """ "90m", "1h", "7d", "2w", a number of seconds, or an ISO 8601 moment; None when blank.
    ValueError says what is accepted."""
    text = (text or "").strip()
    if not text:
        return None
    unit = text[-1].lower()
    number = text[:-1] if unit in _AGE_UNITS else text
    if number.isdigit() and len(number) <= 9:
        return timedelta(seconds=int(number) * _AGE_UNITS.get(unit, 1))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            'Use a duration such as "90m", "1h", "7d", "2w" or seconds, or an ISO 8601 moment.'
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entity_counts(project: Project) -> dict[str, int]:
    """Open conflicts per entity (one aggregate query)."""
    rows = (
        Conflict.objects.filter(project=project, status=ConflictStatus.OPEN)
        .values_list("entity")
        .annotate(n=Count("id"))
        .order_by("entity")
    )
    return dict(rows)


def conflicting_fields(project: Project, entity: str | None = None) -> list[str]:
    """The field names that conflict in the project's open conflicts (for filter choices);
    read from the newest FIELD_SCAN rows so a huge queue costs one bounded query."""
    rows = open_conflicts(project, entity=entity).order_by("-id").values_list("fields", flat=True)
    names: set[str] = set()
    for fields in rows[:FIELD_SCAN]:
        names.update(f for f in fields or [] if isinstance(f, str))
    return sorted(names)


def open_count(project: Project) -> int:
    return Conflict.objects.filter(project=project, status=ConflictStatus.OPEN).count()


def next_open(conflict: Conflict, entity: str | None = None) -> Conflict | None:
    """The next open conflict in queue order (oldest first) after this one, wrapping round."""
    queue = open_conflicts(conflict.project, entity=entity).exclude(pk=conflict.pk).order_by("id")
    return queue.filter(id__gt=conflict.pk).first() or queue.first()


def version(conflict: Conflict) -> str:
    """A fingerprint of what a person sees: it changes whenever a delta or a stale check
    refreshes the row, so a decision made on an older view is refused, not applied."""
    seen = json.dumps(
        [conflict.kind, conflict.fields, conflict.source_hash, conflict.target_hash],
        sort_keys=True,
    )
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


# --- the diff -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDiff:
    field: str
    base: Any
    source: Any
    # The source's value with references translated to target ids: what "source" writes.
    source_resolved: Any
    target: Any
    merged: Any
    source_changed: bool
    target_changed: bool
    conflicting: bool
    is_reference: bool = False

    @property
    def state(self) -> str:
        """conflict | source | target | both (changed alike on both sides) | unchanged."""
        if self.conflicting:
            return "conflict"
        if self.source_changed and self.target_changed:
            return "both"
        if self.source_changed:
            return "source"
        if self.target_changed:
            return "target"
        return "unchanged"

    @property
    def changed(self) -> bool:
        return self.conflicting or self.source_changed or self.target_changed


def _reference_fields(entity: str) -> set[str]:
    return {spec.split("[", 1)[0].split(".", 1)[0] for spec in REFERENCES.get(entity, {})}


def _record_map(conflict: Conflict) -> RecordMap | None:
    return RecordMap.objects.filter(
        project_id=conflict.project_id, entity=conflict.entity, source_id=conflict.source_id
    ).first()


def diff(conflict: Conflict, record_map: RecordMap | None = None) -> list[FieldDiff]:
    """Every field of the record with its base, source, target and merged values and which
    sides changed it: conflicting fields first, then those changed on one side, then the rest.

    A target change is measured against the target's own form of our last write
    (RecordMap.target_canonical), as the engine does; without it, against the base for plain
    fields (reference fields are in different id spaces on each side)."""
    if conflict.status != ConflictStatus.OPEN:
        # Closing the conflict moved the record map on: it is no longer this diff's base.
        record_map = None
    elif record_map is None:
        record_map = _record_map(conflict)
    base_target = (record_map.target_canonical if record_map else None) or None
    references = _reference_fields(conflict.entity)
    conflicting = [f for f in conflict.fields if isinstance(f, str)]
    names = set(conflict.base) | set(conflict.source) | set(conflict.target) | set(conflict.merged)
    rows: list[FieldDiff] = []
    for name in names:
        base, source, target = (
            conflict.base.get(name),
            conflict.source.get(name),
            conflict.target.get(name),
        )
        source_changed = conflict.kind == ConflictKind.EDIT and source != base
        if base_target is not None:
            target_changed = target != base_target.get(name)
        elif name in references:
            target_changed = name in conflicting
        else:
            target_changed = target != base
        rows.append(
            FieldDiff(
                field=name,
                base=base,
                source=source,
                source_resolved=conflict.source_resolved.get(name, source),
                target=target,
                merged=conflict.merged.get(name, target),
                source_changed=source_changed,
                target_changed=target_changed,
                conflicting=name in conflicting,
                is_reference=name in references,
            )
        )
    rank = {name: index for index, name in enumerate(conflicting)}
    rows.sort(
        key=lambda r: (0 if r.conflicting else 1 if r.changed else 2, rank.get(r.field, 0), r.field)
    )
    return rows


# --- choices --------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "whole number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _parse_text(text: str, kinds: set[str]) -> Any:
    """A value typed into a form, read as the type the field's other values have."""
    stripped = text.strip()
    if stripped == "":
        return None
    if kinds & {"list", "object"}:
        try:
            return json.loads(stripped)
        except ValueError:
            raise ValueError("is not valid JSON") from None
    if "true/false" in kinds:
        lowered = stripped.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError("must be true or false")
    if "whole number" in kinds:
        try:
            return int(stripped)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if "number" in kinds:
        try:
            return float(stripped)
        except ValueError:
            raise ValueError("must be a number") from None
    return text


def coerce_custom(name: str, value: Any, samples: Iterable[Any]) -> Any:
    """A typed value made type-compatible with the field's values on the other sides (text for
    text, a list for a list …), money as "12.50"; ValueError says why it cannot be."""
    samples = list(samples)
    present = [s for s in samples if s is not None]
    kinds = {_kind(s) for s in present}
    if isinstance(value, str) and kinds and "text" not in kinds:
        value = _parse_text(value, kinds)
    if value is None:
        if not present or len(present) < len(samples):
            return None
        raise ValueError("needs a value (no side has it empty)")
    if name in MONEY_FIELDS:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("must be an amount like 12.50")
        return money(value)
    if name in DECIMAL_FIELDS:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("must be a number like 0.7")
        return decimal_text(value)
    got = _kind(value)
    if kinds and got not in kinds and not (got == "whole number" and "number" in kinds):
        expected = " or ".join(sorted(kinds))
        raise ValueError(f"must be {expected} like the other values (got {got})")
    return value


def clean_choices(conflict: Conflict, choices: Any) -> dict[str, tuple[str, Any]]:
    """{field: (side, value to write)} for every conflicting field; ValidationError naming each
    field that is missing, unknown or whose typed value does not fit."""
    if not isinstance(choices, dict):
        raise ValidationError({"choices": ["Send an object: {field: {side, value}}."]})
    errors: dict[str, list[str]] = {}
    chosen: dict[str, tuple[str, Any]] = {}
    for name in conflict.fields:
        choice = choices.get(name)
        if choice is None:
            errors[name] = ["Choose source, target or a typed value for this field."]
            continue
        if not isinstance(choice, dict) or choice.get("side") not in Side.values:
            errors[name] = ['Side must be "source", "target" or "custom".']
            continue
        side = choice["side"]
        if side == Side.SOURCE:
            chosen[name] = (side, conflict.source_resolved.get(name, conflict.source.get(name)))
        elif side == Side.TARGET:
            chosen[name] = (side, conflict.target.get(name))
        else:
            if "value" not in choice:
                errors[name] = ["A typed value is missing."]
                continue
            samples = (
                conflict.source_resolved.get(name, conflict.source.get(name)),
                conflict.target.get(name),
                conflict.base.get(name),
            )
            try:
                chosen[name] = (side, coerce_custom(name, choice["value"], samples))
            except ValueError as exc:
                errors[name] = [f"The typed value {exc}."]
    for name in sorted(set(choices) - set(conflict.fields))[:20]:
        errors[str(name)[:100]] = ["Not a conflicting field of this record."]
    if errors:
        raise ValidationError(errors)
    return chosen


# --- claims ---------------------------------------------------------------------------------


def _who(user: Any) -> str:
    return user.get_username() if user is not None else "someone"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "an unknown time"


def _refusal(pk: int) -> StateConflict:
    """Why a claim could not be taken: already closed, or someone is writing it now."""
    row = Conflict.objects.select_related("resolved_by", "claimed_by").filter(pk=pk).first()
    if row is None:
        return StateConflict("This conflict no longer exists.")
    if row.status == ConflictStatus.RESOLVED:
        return StateConflict(
            f"Already resolved by {_who(row.resolved_by)} at {_when(row.resolved_at)}."
        )
    if row.status == ConflictStatus.DISMISSED:
        return StateConflict(
            f"Already dismissed by {_who(row.resolved_by)} at {_when(row.resolved_at)}."
        )
    return StateConflict(
        f"{_who(row.claimed_by)} is resolving this conflict now (since "
        f"{_when(row.claimed_at)}); reload in a moment."
    )


def _claim(conflict: Conflict, user: Any) -> str:
    """Take the conflict for this request (one conditional UPDATE), or raise Conflict."""
    token = secrets.token_hex(16)
    now = timezone.now()
    taken = (
        Conflict.objects.filter(pk=conflict.pk, status=ConflictStatus.OPEN)
        .filter(Q(claim_token="") | Q(claimed_at__lt=now - CLAIM_TTL) | Q(claimed_at=None))
        .update(claim_token=token, claimed_by=_user_or_none(user), claimed_at=now)
    )
    if not taken:
        raise _refusal(conflict.pk)
    return token


def _release(conflict: Conflict, token: str, error: str, **fields: Any) -> None:
    Conflict.objects.filter(pk=conflict.pk, claim_token=token).update(
        claim_token="", claimed_by=None, claimed_at=None, error=error[:4000], **fields
    )
    conflict.error = error


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# --- talking to the target ------------------------------------------------------------------


def _target_message(exc: ConnectorError) -> str:
    return str(exc) or type(exc).__name__


def _read_target(connector: Connector, conflict: Conflict) -> dict[str, Any] | None:
    """The target's raw record, or None when it is gone; TargetUnavailable when unreachable."""
    try:
        raws = connector.read_by_ids(conflict.entity, [conflict.target_id])
    except ConnectorError as exc:
        raise TargetUnavailable(
            f"Could not read the record from the target store: {_target_message(exc)}"
        ) from None
    return next((r for r in raws if connector.record_id(r) == str(conflict.target_id)), None)


def _canonical(connector: Connector, entity: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return connector.to_canonical(entity, raw)
    except (RecordInvalid, KeyError, TypeError, ValueError):
        return {}


def _check_result(result: WriteResult, what: str) -> None:
    if result.ok:
        return
    message = f"The target store refused to {what}: {result.error or 'no reason given'}"
    if result.retryable:
        raise TargetUnavailable(message)
    raise ValidationError({"target": [message]})


def _written_form(
    connector: Connector, conflict: Conflict, result: WriteResult
) -> tuple[dict[str, Any], str]:
    """The target's canonical form of the record as written, and its hash: from a fresh read
    (what the next delta will compare against), else from the write's answer."""
    try:
        raw = _read_target(connector, conflict)
    except TargetUnavailable:
        raw = None
    form = _canonical(connector, conflict.entity, raw or result.record)
    return form, content_hash(form) if form else ""


def _journal_run(conflict: Conflict) -> Run | None:
    """The run a resolution's journal entry belongs to: the delta that found the conflict
    (a rollback of that run then also undoes what the person chose), else the latest run."""
    if conflict.run_id:
        return conflict.run
    return Run.objects.filter(project_id=conflict.project_id).order_by("-id").first()


def _journal(conflict: Conflict, op: str, pre_image: dict[str, Any] | None) -> None:
    """Journal a resolution's write. Called before the RecordMap row changes: the entry keeps
    the row as it was, which a rollback puts back."""
    run = _journal_run(conflict)
    if run is None:  # pragma: no cover - a mapped record always came from a run
        logger.warning("conflict %s: no run to journal the resolution in", conflict.pk)
        return
    JournalEntry.objects.create(
        run=run,
        entity=conflict.entity,
        source_id=conflict.source_id,
        target_id=conflict.target_id,
        op=op,
        pre_image=pre_image,
        map_before=journal.map_state(_record_map(conflict)),
    )


def _close(
    conflict: Conflict,
    token: str,
    *,
    user: Any,
    request: Any,
    status: str,
    resolution: dict[str, Any],
    audit_payload: dict[str, Any],
) -> None:
    """Close the row we hold the claim on and audit the decision (in the caller's
    transaction), naming the record and what was decided."""
    now = timezone.now()
    updated = Conflict.objects.filter(pk=conflict.pk, claim_token=token).update(
        status=status,
        resolution=resolution,
        resolved_by=_user_or_none(user),
        resolved_at=now,
        claim_token="",
        claimed_by=None,
        claimed_at=None,
        error="",
        updated_at=now,
    )
    if not updated:
        # Our claim outlived CLAIM_TTL and was taken over; the write happened, so it is still
        # journalled and mapped, and the row is closed as ours.
        logger.warning("conflict %s: claim lost before closing; closing anyway", conflict.pk)
        Conflict.objects.filter(pk=conflict.pk, status=ConflictStatus.OPEN).update(
            status=status, resolution=resolution, resolved_by=_user_or_none(user), resolved_at=now
        )
    conflict.status, conflict.resolution, conflict.resolved_at = status, resolution, now
    conflict.resolved_by = _user_or_none(user)
    conflict.claim_token, conflict.error = "", ""
    audit.record(
        action="conflict.dismissed" if status == ConflictStatus.DISMISSED else "conflict.resolved",
        obj=conflict,
        user=user,
        request=request,
        project_id=conflict.project_id,
        payload={
            "kind": conflict.kind,
            "entity": conflict.entity,
            "source_id": conflict.source_id,
            **audit_payload,
        },
    )


def _refresh_target(
    conflict: Conflict, token: str, current: dict[str, Any], current_hash: str
) -> StaleTarget:
    """Record the target's new values on the row (merged again, as the engine would) and
    release the claim; returns the error to raise."""
    record_map = _record_map(conflict)
    merge = threeway.merge(
        conflict.entity,
        base=conflict.base,
        source=conflict.source,
        source_resolved=conflict.source_resolved,
        base_target=(record_map.target_canonical if record_map else None) or conflict.target,
        target=current,
        policies=conflict.project.conflict_policies,
    )
    message = (
        "The record changed on the target since this conflict was detected, so nothing was "
        "written. The conflict now shows the target's current values: reload and choose again."
    )
    _release(
        conflict,
        token,
        message,
        target=current,
        target_hash=current_hash,
        merged=merge.merged,
        fields=merge.unresolved,
        updated_at=timezone.now(),
    )
    conflict.target, conflict.target_hash = current, current_hash
    conflict.merged, conflict.fields = merge.merged, merge.unresolved
    return StaleTarget(message)


def _expected_target_hash(conflict: Conflict) -> str:
    return conflict.target_hash or (content_hash(conflict.target) if conflict.target else "")


def _pre_image(
    connector: Connector, conflict: Conflict, token: str, *, gone_ok: bool = False
) -> dict[str, Any] | None:
    """The target's record read just before writing (the journal's pre-image), after checking
    it is still what the person saw; a changed record refreshes the row and is refused."""
    raw = _read_target(connector, conflict) if conflict.target_id else None
    if raw is None:
        if gone_ok:
            return None
        advice = (
            "Dismiss this conflict: the next delta creates the record again."
            if conflict.kind == ConflictKind.EDIT
            else "Choose delete or keep."
        )
        raise StateConflict(
            f"The record is no longer on the target (id {conflict.target_id or '?'}); nothing "
            f"was written. {advice}"
        )
    expected = _expected_target_hash(conflict)
    current = _canonical(connector, conflict.entity, raw)
    current_hash = content_hash(current) if current else ""
    if expected and current_hash != expected:
        raise _refresh_target(conflict, token, current, current_hash)
    return raw


def _locked_open(conflict: Conflict, kind: str) -> None:
    if conflict.kind != kind:
        label = "an edit" if kind == ConflictKind.EDIT else "a delete"
        raise ValidationError({"kind": [f"This is not {label} conflict."]})
    if conflict.status != ConflictStatus.OPEN:
        raise _refusal(conflict.pk)


# --- resolving ------------------------------------------------------------------------------


def resolve(
    conflict: Conflict,
    *,
    user: Any,
    choices: dict[str, Any],
    request: Any = None,
    seen_version: str | None = None,
    connector: Connector | None = None,
) -> Conflict:
    """Resolve an edit conflict: the merged record with the chosen value of every conflicting
    field is written to the target; then, in one transaction, RecordMap (the source as it is
    now becomes the base), journal (the target's pre-image), the row and an audit event.

    Raises ValidationError (choices, or the target refused the record), Conflict (closed or
    being resolved by someone else, refreshed since `seen_version`, target changed since
    detection) or TargetUnavailable (retry later)."""
    conflict.refresh_from_db()
    _locked_open(conflict, ConflictKind.EDIT)
    if seen_version and seen_version != version(conflict):
        raise ConflictChanged(
            "This conflict was updated since you opened it (a newer sync or another person's "
            "attempt): reload and choose again."
        )
    chosen = clean_choices(conflict, choices)
    final = {**conflict.merged, **{name: value for name, (_, value) in chosen.items()}}
    if any(side == Side.CUSTOM for side, _ in chosen.values()):
        problems = validation.problems(conflict.entity, final)
        if problems:
            raise ValidationError({"choices": problems})
    token = _claim(conflict, user)
    owned = connector is None
    connector = connector or build_connector(conflict.project.target_store)
    try:
        try:
            pre_image = _pre_image(connector, conflict, token)
            try:
                payload = connector.from_canonical(conflict.entity, final)
            except (RecordInvalid, KeyError, TypeError, ValueError) as exc:
                raise ValidationError(
                    {"choices": [f"The record cannot be written with these values: {exc}"]}
                ) from None
            try:
                [result] = connector.update(
                    conflict.entity,
                    [
                        WriteItem(
                            ref=conflict.source_id, target_id=conflict.target_id, payload=payload
                        )
                    ],
                )
            except ConnectorError as exc:
                raise TargetUnavailable(
                    f"The target store failed the update: {_target_message(exc)}"
                ) from None
            _check_result(result, "update the record")
        except StaleTarget:
            raise
        except (ValidationError, StateConflict, TargetUnavailable) as exc:
            _release(conflict, token, _message(exc))
            raise
        except Exception as exc:
            _release(conflict, token, f"Unexpected error: {type(exc).__name__}")
            raise
        form, form_hash = _written_form(connector, conflict, result)
    finally:
        if owned:
            connector.close()
    sides = {name: side for name, (side, _) in chosen.items()}
    resolution = {name: {"side": side, "value": value} for name, (side, value) in chosen.items()}
    with transaction.atomic():
        _journal(conflict, JournalOp.UPDATED, pre_image)
        RecordMap.objects.filter(
            project_id=conflict.project_id, entity=conflict.entity, source_id=conflict.source_id
        ).update(
            target_id=conflict.target_id,
            status=MapStatus.SYNCED,
            canonical=conflict.source,
            source_hash=content_hash(conflict.source),
            target_canonical=form,
            target_hash=form_hash,
            synced_at=timezone.now(),
        )
        _close(
            conflict,
            token,
            user=user,
            request=request,
            status=ConflictStatus.RESOLVED,
            resolution=resolution,
            audit_payload={"target_id": conflict.target_id, "fields": sides},
        )
    return conflict


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def resolve_delete(conflict: Conflict, *, user: Any, action: str, request: Any = None) -> Conflict:
    """Resolve a record deleted at the source:

    delete  — delete it on the target (journalled with its pre-image, so a rollback restores
              it) and forget the mapping;
    keep    — leave the target record alone and forget the mapping: later syncs no longer
              touch it (were the source record to come back, the engine would find this one by
              its natural key and adopt it);
    archive — hide it on the target (status draft) where the entity has a status; the mapping
              stays, marked archived.
    """
    conflict.refresh_from_db()
    if action not in DeleteAction.VALUES:
        raise ValidationError({"action": [f"Choose one of: {', '.join(DeleteAction.VALUES)}."]})
    _locked_open(conflict, ConflictKind.DELETE)
    if action == DeleteAction.ARCHIVE and conflict.entity not in ARCHIVE_STATUS:
        raise ValidationError(
            {
                "action": [
                    f"{conflict.entity.capitalize()} have no draft or hidden status: "
                    "delete or keep them."
                ]
            }
        )
    token = _claim(conflict, user)
    pre_image: dict[str, Any] | None = None
    form: dict[str, Any] = {}
    form_hash = ""
    if action != DeleteAction.KEEP:
        connector = build_connector(conflict.project.target_store)
        try:
            try:
                pre_image = _pre_image(
                    connector, conflict, token, gone_ok=action == DeleteAction.DELETE
                )
                if action == DeleteAction.DELETE and pre_image is not None:
                    _delete_on_target(connector, conflict)
                elif action == DeleteAction.ARCHIVE:
                    form, form_hash = _archive_on_target(connector, conflict, pre_image)
            except StaleTarget:
                raise
            except (ValidationError, StateConflict, TargetUnavailable) as exc:
                _release(conflict, token, _message(exc))
                raise
            except Exception as exc:
                _release(conflict, token, f"Unexpected error: {type(exc).__name__}")
                raise
        finally:
            connector.close()
    with transaction.atomic():
        maps = RecordMap.objects.filter(
            project_id=conflict.project_id, entity=conflict.entity, source_id=conflict.source_id
        )
        if action == DeleteAction.ARCHIVE:
            _journal(conflict, JournalOp.UPDATED, pre_image)
            maps.update(
                status=MapStatus.ARCHIVED,
                target_canonical=form,
                target_hash=form_hash,
                synced_at=timezone.now(),
            )
        else:
            if action == DeleteAction.DELETE and pre_image is not None:
                _journal(conflict, JournalOp.DELETED, pre_image)
            maps.delete()
        _close(
            conflict,
            token,
            user=user,
            request=request,
            status=ConflictStatus.RESOLVED,
            resolution={"action": action},
            audit_payload={
                "target_id": conflict.target_id,
                "action": action,
                "already_gone": action == DeleteAction.DELETE and pre_image is None,
            },
        )
    return conflict


def _delete_on_target(connector: Connector, conflict: Conflict) -> None:
    try:
        [result] = connector.delete(conflict.entity, [conflict.target_id])
    except ConnectorError as exc:
        raise TargetUnavailable(
            f"The target store failed the delete: {_target_message(exc)}"
        ) from None
    if not result.ok and result.status != 404:  # gone already is what we wanted
        _check_result(result, "delete the record")


def _archive_on_target(
    connector: Connector, conflict: Conflict, pre_image: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    current = _canonical(connector, conflict.entity, pre_image)
    if not current:
        raise ValidationError({"target": ["The target's record cannot be read to archive it."]})
    hidden_status = ARCHIVE_STATUS[conflict.entity]
    if current.get("status") == hidden_status:
        return current, content_hash(current)
    try:
        payload = connector.from_canonical(conflict.entity, {**current, "status": hidden_status})
        [result] = connector.update(
            conflict.entity,
            [WriteItem(ref=conflict.source_id, target_id=conflict.target_id, payload=payload)],
        )
    except ConnectorError as exc:
        raise TargetUnavailable(
            f"The target store failed the update: {_target_message(exc)}"
        ) from None
    _check_result(result, "archive the record")
    return _written_form(connector, conflict, result)


def dismiss(conflict: Conflict, user: Any, reason: str, *, request: Any = None) -> Conflict:
    """Close a conflict without writing anything or touching the record map. If both sides
    still differ from the last sync, the next delta raises it again: dismissing is for
    conflicts that no longer matter (fixed by hand, record about to be removed …)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the conflict is dismissed."]})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": [f"Keep the reason under {MAX_REASON} characters."]})
    conflict.refresh_from_db()
    if conflict.status != ConflictStatus.OPEN:
        raise _refusal(conflict.pk)
    token = _claim(conflict, user)
    with transaction.atomic():
        _close(
            conflict,
            token,
            user=user,
            request=request,
            status=ConflictStatus.DISMISSED,
            resolution={"reason": reason},
            audit_payload={"reason": reason},
        )
    return conflict


# --- bulk -----------------------------------------------------------------------------------


@dataclass
class BulkPreview:
    """What a bulk rule would do: `resolvable` conflicts have no other conflicting field;
    `other_fields` also conflict elsewhere and are left for a person."""

    resolvable: int
    other_fields: int

    @property
    def total(self) -> int:
        return self.resolvable + self.other_fields


@dataclass
class BulkResult:
    resolved: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    remaining: int = 0


def bulk_candidates(
    project: Project,
    *,
    entity: str,
    field: str | None = None,
    conflict_ids: Iterable[int] | None = None,
) -> QuerySet[Conflict]:
    queryset = open_conflicts(project, entity=entity, field=field or None).filter(
        kind=ConflictKind.EDIT
    )
    if conflict_ids is not None:
        queryset = queryset.filter(pk__in=list(conflict_ids))
    return queryset.order_by("id")


def _blocked(conflict_fields: list[str], field: str | None) -> list[str]:
    """The other conflicting fields a field rule does not decide."""
    return [f for f in conflict_fields if f != field] if field else []


def bulk_preview(
    project: Project,
    *,
    entity: str,
    field: str | None = None,
    conflict_ids: Iterable[int] | None = None,
) -> BulkPreview:
    rows = bulk_candidates(project, entity=entity, field=field, conflict_ids=conflict_ids)
    blocked = sum(1 for fields in rows.values_list("fields", flat=True) if _blocked(fields, field))
    total = rows.count()
    return BulkPreview(resolvable=total - blocked, other_fields=blocked)


def _check_side(side: str) -> None:
    if side not in (Side.SOURCE, Side.TARGET):
        raise ValidationError({"side": ['Side must be "source" or "target".']})


def bulk_resolve(
    project: Project,
    *,
    user: Any,
    entity: str,
    field: str | None = None,
    side: str,
    conflict_ids: Iterable[int] | None = None,
    request: Any = None,
    limit: int = BULK_LIMIT,
    seconds: float = BULK_SECONDS,
) -> BulkResult:
    """Resolve every matching open edit conflict by one rule: `side` for `field` (or for every
    conflicting field when no field is given). Each goes through resolve() — its own claim,
    write, journal and audit event; failures are collected, not raised. A conflict that also
    conflicts on fields the rule does not name is skipped (a person decides those)."""
    _check_side(side)
    if not entity:
        raise ValidationError({"entity": ["Choose an entity."]})
    result = BulkResult()
    candidates = list(
        bulk_candidates(project, entity=entity, field=field, conflict_ids=conflict_ids).only(
            "id", "fields"
        )
    )
    todo: list[Conflict] = []
    for conflict in candidates:
        others = _blocked(conflict.fields, field)
        if others:
            result.skipped.append(
                (conflict.pk, f"also conflicts on {', '.join(others)}: resolve it on its page")
            )
        else:
            todo.append(conflict)
    todo = todo[:limit]
    result.remaining = len(candidates) - len(result.skipped) - len(todo)
    deadline = time.monotonic() + seconds
    connector = build_connector(project.target_store) if todo else None
    try:
        for index, conflict in enumerate(todo):
            if time.monotonic() > deadline:
                result.remaining += len(todo) - index
                break
            full = Conflict.objects.select_related("project__target_store", "run").get(
                pk=conflict.pk
            )
            choices = {name: {"side": side} for name in full.fields}
            try:
                resolve(full, user=user, choices=choices, request=request, connector=connector)
            except (ValidationError, StateConflict, TargetUnavailable) as exc:
                result.failed.append((conflict.pk, _message(exc)))
            else:
                result.resolved.append(conflict.pk)
    finally:
        if connector is not None:
            connector.close()
    audit.record(
        action="conflict.bulk_resolved",
        obj=project,
        user=user,
        request=request,
        project_id=project.pk,
        payload={
            "entity": entity,
            "field": field or "",
            "side": side,
            "resolved": len(result.resolved),
            "failed": len(result.failed),
            "skipped": len(result.skipped),
            "remaining": result.remaining,
        },
    )
    return result
