"""The Run state machine: every legal transition, in one place.

A transition is a conditional UPDATE (… WHERE status = current), so two workers racing to move
the same run cannot both win.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.runs import signals
from apps.runs.choices import TERMINAL_STATUSES, RunStatus

S = RunStatus
TERMINAL = TERMINAL_STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.PLANNING, S.CANCELLED, S.FAILED}),
    S.PLANNING: frozenset({S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.VERIFYING, S.SUCCEEDED, S.PARTIALLY_FAILED, S.FAILED, S.CANCELLED}),
    S.VERIFYING: frozenset({S.SUCCEEDED, S.PARTIALLY_FAILED, S.FAILED, S.CANCELLED}),
}


class IllegalTransition(Exception):
    pass


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition(run, target: str, *, error: str = "") -> bool:
    """Move `run` to `target` if it is still in the status we read. Returns False when another
    process moved it first; raises IllegalTransition for a move the machine forbids."""
    from apps.runs.models import Run

    current = run.status
    if not can_transition(current, target):
        raise IllegalTransition(f"A {current} run cannot become {target}.")
    now = timezone.now()
    fields: dict[str, object] = {"status": target}
    if target == S.PLANNING:
        fields["started_at"] = now
    if target in TERMINAL_STATUSES:
        fields["finished_at"] = now
    if error:
        fields["error"] = error[:2000]
    updated = Run.objects.filter(pk=run.pk, status=current).update(**fields)
    if updated:
        for key, value in fields.items():
            setattr(run, key, value)
        if target in TERMINAL_STATUSES:
            transaction.on_commit(lambda: signals.run_finished.send(sender=Run, run=run))
        return True
    run.refresh_from_db()
    return False
