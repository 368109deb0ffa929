"""/api/v1/projects/<id>/schedules/ and /api/v1/schedules/<id>/: admins manage, project
managers read, merchandisers 403, non-members 404; PeriodicTask rows follow every change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import AuditEvent
from apps.runs import schedules
from apps.runs.models import Schedule
from tests.api.helpers import error_text

pytestmark = pytest.mark.django_db

INTERVAL = {"kind": "delta", "trigger": "interval", "every": 6, "period": "hours"}


def list_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/schedules/"


def detail_url(schedule_id: int) -> str:
    return f"/api/v1/schedules/{schedule_id}/"


def create(client, project, **data):
    return client.post(list_url(project), data, format="json")


def test_admin_creates_an_interval_schedule(client_for, project, admin_user):
    response = create(client_for(admin_user), project, **INTERVAL, deletes=True)

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "delta" and data["options"] == {"deletes": True}
    assert (data["trigger"], data["every"], data["period"]) == ("interval", 6, "hours")
    assert data["when"] == "every 6 hours" and data["enabled"] is True
    assert data["beat_task"] == schedules.periodic_task_name(data["id"])
    assert data["next_run_at"] is not None and data["last_outcome"] == ""
    assert data["created_by"] == admin_user.username
    task = PeriodicTask.objects.get(name=data["beat_task"])
    assert task.interval.every == 6 and task.task == "runs.scheduled_start"
    event = AuditEvent.objects.get(action="schedule.created")
    assert (event.actor, event.via) == (admin_user, "session")


def test_crontab_and_one_off_after_go_live(client_for, project, admin_user):
    client = client_for(admin_user)
    cron = create(client, project, kind="dry_run", trigger="crontab", crontab="0 4 * * *")
    go_live = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    once = create(
        client,
        project,
        kind="delta",
        trigger="once",
        go_live=go_live.isoformat(),
        after_hours=168,
    )

    assert cron.status_code == 201, cron.content
    assert cron.json()["options"] == {"of": "delta"}
    assert PeriodicTask.objects.get(name=cron.json()["beat_task"]).crontab.hour == "4"
    assert once.status_code == 201, once.content
    data = once.json()
    assert data["name"] == "A week after go-live"
    task = PeriodicTask.objects.get(name=data["beat_task"])
    assert task.one_off and task.clocked.clocked_time == go_live + timedelta(days=7)


def test_bad_input_is_a_400_with_the_reason(client_for, project, admin_user):
    client = client_for(admin_user)
    cases = [
        ({**INTERVAL, "kind": "full"}, "is not a valid choice"),
        ({**INTERVAL, "every": 1, "period": "minutes"}, "at least 5 minutes"),
        ({"kind": "delta", "trigger": "crontab", "crontab": "* *"}, "Five fields"),
        ({"kind": "delta", "trigger": "once", "run_at": "2001-01-01T00:00:00Z"}, "has passed"),
        ({**INTERVAL, "of": "full"}, "Only a dry run"),
        ({"kind": "delta", "trigger": "once", "after_hours": 24}, "needs both"),
    ]
    for body, message in cases:
        response = create(client, project, **body)
        assert response.status_code == 400, (body, response.content)
        assert message in error_text(response), (body, response.json())
    assert not Schedule.objects.exists() and not PeriodicTask.objects.exists()


def test_patch_changes_the_schedule_and_its_periodic_task(client_for, project, admin_user):
    client = client_for(admin_user)
    created = create(client, project, **INTERVAL).json()

    response = client.patch(
        detail_url(created["id"]),
        {"trigger": "crontab", "crontab": "15 1 * * *", "deletes": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["trigger"], data["crontab"], data["every"]) == ("crontab", "15 1 * * *", None)
    assert data["options"] == {"deletes": True}
    task = PeriodicTask.objects.get(name=created["beat_task"])
    assert task.interval is None and (task.crontab.minute, task.crontab.hour) == ("15", "1")
    changed = AuditEvent.objects.get(action="schedule.updated").payload["changed"]
    assert changed["trigger"] == "crontab" and changed["options"] == {"deletes": True}


def test_disable_through_patch(client_for, project, admin_user):
    client = client_for(admin_user)
    created = create(client, project, **INTERVAL).json()

    response = client.patch(detail_url(created["id"]), {"enabled": False}, format="json")

    assert response.json()["enabled"] is False and response.json()["next_run_at"] is None
    assert not PeriodicTask.objects.get(name=created["beat_task"]).enabled


def test_delete_removes_both(client_for, project, admin_user):
    client = client_for(admin_user)
    created = create(client, project, **INTERVAL).json()

    response = client.delete(detail_url(created["id"]))

    assert response.status_code == 204
    assert not Schedule.objects.exists() and not PeriodicTask.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.deleted").count() == 1
    assert client.get(detail_url(created["id"])).status_code == 404


def test_manager_reads_but_cannot_change(client_for, project, admin_user, manager_user):
    created = create(client_for(admin_user), project, **INTERVAL).json()
    client = client_for(manager_user)

    listing = client.get(list_url(project))
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [created["id"]]
    assert client.get(detail_url(created["id"])).status_code == 200

    assert create(client, project, **INTERVAL).status_code == 403
    patch = client.patch(detail_url(created["id"]), {"enabled": False}, format="json")
    assert patch.status_code == 403
    assert client.delete(detail_url(created["id"])).status_code == 403
    assert Schedule.objects.get().enabled


def test_merchandiser_gets_403(client_for, project, admin_user, merchandiser_user):
    created = create(client_for(admin_user), project, **INTERVAL).json()
    client = client_for(merchandiser_user)
    assert client.get(list_url(project)).status_code == 403
    assert client.get(detail_url(created["id"])).status_code == 403
    assert create(client, project, **INTERVAL).status_code == 403


def test_non_member_gets_404(client_for, project, admin_user, outsider):
    created = create(client_for(admin_user), project, **INTERVAL).json()
    client = client_for(outsider)
    assert client.get(list_url(project)).status_code == 404
    assert client.get(detail_url(created["id"])).status_code == 404
    assert (
        client.patch(detail_url(created["id"]), {"enabled": False}, format="json").status_code
        == 404
    )
    assert client.delete(detail_url(created["id"])).status_code == 404
    assert create(client, project, **INTERVAL).status_code == 404
    assert Schedule.objects.get().enabled


def test_anonymous_gets_401_or_403(api, project):
    assert api.get(list_url(project)).status_code in (401, 403)


def test_ids_that_cannot_exist_are_404(client_for, admin_user):
    client = client_for(admin_user)
    assert client.get(detail_url(2**63)).status_code == 404
    assert client.get("/api/v1/projects/99999999/schedules/").status_code == 404


def test_the_last_firing_shows_in_the_api(client_for, project, admin_user):
    created = create(client_for(admin_user), project, **INTERVAL).json()
    schedules.fire(created["id"])  # no baseline yet: refused, with the reason

    data = client_for(admin_user).get(detail_url(created["id"])).json()

    assert data["last_outcome"].startswith("refused: A delta needs a baseline")
    assert data["fires"] == 1 and data["last_run"] is None and data["last_fired_at"]
