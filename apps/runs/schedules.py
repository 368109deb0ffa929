"""Per-project schedules: timed deltas (and dry runs) through django-celery-beat.

A Schedule row is what the dashboard and the API show and edit; beat fires the PeriodicTask this
module keeps in step with it (created, changed, disabled and deleted in the same transaction as
the row, and audited). The beat task `runs.scheduled_start` calls `fire`, which starts the run
through `services.start_run` like any user would — one live run per project — and writes what
happened on the row: the run it started, or why it was refused. A firing never waits or queues:
a refused firing is recorded and the next one tries again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab as celery_crontab
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from apps.core import audit
from apps.core.errors import Conflict
from apps.projects.models import Project
from apps.runs import services
from apps.runs.choices import SYNC_KINDS, TERMINAL_STATUSES, RunKind
from apps.runs.models import Run, Schedule

logger = logging.getLogger(__name__)

TASK_NAME = "runs.scheduled_start"
SCHEDULABLE_KINDS = (RunKind.DELTA, RunKind.DRY_RUN)
# A delta already re-reads `delta_overlap_seconds` (5 minutes by default) of the window before
# it; firing more often than that would mostly read the same records again.
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(days=366)
CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
UTC = ZoneInfo("UTC")
# Beat delivers at least once: a second message for the same crontab tick arrives within
# seconds, while two real ticks are at least a minute apart.
CRONTAB_DUPLICATE_GAP = timedelta(seconds=30)

Trigger = Schedule.Trigger
Period = Schedule.Period


def periodic_task_name(schedule_id: int) -> str:
    """The PeriodicTask's unique name: found by it when the Schedule row is already gone."""
    return f"runs.schedule.{schedule_id}"


def project_schedules(project: Project) -> QuerySet[Schedule]:
    return project.schedules.select_related("last_run", "created_by").order_by("id")


# --- validation -----------------------------------------------------------------------------


def _clean_options(kind: str, options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    unknown = sorted(set(options) - {"deletes", "of"})
    if unknown:
        raise ValidationError({"options": f"Unknown options: {', '.join(unknown)}."})
    clean: dict[str, Any] = {}
    if "deletes" in options and options["deletes"] is not None:
        if not isinstance(options["deletes"], bool):
            raise ValidationError({"deletes": "deletes is true or false."})
        if options["deletes"]:
            clean["deletes"] = True
    of = options.get("of")
    if kind == RunKind.DRY_RUN:
        # A scheduled rehearsal is most often of the next delta.
        of = of or RunKind.DELTA
        if of not in SYNC_KINDS:
            raise ValidationError({"of": "A dry run rehearses a full or a delta run."})
        clean["of"] = str(of)
    elif of:
        raise ValidationError({"of": "Only a dry run takes 'of'."})
    return clean


def parse_crontab(expression: str) -> dict[str, str]:
    """ "m h dom mon dow" → django-celery-beat's CrontabSchedule fields; ValidationError if
    celery cannot read it."""
    parts = (expression or "").split()
    if len(parts) != len(CRONTAB_FIELDS):
        raise ValidationError(
            {"crontab": "Five fields: minute hour day-of-month month day-of-week (UTC)."}
        )
    fields = dict(zip(CRONTAB_FIELDS, parts, strict=True))
    try:
        celery_crontab(**fields)
    except (ValueError, TypeError, IndexError) as exc:
        raise ValidationError({"crontab": f"Not a crontab celery can read: {exc}"}) from None
    return fields


def _interval(every: int, period: str) -> timedelta:
    return timedelta(**{period: every})


@dataclass(frozen=True)
class Spec:
    """A schedule's validated settings."""

    name: str
    kind: str
    options: dict[str, Any]
    trigger: str
    every: int | None
    period: str
    crontab: str
    run_at: datetime | None
    enabled: bool


def _resolve_run_at(
    run_at: datetime | None, go_live: datetime | None, after_hours: int | None
) -> datetime | None:
    if go_live is not None or after_hours is not None:
        if run_at is not None:
            raise ValidationError({"run_at": "Give a time, or go_live and after_hours, not both."})
        if go_live is None or after_hours is None:
            raise ValidationError(
                {"go_live": "A time relative to go-live needs both go_live and after_hours."}
            )
        if after_hours < 0:
            raise ValidationError({"after_hours": "Hours after go-live cannot be negative."})
        return go_live + timedelta(hours=after_hours)
    return run_at


def _after_label(hours: int) -> str:
    if hours == 24:
        return "24 hours after go-live"
    if hours == 24 * 7:
        return "A week after go-live"
    if hours and hours % 24 == 0:
        return f"{hours // 24} days after go-live"
    return f"{hours} hours after go-live"


def _what(kind: str, options: dict[str, Any]) -> str:
    if kind == RunKind.DRY_RUN:
        return f"Dry run of a {options.get('of', RunKind.DELTA)}"
    return "Final sweep (delta with deletes)" if options.get("deletes") else "Delta"


def _default_name(spec: dict[str, Any], after_hours: int | None) -> str:
    what = _what(spec["kind"], spec["options"])
    if spec["trigger"] == Trigger.INTERVAL:
        return f"{what} every {spec['every']} {spec['period']}"
    if spec["trigger"] == Trigger.CRONTAB:
        return f"{what} on cron {spec['crontab']}"
    if after_hours is not None:
        if what == "Delta":
            return _after_label(after_hours)
        return f"{what}, {_after_label(after_hours).lower()}"
    return f"{what} at {spec['run_at']:%Y-%m-%d %H:%M} UTC"


def _clean(
    *,
    name: str,
    kind: str,
    options: dict[str, Any] | None,
    trigger: str,
    every: int | None,
    period: str,
    crontab: str,
    run_at: datetime | None,
    enabled: bool,
    after_hours: int | None = None,
    check_future: bool,
    now: datetime,
) -> Spec:
    if kind not in SCHEDULABLE_KINDS:
        raise ValidationError(
            {"kind": "A schedule starts a delta or a dry run (a full run is started by hand)."}
        )
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": f"One of {', '.join(Trigger.values)}."})
    spec: dict[str, Any] = {
        "kind": kind,
        "options": _clean_options(kind, options),
        "trigger": trigger,
        "every": None,
        "period": "",
        "crontab": "",
        "run_at": None,
        "enabled": bool(enabled),
    }
    if trigger == Trigger.INTERVAL:
        if not every or period not in Period.values:
            raise ValidationError(
                {
                    "every": "An interval needs `every` (a whole number) and `period` "
                    f"({', '.join(Period.values)})."
                }
            )
        try:
            length = _interval(int(every), period)
        except OverflowError:
            length = MAX_INTERVAL * 2
        if length < MIN_INTERVAL:
            raise ValidationError({"every": "Schedule deltas at least 5 minutes apart."})
        if length > MAX_INTERVAL:
            raise ValidationError({"every": "An interval is at most a year."})
        spec.update(every=int(every), period=period)
    elif trigger == Trigger.CRONTAB:
        fields = parse_crontab(crontab)
        spec["crontab"] = " ".join(fields.values())
    else:
        if run_at is None:
            raise ValidationError({"run_at": "A one-off schedule needs a time (UTC)."})
        if timezone.is_naive(run_at):
            run_at = timezone.make_aware(run_at, UTC)
        # A one-off in the past would fire the moment beat sees it: almost surely a typo.
        if check_future and enabled and run_at <= now:
            raise ValidationError({"run_at": "This time has passed; choose a future time."})
        spec["run_at"] = run_at
    name = (name or "").strip()[:120] or _default_name(spec, after_hours)[:120]
    return Spec(name=name, **spec)


# --- keeping the PeriodicTask in step -------------------------------------------------------


def _interval_row(every: int, period: str) -> IntervalSchedule:
    # Shared rows: beat and other tasks (the reaper) may use the same interval.
    row = IntervalSchedule.objects.filter(every=every, period=period).order_by("id").first()
    return row or IntervalSchedule.objects.create(every=every, period=period)


def _crontab_row(expression: str) -> CrontabSchedule:
    fields = parse_crontab(expression)
    row = CrontabSchedule.objects.filter(timezone=UTC, **fields).order_by("id").first()
    return row or CrontabSchedule.objects.create(timezone=UTC, **fields)


def _drop_unused_clocked(clocked: ClockedSchedule | None) -> None:
    # One-off times are per schedule and never shared on purpose: do not let them pile up.
    if clocked is not None and not PeriodicTask.objects.filter(clocked=clocked).exists():
        clocked.delete()


def sync_periodic_task(schedule: Schedule) -> PeriodicTask:
    """Create or update the schedule's PeriodicTask so beat fires exactly what the row says.
    Call inside the transaction that changed the row."""
    task = schedule.periodic_task
    if task is None:
        task = PeriodicTask.objects.filter(
            name=periodic_task_name(schedule.pk)
        ).first() or PeriodicTask(name=periodic_task_name(schedule.pk))
    old_clocked = task.clocked if task.pk and task.clocked_id else None
    task.task = TASK_NAME
    task.args = "[]"
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.interval = task.crontab = task.clocked = task.solar = None
    task.one_off = False
    if schedule.trigger == Trigger.INTERVAL:
        task.interval = _interval_row(schedule.every or 0, schedule.period)
    elif schedule.trigger == Trigger.CRONTAB:
        task.crontab = _crontab_row(schedule.crontab)
    else:
        if old_clocked is not None and old_clocked.clocked_time == schedule.run_at:
            task.clocked = old_clocked
        else:
            task.clocked = ClockedSchedule.objects.create(clocked_time=schedule.run_at)
        task.one_off = True
    task.enabled = schedule.enabled
    task.description = f"{schedule.project.name}: {schedule.name}"
    task.save()
    if old_clocked is not None and old_clocked.pk != task.clocked_id:
        _drop_unused_clocked(old_clocked)
    if schedule.periodic_task_id != task.pk:
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)
        schedule.periodic_task = task
    return task


def _delete_periodic_task(task: PeriodicTask | None) -> None:
    if task is None:
        return
    clocked = task.clocked if task.clocked_id else None
    task.delete()  # PeriodicTask.delete tells beat the schedule changed
    _drop_unused_clocked(clocked)


# --- create, update, delete ---------------------------------------------------------------


def _snapshot(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "kind": schedule.kind,
        "options": schedule.options,
        "trigger": schedule.trigger,
        "every": schedule.every,
        "period": schedule.period,
        "crontab": schedule.crontab,
        "run_at": schedule.run_at.isoformat() if schedule.run_at else None,
        "enabled": schedule.enabled,
    }


def create_schedule(
    project: Project,
    *,
    user: Any,
    kind: str,
    trigger: str,
    request: Any = None,
    name: str = "",
    options: dict[str, Any] | None = None,
    every: int | None = None,
    period: str = "",
    crontab: str = "",
    run_at: datetime | None = None,
    go_live: datetime | None = None,
    after_hours: int | None = None,
    enabled: bool = True,
) -> Schedule:
    """A new schedule and its PeriodicTask, audited as `schedule.created`. A one-off takes
    `run_at`, or `go_live` and `after_hours` ("24 hours after go-live")."""
    now = timezone.now()
    spec = _clean(
        name=name,
        kind=kind,
        options=options,
        trigger=trigger,
        every=every,
        period=period,
        crontab=crontab,
        run_at=_resolve_run_at(run_at, go_live, after_hours) if trigger == Trigger.ONCE else None,
        enabled=enabled,
        after_hours=after_hours if trigger == Trigger.ONCE else None,
        check_future=True,
        now=now,
    )
    with transaction.atomic():
        schedule = Schedule.objects.create(
            project=project,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            **asdict(spec),
        )
        sync_periodic_task(schedule)
        audit.record(
            action="schedule.created",
            obj=schedule,
            user=user,
            request=request,
            project_id=project.pk,
            payload=_snapshot(schedule),
        )
    return schedule


def create_schedules(
    project: Project, plans: list[dict[str, Any]], *, user: Any, request: Any = None
) -> list[Schedule]:
    """Several schedules at once (a cutover's follow-up deltas): all or none."""
    with transaction.atomic():
        return [create_schedule(project, user=user, request=request, **plan) for plan in plans]


_EDITABLE = (
    "name",
    "kind",
    "options",
    "trigger",
    "every",
    "period",
    "crontab",
    "run_at",
    "enabled",
)


def update_schedule(
    schedule: Schedule, *, user: Any, request: Any = None, **changes: Any
) -> Schedule:
    """Change a schedule (any of its settings; `go_live` + `after_hours` for a one-off's time)
    and its PeriodicTask together, audited as `schedule.updated` with what changed."""
    go_live = changes.pop("go_live", None)
    after_hours = changes.pop("after_hours", None)
    unknown = sorted(set(changes) - set(_EDITABLE))
    if unknown:
        raise ValidationError({"detail": f"Cannot change: {', '.join(unknown)}."})
    current = {field: getattr(schedule, field) for field in _EDITABLE}
    merged = {**current, **changes}
    if go_live is not None or after_hours is not None:
        merged["run_at"] = _resolve_run_at(changes.get("run_at"), go_live, after_hours)
    if "options" not in changes and merged["kind"] != schedule.kind:
        # "of" belongs to dry runs only: moving between kinds keeps just the deletes switch.
        merged["options"] = {k: v for k, v in schedule.options.items() if k == "deletes"}
    if "name" not in changes and schedule.name == _default_name(
        {**current, "options": schedule.options}, None
    ):
        merged["name"] = ""  # an automatic name follows the new settings
    # A time is checked for the future only when it is set anew or the schedule is re-armed.
    rearmed = merged["enabled"] and not schedule.enabled
    check_future = merged["run_at"] != schedule.run_at or rearmed
    spec = _clean(
        **merged,
        after_hours=after_hours,
        check_future=check_future,
        now=timezone.now(),
    )
    before = _snapshot(schedule)
    with transaction.atomic():
        for field, value in asdict(spec).items():
            setattr(schedule, field, value)
        schedule.save()
        sync_periodic_task(schedule)
        after = _snapshot(schedule)
        changed = {key: after[key] for key in after if after[key] != before[key]}
        if changed:
            audit.record(
                action="schedule.updated",
                obj=schedule,
                user=user,
                request=request,
                project_id=schedule.project_id,
                payload={"changed": changed},
            )
    return schedule


def set_enabled(schedule: Schedule, enabled: bool, *, user: Any, request: Any = None) -> Schedule:
    return update_schedule(schedule, user=user, request=request, enabled=enabled)


def delete_schedule(schedule: Schedule, *, user: Any, request: Any = None) -> None:
    """Delete the schedule and its PeriodicTask together (audited as `schedule.deleted`)."""
    with transaction.atomic():
        task = (
            schedule.periodic_task
            or PeriodicTask.objects.filter(name=periodic_task_name(schedule.pk)).first()
        )
        audit.record(
            action="schedule.deleted",
            obj=schedule,
            user=user,
            request=request,
            project_id=schedule.project_id,
            payload=_snapshot(schedule),
        )
        schedule.delete()
        _delete_periodic_task(task)


# --- firing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    schedule_id: int
    outcome: str
    run: Run | None = None

    @property
    def started(self) -> bool:
        return self.run is not None


def _duplicate_gap(schedule: Schedule) -> timedelta:
    if schedule.trigger == Trigger.INTERVAL and schedule.every and schedule.period:
        # Half a period: a redelivered message is the same tick, the next tick is a period on.
        return _interval(schedule.every, schedule.period) / 2
    return CRONTAB_DUPLICATE_GAP


def _claim(schedule: Schedule, now: datetime) -> bool:
    """Take this firing with one conditional UPDATE, so a message delivered twice (acks late)
    starts at most one run; a one-off disables itself in the same statement."""
    rows = Schedule.objects.filter(pk=schedule.pk, enabled=True)
    updates: dict[str, Any] = {"fires": F("fires") + 1, "last_fired_at": now}
    if schedule.trigger == Trigger.ONCE:
        updates["enabled"] = False
    else:
        rows = rows.filter(
            Q(last_fired_at__isnull=True) | Q(last_fired_at__lte=now - _duplicate_gap(schedule))
        )
    return bool(rows.update(**updates))


def _live_run(project: Project) -> Run | None:
    return (
        Run.objects.filter(project=project)
        .exclude(status__in=[s.value for s in TERMINAL_STATUSES])
        .only("id", "status", "project_id")
        .first()
    )


def _live_refusal(run: Run) -> str:
    return f"refused: the project already has run #{run.pk} in progress"


def _start(schedule: Schedule) -> tuple[Run | None, str]:
    project = schedule.project
    live = _live_run(project)
    if live is not None:
        # Checked first so a busy project is not asked for a points estimate (a source call).
        return None, _live_refusal(live)
    try:
        run = services.start_run(
            project, kind=schedule.kind, user=None, options=dict(schedule.options) or None
        )
    except services.BudgetExceeded as exc:
        return None, f"refused: {exc}"
    except Conflict as exc:
        live = _live_run(project)  # lost a race with another start: name the winner
        return None, _live_refusal(live) if live is not None else f"refused: {exc}"
    except ValidationError as exc:
        return None, "refused: " + " ".join(exc.messages)
    except Exception as exc:
        # The firing is already claimed (a one-off disabled): say so on the schedule rather
        # than leave it silently done. The traceback goes to the worker's log.
        logger.exception("Schedule %s could not start its run", schedule.pk)
        return None, f"failed: {type(exc).__name__} (see the worker log)"
    return run, f"started run #{run.pk}"


def fire(schedule_id: int, *, now: datetime | None = None) -> Firing | None:
    """What beat's `runs.scheduled_start` does: start the schedule's run (as the system user)
    and record the outcome — the run, or the refusal — on the schedule. None when the
    schedule no longer exists (its leftover PeriodicTask is removed)."""
    now = now or timezone.now()
    schedule = Schedule.objects.select_related("project").filter(pk=schedule_id).first()
    if schedule is None:
        with transaction.atomic():
            _delete_periodic_task(
                PeriodicTask.objects.filter(name=periodic_task_name(schedule_id)).first()
            )
        return None
    if not _claim(schedule, now):
        reason = "disabled" if not schedule.enabled else "already fired for this tick"
        logger.info("Schedule %s not fired: %s", schedule_id, reason)
        return Firing(schedule_id, f"skipped: {reason}")
    # start_run runs in its own transaction; none is held here while it may ask the source
    # for a points estimate (an SQLite write lock must not wait on the network).
    run, outcome = _start(schedule)
    with transaction.atomic():
        updates: dict[str, Any] = {"last_outcome": outcome}
        if run is not None:
            updates["last_run"] = run
        Schedule.objects.filter(pk=schedule.pk).update(**updates)
        schedule.refresh_from_db()
        if schedule.trigger == Trigger.ONCE and schedule.periodic_task_id:
            sync_periodic_task(schedule)  # disabled: beat must not fire it again
        audit.record(
            action="schedule.fired",
            obj=schedule,
            project_id=schedule.project_id,
            payload={"outcome": outcome, "run": run.pk if run else None},
        )
    return Firing(schedule_id, outcome, run)


# --- reading --------------------------------------------------------------------------------


def when(schedule: Schedule) -> str:
    """How the schedule fires, in words."""
    if schedule.trigger == Trigger.INTERVAL:
        unit = schedule.period[:-1] if schedule.every == 1 else schedule.period
        return f"every {schedule.every} {unit}" if schedule.every != 1 else f"every {unit}"
    if schedule.trigger == Trigger.CRONTAB:
        return f"cron {schedule.crontab} (UTC)"
    at = f"{schedule.run_at:%Y-%m-%d %H:%M} UTC" if schedule.run_at else "?"
    return f"once at {at}"


def next_fire_at(schedule: Schedule, *, now: datetime | None = None) -> datetime | None:
    """When beat should fire the schedule next (None: disabled or a one-off already done).
    For an interval it is counted from the last firing, or from the last change of the
    schedule, as beat does; so it is an estimate."""
    if not schedule.enabled:
        return None
    now = now or timezone.now()
    if schedule.trigger == Trigger.ONCE:
        return schedule.run_at
    if schedule.trigger == Trigger.INTERVAL:
        if not schedule.every or not schedule.period:
            return None
        base = schedule.last_fired_at or schedule.updated_at or now
        return max(now, base + _interval(schedule.every, schedule.period))
    try:
        fields = parse_crontab(schedule.crontab)
    except ValidationError:
        return None
    return now + celery_crontab(**fields, nowfun=lambda: now).remaining_estimate(now)
