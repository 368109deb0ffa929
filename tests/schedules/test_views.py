"""The schedules section of the project page: admins manage, project managers see,
merchandisers do not, non-members get 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import AuditEvent
from apps.runs import schedules
from apps.runs.choices import RunKind
from apps.runs.models import Schedule

pytestmark = pytest.mark.django_db


def detail(project) -> str:
    return reverse("projects:detail", args=[project.pk])


def create_url(project) -> str:
    return reverse("projects:schedule_create", args=[project.pk])


def a_schedule(project, user) -> Schedule:
    return schedules.create_schedule(
        project,
        user=user,
        kind=RunKind.DELTA,
        trigger=Schedule.Trigger.INTERVAL,
        every=6,
        period="hours",
    )


def in_form_format(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_admin_sees_schedules_and_the_forms(client, project, admin_user):
    schedule = a_schedule(project, admin_user)
    client.force_login(admin_user)

    html = client.get(detail(project)).text

    assert 'id="schedules"' in html and 'id="schedules-table"' in html
    assert f'data-schedule-id="{schedule.pk}"' in html and "every 6 hours" in html
    assert 'id="schedule-form"' in html and 'id="cutover-form"' in html
    assert f'id="schedule-toggle-{schedule.pk}"' in html
    assert f'id="schedule-delete-{schedule.pk}"' in html


def test_manager_sees_schedules_but_cannot_manage_them(client, project, admin_user, manager_user):
    schedule = a_schedule(project, admin_user)
    client.force_login(manager_user)

    html = client.get(detail(project)).text

    assert f'data-schedule-id="{schedule.pk}"' in html
    assert 'id="schedule-form"' not in html and f'id="schedule-delete-{schedule.pk}"' not in html
    response = client.post(
        create_url(project), {"kind": "delta", "trigger": "interval", "every": 6, "period": "hours"}
    )
    assert response.status_code == 403
    toggle = reverse("projects:schedule_toggle", args=[project.pk, schedule.pk])
    assert client.post(toggle, {"enabled": "false"}).status_code == 403
    delete = reverse("projects:schedule_delete", args=[project.pk, schedule.pk])
    assert client.post(delete).status_code == 403
    assert Schedule.objects.get().enabled


def test_merchandiser_sees_no_schedules(client, project, admin_user, merchandiser_user):
    a_schedule(project, admin_user)
    client.force_login(merchandiser_user)
    html = client.get(detail(project)).text
    assert 'id="schedules"' not in html
    assert client.post(create_url(project), {"kind": "delta"}).status_code == 403


def test_non_member_gets_404(client, project, admin_user, outsider):
    schedule = a_schedule(project, admin_user)
    client.force_login(outsider)
    assert client.post(create_url(project), {"kind": "delta"}).status_code == 404
    delete = reverse("projects:schedule_delete", args=[project.pk, schedule.pk])
    assert client.post(delete).status_code == 404
    assert Schedule.objects.exists()


def test_a_schedule_of_another_project_is_404(client, project, admin_user, outsider):
    from apps.projects.models import Membership

    other_project = Membership.objects.get(user=outsider).project
    theirs = a_schedule(other_project, outsider)
    client.force_login(admin_user)
    delete = reverse("projects:schedule_delete", args=[project.pk, theirs.pk])
    assert client.post(delete).status_code == 404
    assert Schedule.objects.filter(pk=theirs.pk).exists()


def test_admin_creates_an_interval_schedule(client, project, admin_user):
    client.force_login(admin_user)

    response = client.post(
        create_url(project),
        {"kind": "delta", "trigger": "interval", "every": "4", "period": "hours", "deletes": "on"},
    )

    assert response.status_code == 302 and response["Location"].endswith("#schedules")
    schedule = Schedule.objects.get()
    assert (schedule.every, schedule.period, schedule.options) == (4, "hours", {"deletes": True})
    assert PeriodicTask.objects.get(pk=schedule.periodic_task_id).interval.every == 4
    assert AuditEvent.objects.get(action="schedule.created").actor == admin_user


def test_admin_creates_a_one_off_24_hours_after_go_live(client, project, admin_user):
    client.force_login(admin_user)
    go_live = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)

    response = client.post(
        create_url(project),
        {"kind": "delta", "trigger": "once", "go_live": in_form_format(go_live), "after": "24"},
    )

    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert schedule.name == "24 hours after go-live"
    assert schedule.run_at == go_live + timedelta(hours=24)
    assert PeriodicTask.objects.get().one_off


def test_a_bad_schedule_shows_the_reason_on_the_form(client, project, admin_user):
    client.force_login(admin_user)

    response = client.post(
        create_url(project), {"kind": "delta", "trigger": "crontab", "crontab": "every night"}
    )

    assert response.status_code == 400
    assert "Five fields" in response.text and 'id="schedule-form"' in response.text
    assert not Schedule.objects.exists()


def test_cutover_follow_ups(client, project, admin_user):
    client.force_login(admin_user)
    go_live = timezone.now() + timedelta(hours=3)
    sweep = go_live + timedelta(days=14)

    response = client.post(
        reverse("projects:schedule_cutover", args=[project.pk]),
        {
            "go_live": in_form_format(go_live),
            "after_day": "on",
            "after_week": "on",
            "final_sweep_at": in_form_format(sweep),
        },
        follow=True,
    )

    assert response.status_code == 200
    made = {s.name: s for s in Schedule.objects.all()}
    assert set(made) == {"24 hours after go-live", "A week after go-live", "Final sweep"}
    assert made["Final sweep"].options == {"deletes": True}
    assert PeriodicTask.objects.filter(one_off=True).count() == 3
    html = response.text
    assert html.count("<tr data-schedule-id=") == 3


def test_toggle_and_delete(client, project, admin_user):
    schedule = a_schedule(project, admin_user)
    client.force_login(admin_user)

    toggle = reverse("projects:schedule_toggle", args=[project.pk, schedule.pk])
    client.post(toggle, {"enabled": "false"})
    schedule.refresh_from_db()
    assert not schedule.enabled and not PeriodicTask.objects.get().enabled

    client.post(reverse("projects:schedule_delete", args=[project.pk, schedule.pk]))
    assert not Schedule.objects.exists() and not PeriodicTask.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"schedule.created", "schedule.updated", "schedule.deleted"} <= actions


def test_the_page_shows_what_the_last_firing_did(client, project, admin_user, baseline):
    schedule = a_schedule(project, admin_user)
    first = schedules.fire(schedule.pk)
    schedules.fire(schedule.pk, now=timezone.now() + timedelta(hours=7))
    client.force_login(admin_user)

    html = client.get(detail(project)).text

    assert f"refused: the project already has run #{first.run.pk} in progress" in html
    assert reverse("runs:detail", args=[first.run.pk]) in html
