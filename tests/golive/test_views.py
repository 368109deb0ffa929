"""The cutover pages: who sees which buttons, refusals as 403 with nothing written, approving
with and without HTMX, the blockers summary and the LIVE banner, edits, rollback, and the
notification settings with a write-only secret."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.golive import notifications, services
from apps.golive.models import Approval, Check, WebhookEndpoint
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.api.helpers import assert_no_secrets
from tests.golive.conftest import member

pytestmark = pytest.mark.django_db

SECRET = "whsec-page-0123456789abcdef"


def page(client, project):
    return client.get(reverse("golive:plan", args=[project.pk]))


def test_admin_sees_the_plan_with_checks_evidence_and_buttons(client, world, admin_user):
    client.force_login(admin_user)
    response = page(client, world.project)

    assert response.status_code == 200
    text = response.text
    assert 'id="gate-baseline"' in text and 'id="gate-post_launch"' in text
    assert text.index('id="gate-baseline"') < text.index('id="gate-go_live"')
    assert 'class="inline approve-form"' in text and 'class="inline check-edit"' in text
    assert f'href="/runs/{world.delta.pk}/"' in text  # evidence link
    assert 'id="go-live-blockers"' in text and "needs 1 more approval" in text
    assert 'id="units-table"' in text and 'data-unit="orders"' in text
    assert 'id="rollback-table"' in text and f'data-run-id="{world.delta.pk}"' in text


@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.PROJECT_MANAGER])
def test_others_see_the_plan_without_buttons_and_are_refused(client, world, role):
    user = member(world.project, role)
    client.force_login(user)
    response = page(client, world.project)
    assert response.status_code == 200
    assert "approve-form" not in response.text and "check-edit" not in response.text
    assert 'id="rollback"' not in response.text and 'id="cutover-read-only"' in response.text

    gate = world.gate("baseline")
    approve = client.post(reverse("golive:gate_approve", args=[world.project.pk, gate.pk]))
    rollback = client.post(
        reverse("golive:rollback", args=[world.project.pk]), {"run": world.delta.pk}
    )
    check = Check.objects.get(gate=gate, kind="failure_rate")
    edit = client.post(
        reverse("golive:check_edit", args=[world.project.pk, check.pk]), {"threshold": "50"}
    )

    assert approve.status_code == 403 and rollback.status_code == 403
    assert edit.status_code == 403
    assert not Approval.objects.exists()
    assert Check.objects.get(pk=check.pk).threshold == 1.0
    assert not Run.objects.filter(kind=RunKind.ROLLBACK).exists()


def test_non_members_get_404(client, world, outsider):
    client.force_login(outsider)
    assert page(client, world.project).status_code == 404
    gate = world.gate("baseline")
    url = reverse("golive:gate_approve", args=[world.project.pk, gate.pk])
    assert client.post(url).status_code == 404


def test_admin_approves_with_htmx_and_without(client, world, admin_user):
    client.force_login(admin_user)
    baseline = world.gate("baseline")
    response = client.post(
        reverse("golive:gate_approve", args=[world.project.pk, baseline.pk]),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "You approved &#x27;Baseline verified&#x27;." in response.text
    assert 'id="gate-baseline"' in response.text and 'data-status="passed"' in response.text
    assert "<html" not in response.text  # the partial

    clear = world.gate("clear")
    response = client.post(reverse("golive:gate_approve", args=[world.project.pk, clear.pk]))
    assert response.status_code == 302
    assert Approval.objects.filter(gate__key__in=["baseline", "clear"]).count() == 2


def test_a_refused_approval_shows_why_with_409(client, world, admin_user):
    client.force_login(admin_user)
    gate = world.gate("redirects")
    response = client.post(reverse("golive:gate_approve", args=[world.project.pk, gate.pk]))
    assert response.status_code == 409
    assert "cannot be approved before" in response.text
    assert not Approval.objects.exists()


def test_live_banner(client, world, admin_user):
    plan = world.plan
    plan.state, plan.went_live_at = "live", timezone.now()
    plan.save()
    client.force_login(admin_user)
    response = page(client, world.project)
    assert 'id="live-banner"' in response.text and "LIVE" in response.text
    assert 'id="go-live-blockers"' not in response.text


def test_admin_edits_a_threshold_and_a_unit(client, world, admin_user):
    client.force_login(admin_user)
    check = Check.objects.get(gate__key="baseline", kind="failure_rate")
    response = client.post(
        reverse("golive:check_edit", args=[world.project.pk, check.pk]),
        {"threshold": "2.5", "enabled": "on"},
    )
    assert response.status_code == 302
    assert Check.objects.get(pk=check.pk).threshold == 2.5
    bad = client.post(
        reverse("golive:check_edit", args=[world.project.pk, check.pk]),
        {"threshold": "lots", "enabled": "on"},
    )
    assert bad.status_code == 400 and "not a number" in bad.text

    unit = world.plan.units.get(key="customers")
    response = client.post(
        reverse("golive:unit_edit", args=[world.project.pk, unit.pk]),
        {
            "sor:go_live": "source",
            "dir:post_launch": "target_to_source",
            "rollback_window_hours": "6",
            "failure_rate_above": "",
            "mismatches_above": "10",
        },
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.system_of_record["go_live"] == "source" and unit.rollback_window_hours == 6
    assert unit.rollback_triggers == {
        "failure_rate_above": None,
        "mismatches_above": 10.0,
        "manual": False,
    }
    assert "not supported" in page(client, world.project).text


def test_rollback_outside_the_window_needs_the_override_box(client, project, admin_user):
    run = Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now() - timedelta(days=30),
        plan={"order": ["products"]},
    )
    client.force_login(admin_user)
    text = page(client, project).text
    assert 'data-window-open="false"' in text and 'name="override"' in text

    response = client.post(reverse("golive:rollback", args=[project.pk]), {"run": run.pk})
    assert response.status_code == 409 and "outside its rollback window" in response.text
    bad = client.post(reverse("golive:rollback", args=[project.pk]), {"run": "abc"})
    assert bad.status_code == 400


def test_notification_settings_keep_the_secret_write_only(client, project, admin_user):
    client.force_login(admin_user)
    url = reverse("golive:endpoint_create", args=[project.pk])
    response = client.post(
        url, {"url": "https://hooks.example.com/in", "secret": SECRET, "events": ["gate.changed"]}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret() == SECRET and endpoint.events == ["gate.changed"]
    notifications.notify(project, "gate.changed", {"gate": {"key": "x"}})

    listing = client.get(reverse("golive:notifications", args=[project.pk]))
    assert listing.status_code == 200 and "https://hooks.example.com/in" in listing.text
    assert_no_secrets(listing.content, SECRET, endpoint.secret_encrypted)
    plan_page = page(client, project)
    assert_no_secrets(plan_page.content, SECRET, endpoint.secret_encrypted)

    bad = client.post(url, {"url": "ftp://nope", "secret": SECRET})
    assert bad.status_code == 400 and "http" in bad.text
    assert SECRET not in bad.text

    email = client.post(
        reverse("golive:email_edit", args=[project.pk]),
        {"roles": ["admin"], "addresses": "ops@example.com\nlead@example.com"},
    )
    assert email.status_code == 302
    assert project.notification_email.addresses == ["lead@example.com", "ops@example.com"]


def test_managers_cannot_configure_notifications(client, project, manager_user):
    client.force_login(manager_user)
    assert client.get(reverse("golive:notifications", args=[project.pk])).status_code == 200
    response = client.post(
        reverse("golive:endpoint_create", args=[project.pk]),
        {"url": "https://hooks.example.com/in", "secret": SECRET},
    )
    assert response.status_code == 403 and not WebhookEndpoint.objects.exists()


def test_page_load_evaluates(client, world, admin_user):
    services.approve(world.gate("baseline"), admin_user)
    world.fail_records(50)
    client.force_login(admin_user)
    response = page(client, world.project)
    assert 'data-status="blocked"' in response.text
    assert Approval.objects.get().withdrawn_at is not None
    # The system withdrew it: the admin who loaded the page is not its author.
    event = AuditEvent.objects.get(action="gate.approval_withdrawn")
    assert event.actor is None and event.via == "system"
