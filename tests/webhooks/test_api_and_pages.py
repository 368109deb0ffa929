"""Who may connect webhooks, what the API and the pages show (never the secret), and the
sandbox's delivery-fault settings over the API."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.projects.models import Membership
from apps.stores.services import update_store
from apps.webhooks.models import EndpointStatus, WebhookEndpoint
from tests.factories import PASSWORD, ProjectFactory, UserFactory


def admin_of(project):
    return project.memberships.get(role=Role.ADMIN).user


def member(project, role):
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role=role)
    return user


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(project) -> str:
    return f"/api/v1/projects/{project.pk}/webhooks/"


@pytest.mark.parametrize(
    ("role", "status"), [(Role.PROJECT_MANAGER, 403), (Role.MERCHANDISER, 403)]
)
def test_only_admins_connect_webhooks(rehearsal, role, status):
    user = member(rehearsal.project, role)

    assert api_as(user).post(url(rehearsal.project)).status_code == status
    assert api_as(user).get(url(rehearsal.project)).status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_non_members_get_404(rehearsal):
    outsider = UserFactory()
    Membership.objects.create(project=ProjectFactory(), user=outsider, role=Role.ADMIN)

    assert api_as(outsider).post(url(rehearsal.project)).status_code == 404
    assert api_as(outsider).get(url(rehearsal.project)).status_code == 404
    assert APIClient().get(url(rehearsal.project)).status_code in (401, 403)


def test_the_status_before_connecting(rehearsal):
    body = api_as(admin_of(rehearsal.project)).get(url(rehearsal.project)).json()

    assert body["connected"] is False
    assert body["status"] is None and body["subscriptions"] == []
    assert body["pending_events"] == 0


def test_a_source_that_refuses_is_a_502_and_the_endpoint_shows_why(rehearsal, nested_requests):
    admin = admin_of(rehearsal.project)
    update_store(
        rehearsal.project.source_store,
        user=admin,
        credentials={"consumer_key": "ck_wrong_key_000", "consumer_secret": "cs_wrong_000000"},
    )

    response = api_as(admin).post(url(rehearsal.project))

    assert response.status_code == 502
    assert "refused" in response.json()["detail"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.status == EndpointStatus.FAILED and "401" in endpoint.error
    assert AuditEvent.objects.filter(action="webhooks.connect_failed").exists()
    assert endpoint.secret() not in response.content.decode()


def test_a_scope_without_webhook_topics_is_a_400(rehearsal):
    rehearsal.project.entities = ["posts"]
    rehearsal.project.save()

    response = api_as(admin_of(rehearsal.project)).post(url(rehearsal.project))

    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


# --- dashboard -----------------------------------------------------------------------------


def browser(user) -> Client:
    client = Client()
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def test_the_page_offers_connect_to_admins_only(rehearsal):
    page = f"/webhooks/projects/{rehearsal.project.pk}/"
    manager = member(rehearsal.project, Role.PROJECT_MANAGER)

    as_admin = browser(admin_of(rehearsal.project)).get(page)
    as_manager = browser(manager).get(page)

    assert as_admin.status_code == 200
    assert b'id="connect-webhooks"' in as_admin.content
    assert b'id="webhooks-empty"' in as_admin.content
    assert as_manager.status_code == 200
    assert b'id="connect-webhooks"' not in as_manager.content
    connect = f"/webhooks/projects/{rehearsal.project.pk}/connect/"
    assert browser(manager).post(connect).status_code == 403
    assert browser(UserFactory()).get(page).status_code == 404


def test_connecting_from_the_page(rehearsal, outbox, committed, nested_requests):
    client = browser(admin_of(rehearsal.project))

    with committed():
        response = client.post(f"/webhooks/projects/{rehearsal.project.pk}/connect/", follow=True)

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.status == EndpointStatus.CONNECTED
    text = response.content.decode()
    assert "Webhooks connected: 3 subscriptions" in text
    assert endpoint.token in text  # the delivery URL is shown …
    assert endpoint.secret() not in text  # … the secret never


def test_the_project_page_section_renders_from_the_template_tag(rehearsal):
    request = RequestFactory().get("/")
    request.user = admin_of(rehearsal.project)
    template = Template("{% load webhook_tags %}{% webhooks_section project %}")

    html = template.render(Context({"request": request, "project": rehearsal.project}))

    assert 'id="webhooks"' in html and 'id="connect-webhooks"' in html


# --- sandbox delivery faults over the API --------------------------------------------------


def test_sandbox_webhook_faults_over_the_api(rehearsal):
    admin = admin_of(rehearsal.project)
    store = rehearsal.project.source_store
    path = f"/api/v1/stores/{store.pk}/sandbox/webhooks/"

    before = api_as(admin).get(path)
    changed = api_as(admin).patch(path, {"duplicate_rate": 1, "reorder_rate": 0.5}, format="json")
    out_of_range = api_as(admin).patch(path, {"duplicate_rate": 3}, format="json")
    unknown = api_as(admin).patch(path, {"duplicates": 1}, format="json")

    assert before.json()["duplicate_rate"] == 0
    assert changed.status_code == 200, changed.content
    assert (changed.json()["duplicate_rate"], changed.json()["reorder_rate"]) == (1.0, 0.5)
    assert out_of_range.status_code == 400 and unknown.status_code == 400
    assert AuditEvent.objects.filter(action="sandbox.webhook_faults_changed").count() == 1
    outsider = UserFactory()
    assert api_as(outsider).get(path).status_code == 404


def test_sandbox_webhook_faults_are_for_sandboxes_only(project, admin_user):
    path = f"/api/v1/stores/{project.source_store.pk}/sandbox/webhooks/"

    assert api_as(admin_user).get(path).status_code == 404


def test_the_api_schema_documents_the_endpoints_without_a_secret(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    webhooks = schema["paths"]["/api/v1/projects/{project_id}/webhooks/"]
    assert set(webhooks) >= {"get", "post"}
    assert set(webhooks["post"]["responses"]) >= {"200", "201", "403", "404", "502"}
    assert "/api/v1/stores/{id}/sandbox/webhooks/" in schema["paths"]
    properties = schema["components"]["schemas"]["ProjectWebhooks"]["properties"]
    assert "delivery_url" in properties
    assert not any("secret" in name for name in properties)
