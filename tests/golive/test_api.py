"""The cutover plan over REST: reading, approving (403 for the wrong role with nothing written,
409 with a reason), edits with 400s for bad input, rollbacks, endpoints whose secret is never
answered, and a schema without warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.golive import notifications
from apps.golive.models import Approval, Check, WebhookEndpoint
from apps.runs import services as run_services
from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.api.helpers import assert_no_secrets, error_text
from tests.golive.conftest import member

pytestmark = pytest.mark.django_db

SECRET = "whsec-api-0123456789abcdef"


def cutover(project) -> str:
    return f"/api/v1/projects/{project.pk}/cutover/"


def test_members_read_the_plan_others_do_not(api_as, world, merchandiser_user, outsider):
    response = api_as(merchandiser_user).get(cutover(world.project))
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "preparing"
    assert [g["key"] for g in body["gates"]][:2] == ["baseline", "clear"]
    first = body["gates"][0]
    assert first["status"] == "awaiting_approval" and first["required_approvals"] == 1
    check = next(c for c in first["checks"] if c["kind"] == "failure_rate")
    assert check["passed"] is True and check["direction"] == "max"
    assert check["evidence"]["run_id"] == world.delta.pk
    assert body["blockers"] and body["units"][0]["key"] == "catalog"
    assert api_as(outsider).get(cutover(world.project)).status_code == 404
    assert APIClient().get(cutover(world.project)).status_code == 401
    assert api_as(outsider).get("/api/v1/projects/99999999999999999999/cutover/").status_code == 404


@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.PROJECT_MANAGER])
def test_wrong_roles_cannot_approve(api_as, world, role):
    client = api_as(member(world.project, role))
    gate = world.gate("baseline")
    response = client.post(f"{cutover(world.project)}gates/{gate.pk}/approve/")
    assert response.status_code == 403
    assert "approve" in error_text(response).lower()
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="gate.").exists()


def test_admin_approves_and_withdraws(api_as, world, admin_user, admin2):
    client = api_as(admin_user)
    gate = world.gate("baseline")
    url = f"{cutover(world.project)}gates/{gate.pk}/"

    response = client.post(url + "approve/")
    assert response.status_code == 201, response.content
    assert response.json()["user"] == admin_user.username

    again = client.post(url + "approve/")
    assert again.status_code == 409 and "already approved" in error_text(again)

    detail = client.get(url).json()
    assert detail["status"] == "passed" and detail["active_approvals"] == 1

    order = client.post(f"{cutover(world.project)}gates/{world.gate('redirects').pk}/approve/")
    assert order.status_code == 409 and "before" in error_text(order)

    withdrawn = client.post(url + "withdraw/", {"reason": "rechecking"}, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_by"] == admin_user.username
    assert client.get(url).json()["status"] == "awaiting_approval"
    assert api_as(admin2).post(url + "withdraw/").status_code == 409


def test_unknown_gate_is_404(api_as, world, admin_user):
    response = api_as(admin_user).post(f"{cutover(world.project)}gates/0/approve/")
    assert response.status_code == 404


def test_edits(api_as, world, admin_user, manager_user):
    client = api_as(admin_user)
    check = Check.objects.get(gate__key="baseline", kind="failure_rate")
    url = f"{cutover(world.project)}checks/{check.pk}/"

    assert client.patch(url, {"threshold": "abc"}, format="json").status_code == 400
    assert client.patch(url, {"threshold": -1}, format="json").status_code == 400
    response = client.patch(url, {"threshold": 0, "enabled": True}, format="json")
    assert response.status_code == 200 and response.json()["threshold"] == 0
    assert api_as(manager_user).patch(url, {"threshold": 9}, format="json").status_code == 403

    gate = world.gate("go_live")
    gate_url = f"{cutover(world.project)}gates/{gate.pk}/"
    assert client.patch(gate_url, {"required_approvals": 0}, format="json").status_code == 400
    response = client.patch(gate_url, {"required_approvals": 3}, format="json")
    assert response.status_code == 200 and response.json()["required_approvals"] == 3

    unit = world.plan.units.get(key="orders")
    unit_url = f"{cutover(world.project)}units/{unit.pk}/"
    bad = client.patch(unit_url, {"delta_direction": {"go_live": "sideways"}}, format="json")
    assert bad.status_code == 400 and "delta_direction" in bad.json()
    response = client.patch(
        unit_url,
        {"delta_direction": {"post_launch": "target_to_source"}, "rollback_window_hours": 2},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["unsupported_directions"] == ["post_launch"]
    assert response.json()["rollback_window_hours"] == 2


def test_rollbacks_endpoint(api_as, project, admin_user, manager_user, monkeypatch):
    def fake_start_run(project, *, kind, parent=None, user=None, rollback_approved=False, **kw):
        assert rollback_approved is True
        return Run.objects.create(project=project, kind=kind, parent=parent, created_by=user)

    monkeypatch.setattr(run_services, "start_run", fake_start_run)
    old = Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now() - timedelta(days=10),
        plan={"order": ["products"]},
    )
    url = f"/api/v1/projects/{project.pk}/rollbacks/"
    client = api_as(admin_user)

    assert api_as(manager_user).post(url, {"run": old.pk}, format="json").status_code == 403
    assert client.post(url, {"run": "x"}, format="json").status_code == 400
    assert client.post(url, {"run": 999999}, format="json").status_code == 404
    refused = client.post(url, {"run": old.pk}, format="json")
    assert refused.status_code == 409 and "override" in error_text(refused)
    response = client.post(url, {"run": old.pk, "override": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "rollback" and response.json()["parent"] == old.pk
    assert AuditEvent.objects.filter(action="rollback.override").count() == 1


def test_endpoint_secrets_are_never_answered(api_as, project, admin_user, manager_user):
    client = api_as(admin_user)
    url = f"/api/v1/projects/{project.pk}/notifications/webhooks/"
    created = client.post(
        url,
        {"url": "https://hooks.example.com/a", "secret": SECRET, "events": ["gate.changed"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["has_secret"] is True and "secret" not in created.json()
    endpoint = WebhookEndpoint.objects.get()
    notifications.notify(project, "gate.changed", {})

    for response in (
        created,
        client.get(url),
        api_as(manager_user).get(url),
        client.get(f"/api/v1/projects/{project.pk}/notifications/deliveries/"),
        client.patch(f"{url}{endpoint.pk}/", {"secret": SECRET + "-rotated"}, format="json"),
    ):
        assert response.status_code in (200, 201)
        assert_no_secrets(response.content, SECRET, endpoint.secret_encrypted)
    assert WebhookEndpoint.objects.get().secret() == SECRET + "-rotated"

    assert client.post(url, {"url": "nope", "secret": SECRET}, format="json").status_code == 400
    assert client.post(url, {"url": "https://x.example.com", "secret": "short"}).status_code == 400
    assert (
        api_as(manager_user)
        .post(url, {"url": "https://x.example.com", "secret": SECRET}, format="json")
        .status_code
        == 403
    )
    assert client.delete(f"{url}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_email_recipients(api_as, project, admin_user):
    client = api_as(admin_user)
    url = f"/api/v1/projects/{project.pk}/notifications/email/"
    assert client.get(url).json() == {"roles": [], "addresses": [], "events": []}
    response = client.put(
        url, {"roles": ["admin"], "addresses": ["a@example.com"], "events": []}, format="json"
    )
    assert response.status_code == 200 and response.json()["roles"] == ["admin"]
    bad = client.put(url, {"roles": ["owner"]}, format="json")
    assert bad.status_code == 400 and "roles" in bad.json()


def test_schema_has_no_warnings_for_these_endpoints():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [p for p in schema["paths"] if "/cutover/" in p or "/notifications/" in p]
    assert "/api/v1/projects/{project_id}/rollbacks/" in schema["paths"]
    assert len(paths) >= 8
    warnings = [w for w in GENERATOR_STATS._warn_cache if "golive" in str(w).lower()]
    errors = [e for e in GENERATOR_STATS._error_cache if "golive" in str(e).lower()]
    assert warnings == [] and errors == []
