"""Schedules and django-celery-beat's PeriodicTask rows stay in step; firing starts a run or
records why it could not; everything is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from apps.core.models import AuditEvent
from apps.runs import schedules
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run, Schedule
from apps.runs.tasks import scheduled_start
from migrator.celery import app as celery_app

pytestmark = pytest.mark.django_db

Trigger = Schedule.Trigger


def soon(hours: float = 1) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def every_six_hours(project, user, **extra):
    return schedules.create_schedule(
        project,
        user=user,
        kind=RunKind.DELTA,
        trigger=Trigger.INTERVAL,
        every=6,
        period="hours",
        **extra,
    )


def task_of(schedule: Schedule) -> PeriodicTask:
    return PeriodicTask.objects.get(name=schedules.periodic_task_name(schedule.pk))


# --- create: one PeriodicTask per schedule ---------------------------------------------------


def test_an_interval_schedule_makes_its_periodic_task(project, admin_user):
    schedule = every_six_hours(project, admin_user)

    task = task_of(schedule)
    assert schedule.periodic_task_id == task.pk
    assert task.task == "runs.scheduled_start"
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert (task.interval.every, task.interval.period) == (6, "hours")
    assert task.crontab is None and task.clocked is None and not task.one_off
    assert task.enabled
    assert schedule.name == "Delta every 6 hours"
    assert schedules.when(schedule) == "every 6 hours"
    event = AuditEvent.objects.get(action="schedule.created")
    assert (event.actor, event.project_id, event.object_id) == (
        admin_user,
        project.pk,
        str(schedule.pk),
    )
    assert event.payload["trigger"] == "interval" and event.payload["every"] == 6


def test_a_crontab_schedule(project, admin_user):
    schedule = schedules.create_schedule(
        project,
        user=admin_user,
        kind=RunKind.DELTA,
        trigger=Trigger.CRONTAB,
        crontab="30 2 * * 1-5",
    )

    cron = task_of(schedule).crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "30",
        "2",
        "*",
        "*",
        "1-5",
    )
    assert str(cron.timezone) == "UTC"
    assert task_of(schedule).interval is None


def test_one_offs_after_go_live_are_clocked(project, admin_user):
    go_live = soon(2)
    day_after = schedules.create_schedule(
        project,
        user=admin_user,
        kind=RunKind.DELTA,
        trigger=Trigger.ONCE,
        go_live=go_live,
        after_hours=24,
    )
    week_after = schedules.create_schedule(
        project,
        user=admin_user,
        kind=RunKind.DELTA,
        trigger=Trigger.ONCE,
        go_live=go_live,
        after_hours=24 * 7,
    )
    sweep_at = soon(24 * 14)
    sweep = schedules.create_schedule(
        project,
        user=admin_user,
        kind=RunKind.DELTA,
        trigger=Trigger.ONCE,
        run_at=sweep_at,
        options={"deletes": True},
        name="Final sweep",
    )

    assert day_after.name == "24 hours after go-live"
    assert week_after.name == "A week after go-live"
    for schedule, moment in (
        (day_after, go_live + timedelta(hours=24)),
        (week_after, go_live + timedelta(days=7)),
        (sweep, sweep_at),
    ):
        task = task_of(schedule)
        assert task.one_off and task.clocked.clocked_time == moment
        assert task.interval is None and task.crontab is None
        assert schedules.next_fire_at(schedule) == moment
    assert sweep.options == {"deletes": True}


def test_the_cutover_follow_ups_are_made_all_or_none(project, admin_user):
    go_live = soon(1)
    plans = [
        {"kind": RunKind.DELTA, "trigger": Trigger.ONCE, "go_live": go_live, "after_hours": 24},
        {"kind": RunKind.DELTA, "trigger": Trigger.ONCE, "run_at": soon(-1)},  # in the past
    ]
    with pytest.raises(ValidationError, match="has passed"):
        schedules.create_schedules(project, plans, user=admin_user)
    assert not Schedule.objects.exists() and not PeriodicTask.objects.exists()

    plans[1]["run_at"] = soon(48)
    made = schedules.create_schedules(project, plans, user=admin_user)
    assert len(made) == 2 and PeriodicTask.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": RunKind.FULL}, "delta or a dry run"),
        ({"every": 2, "period": "minutes"}, "at least 5 minutes"),
        ({"every": None}, "needs `every`"),
        ({"trigger": Trigger.CRONTAB, "crontab": "61 * * * *"}, "crontab celery can read"),
        ({"trigger": Trigger.CRONTAB, "crontab": "0 3 * *"}, "Five fields"),
        ({"trigger": Trigger.ONCE, "run_at": None}, "needs a time"),
        ({"options": {"of": "delta"}}, "Only a dry run"),
        ({"options": {"deletes": "yes"}}, "true or false"),
        ({"options": {"sweep": True}}, "Unknown options"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_scheduled(project, admin_user, changes, message):
    settings = {"kind": RunKind.DELTA, "trigger": Trigger.INTERVAL, "every": 6, "period": "hours"}
    with pytest.raises(ValidationError, match=message):
        schedules.create_schedule(project, user=admin_user, **{**settings, **changes})
    assert not Schedule.objects.exists() and not PeriodicTask.objects.exists()
    assert not AuditEvent.objects.filter(action="schedule.created").exists()


def test_a_dry_run_schedule_rehearses_a_delta_by_default(project, admin_user):
    schedule = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DRY_RUN, trigger=Trigger.CRONTAB, crontab="0 6 * * *"
    )
    assert schedule.options == {"of": "delta"}
    assert schedule.name == "Dry run of a delta on cron 0 6 * * *"


# --- update, disable, delete ---------------------------------------------------------------


def test_changing_the_timing_changes_the_periodic_task(project, admin_user):
    schedule = every_six_hours(project, admin_user)
    task_id = task_of(schedule).pk

    schedules.update_schedule(
        schedule, user=admin_user, trigger=Trigger.CRONTAB, crontab="0 3 * * *"
    )

    task = task_of(schedule)
    assert task.pk == task_id  # the same beat entry, rescheduled
    assert task.interval is None and task.crontab.hour == "3"
    schedule.refresh_from_db()
    assert (schedule.every, schedule.period) == (None, "")
    assert schedule.name == "Delta on cron 0 3 * * *"  # an automatic name follows
    event = AuditEvent.objects.get(action="schedule.updated")
    assert event.payload["changed"]["trigger"] == "crontab"
    assert event.actor == admin_user


def test_moving_a_one_off_drops_its_old_clocked_time(project, admin_user):
    schedule = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DELTA, trigger=Trigger.ONCE, run_at=soon(5)
    )
    old = task_of(schedule).clocked_id

    schedules.update_schedule(schedule, user=admin_user, run_at=soon(10))

    assert task_of(schedule).clocked_id != old
    assert not ClockedSchedule.objects.filter(pk=old).exists()
    assert ClockedSchedule.objects.count() == 1


def test_disable_and_enable_follow_through_to_beat(project, admin_user):
    schedule = every_six_hours(project, admin_user)

    schedules.set_enabled(schedule, False, user=admin_user)
    assert not task_of(schedule).enabled
    assert schedules.next_fire_at(schedule) is None

    schedules.set_enabled(schedule, True, user=admin_user)
    assert task_of(schedule).enabled
    changes = [
        e.payload["changed"]["enabled"]
        for e in AuditEvent.objects.filter(action="schedule.updated").order_by("id")
    ]
    assert changes == [False, True]


def test_delete_removes_the_periodic_task_and_its_clocked_time(project, admin_user):
    once = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DELTA, trigger=Trigger.ONCE, run_at=soon(3)
    )
    interval = every_six_hours(project, admin_user)
    once_id = once.pk

    schedules.delete_schedule(once, user=admin_user)

    assert not Schedule.objects.filter(pk=once_id).exists()
    assert not PeriodicTask.objects.filter(name=schedules.periodic_task_name(once_id)).exists()
    assert not ClockedSchedule.objects.exists()
    assert task_of(interval)  # the other schedule keeps its own
    event = AuditEvent.objects.get(action="schedule.deleted")
    assert (event.object_id, event.actor) == (str(once_id), admin_user)


def test_beat_reads_the_schedules_from_the_database(project, admin_user):
    schedule = every_six_hours(project, admin_user)
    disabled = every_six_hours(project, admin_user, enabled=False)

    beat = DatabaseScheduler(app=celery_app, lazy=True)
    entries = beat.all_as_schedule()

    entry = entries[schedules.periodic_task_name(schedule.pk)]
    assert entry.task == "runs.scheduled_start"
    assert entry.kwargs == {"schedule_id": schedule.pk}
    assert entry.schedule.run_every == timedelta(hours=6)
    assert schedules.periodic_task_name(disabled.pk) not in entries


# --- firing ----------------------------------------------------------------------------------


def test_a_scheduled_start_starts_a_delta_and_records_it(project, admin_user, baseline):
    schedule = every_six_hours(project, admin_user, options={"deletes": True})

    outcome = scheduled_start(schedule.pk)  # the beat task, run in this process

    run = Run.objects.exclude(pk=baseline.pk).get()
    assert (run.kind, run.status, run.created_by) == (RunKind.DELTA, RunStatus.QUEUED, None)
    assert run.options == {"deletes": True}
    assert outcome == f"started run #{run.pk}"
    schedule.refresh_from_db()
    assert (schedule.last_run, schedule.last_outcome, schedule.fires) == (run, outcome, 1)
    assert schedule.last_fired_at is not None
    fired = AuditEvent.objects.get(action="schedule.fired")
    assert fired.payload == {"outcome": outcome, "run": run.pk}
    assert fired.actor is None and fired.via == "system"
    assert AuditEvent.objects.get(action="run.started").object_id == str(run.pk)


def test_a_second_start_while_a_run_is_live_is_refused_and_recorded(project, admin_user, baseline):
    schedule = every_six_hours(project, admin_user)
    first = schedules.fire(schedule.pk)
    assert first.started

    later = timezone.now() + timedelta(hours=6)  # the next tick, the first run still live
    second = schedules.fire(schedule.pk, now=later)

    assert second.run is None
    assert second.outcome == f"refused: the project already has run #{first.run.pk} in progress"
    assert Run.objects.filter(project=project, kind=RunKind.DELTA).count() == 1
    schedule.refresh_from_db()
    assert schedule.last_outcome == second.outcome
    assert schedule.last_run == first.run  # the last run it did start
    assert schedule.fires == 2
    outcomes = list(
        AuditEvent.objects.filter(action="schedule.fired")
        .order_by("id")
        .values_list("payload__outcome", flat=True)
    )
    assert outcomes == [first.outcome, second.outcome]


def test_a_live_run_started_by_a_user_refuses_the_schedule(
    project, admin_user, manager_user, baseline
):
    from apps.runs.services import start_run

    mine = start_run(project, kind=RunKind.DELTA, user=manager_user)
    schedule = every_six_hours(project, admin_user)

    firing = schedules.fire(schedule.pk)

    assert firing.outcome == f"refused: the project already has run #{mine.pk} in progress"
    assert Run.objects.filter(project=project).count() == 2  # the baseline and mine


def test_a_message_delivered_twice_starts_one_run(project, admin_user, baseline):
    schedule = every_six_hours(project, admin_user)
    first = schedules.fire(schedule.pk)
    Run.objects.filter(pk=first.run.pk).update(status=RunStatus.SUCCEEDED)  # a quick one

    again = schedules.fire(schedule.pk)  # the same tick, redelivered

    assert again.run is None and again.outcome.startswith("skipped")
    assert Run.objects.filter(kind=RunKind.DELTA).count() == 1
    schedule.refresh_from_db()
    assert schedule.fires == 1 and schedule.last_outcome == first.outcome


def test_a_one_off_fires_once_and_then_is_done(project, admin_user, baseline):
    schedule = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DELTA, trigger=Trigger.ONCE, run_at=soon(1)
    )

    first = schedules.fire(schedule.pk)
    Run.objects.filter(pk=first.run.pk).update(status=RunStatus.SUCCEEDED)
    again = schedules.fire(schedule.pk, now=timezone.now() + timedelta(days=1))

    assert first.started and not again.started
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.fires == 1
    assert not task_of(schedule).enabled
    assert schedules.next_fire_at(schedule) is None
    # Re-arming a done one-off needs a future time.
    with pytest.raises(ValidationError, match="has passed"):
        schedules.update_schedule(
            schedule, user=admin_user, enabled=True, run_at=timezone.now() - timedelta(hours=1)
        )


def test_a_disabled_schedule_does_not_fire(project, admin_user, baseline):
    schedule = every_six_hours(project, admin_user, enabled=False)
    firing = schedules.fire(schedule.pk)
    assert firing.outcome == "skipped: disabled"
    assert not Run.objects.filter(kind=RunKind.DELTA).exists()


def test_a_delta_without_a_baseline_is_refused_with_the_reason(project, admin_user):
    schedule = every_six_hours(project, admin_user)

    firing = schedules.fire(schedule.pk)

    assert firing.run is None
    assert firing.outcome.startswith("refused: A delta needs a baseline")
    schedule.refresh_from_db()
    assert schedule.last_outcome == firing.outcome and schedule.last_run is None


def test_a_scheduled_dry_run_plans_a_delta(project, admin_user, baseline):
    schedule = schedules.create_schedule(
        project,
        user=admin_user,
        kind=RunKind.DRY_RUN,
        trigger=Trigger.INTERVAL,
        every=1,
        period="days",
        options={"of": "delta", "deletes": True},
    )
    run = schedules.fire(schedule.pk).run
    assert (run.kind, run.options) == (RunKind.DRY_RUN, {"of": "delta", "deletes": True})


def test_a_schedule_deleted_under_beat_exits_cleanly(project, admin_user):
    schedule = every_six_hours(project, admin_user)
    schedule_id = schedule.pk
    # As if the project were deleted (the row cascades, the beat entry is left behind).
    Schedule.objects.filter(pk=schedule_id).delete()
    assert PeriodicTask.objects.filter(name=schedules.periodic_task_name(schedule_id)).exists()

    assert scheduled_start(schedule_id) is None

    assert not PeriodicTask.objects.filter(name=schedules.periodic_task_name(schedule_id)).exists()
    assert not Run.objects.exists()


def test_next_firing_of_a_crontab_and_an_interval(project, admin_user):
    cron = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DELTA, trigger=Trigger.CRONTAB, crontab="0 3 * * *"
    )
    now = datetime(2030, 1, 1, 10, 7, tzinfo=UTC)
    assert schedules.next_fire_at(cron, now=now) == datetime(2030, 1, 2, 3, 0, tzinfo=UTC)

    interval = every_six_hours(project, admin_user)
    Schedule.objects.filter(pk=interval.pk).update(last_fired_at=now)
    interval.refresh_from_db()
    assert schedules.next_fire_at(interval, now=now) == now + timedelta(hours=6)


def test_an_unexpected_error_is_recorded_not_lost(project, admin_user, baseline, monkeypatch):
    schedule = schedules.create_schedule(
        project, user=admin_user, kind=RunKind.DELTA, trigger=Trigger.ONCE, run_at=soon(1)
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(schedules.services, "start_run", broken)

    firing = schedules.fire(schedule.pk)

    assert firing.outcome == "failed: RuntimeError (see the worker log)"
    schedule.refresh_from_db()
    assert schedule.last_outcome == firing.outcome and not schedule.enabled
