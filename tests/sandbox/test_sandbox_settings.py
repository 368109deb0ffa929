"""A sandbox's fault settings: the API (GET/PATCH /api/v1/stores/<id>/sandbox/), the dashboard
page (stores:sandbox) and the service: who may see and change them, validation, audit.

Until migrator/urls.py and apps/stores/urls.py include the sandbox routes, this module is its
own URLconf: the project's URLs plus exactly the include lines the lead adds.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import include, path, reverse
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.sandbox import fault_settings
from apps.sandbox.api.serializers import SandboxFaultsSerializer
from apps.sandbox.models import Flavor, SandboxStore
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores import urls as store_urls
from apps.stores.models import Platform, Store
from migrator import urls as project_urls
from tests.factories import MembershipFactory, ProjectFactory, StoreFactory, UserFactory

urlpatterns = [
    path(
        "stores/",
        include(
            (
                [
                    *store_urls.urlpatterns,
                    path("<int:pk>/sandbox/", include("apps.sandbox.store_urls")),
                ],
                "stores",
            )
        ),
    ),
    path(
        "api/v1/",
        include(
            ([path("", include("apps.sandbox.api.urls")), *project_urls.api_v1], "api"),
            namespace="api",
        ),
    ),
    *(p for p in project_urls.urlpatterns if str(p.pattern) not in {"stores/", "api/v1/"}),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def sandbox(db) -> SandboxStore:
    store, _ = create_sandbox_store(slug="rehearsal", name="Rehearsal", flavor=Flavor.BIGCOMMERCE)
    return store


@pytest.fixture
def store(owner, sandbox) -> Store:
    """The owner's Store pointing at the sandbox, as the demo and the docs create them."""
    return StoreFactory(
        created_by=owner,
        name="Rehearsal target",
        platform=Platform.SANDBOX_BIGCOMMERCE,
        base_url=sandbox_base_url(sandbox, "http://127.0.0.1:8000"),
    )


@pytest.fixture
def viewer(store):
    """A merchandiser on a project writing to the store: may see it, may not manage it."""
    project = ProjectFactory(target_store=store)
    return MembershipFactory(project=project, role=Role.MERCHANDISER).user


@pytest.fixture
def project_admin(store):
    project = ProjectFactory(target_store=store)
    return MembershipFactory(project=project, role=Role.ADMIN).user


def url(store: Store) -> str:
    return f"/api/v1/stores/{store.pk}/sandbox/"


# --- API ---------------------------------------------------------------------------------------


def test_get_shows_the_settings(client_for, owner, store, sandbox):
    response = client_for(owner).get(url(store))

    assert response.status_code == 200
    assert response.json() == {
        "store_id": store.pk,
        "sandbox": "rehearsal",
        "flavor": "bigcommerce",
        "fault_draws": 0,
        "latency_ms": 0,
        "error_rate": 0.0,
        "timeout_rate": 0.0,
        "timeout_hang_ms": 35000,
        "drop_rate": 0.0,
        "fault_seed": 0,
        "quota_requests": 0,
        "quota_window_ms": 30000,
    }


@pytest.mark.parametrize("who", ["owner", "project_admin"])
def test_patch_changes_restarts_the_sequence_and_audits_old_and_new(
    request, client_for, store, sandbox, who
):
    user = request.getfixturevalue(who)
    SandboxStore.objects.filter(pk=sandbox.pk).update(fault_draws=17, next_id=40)

    response = client_for(user).patch(
        url(store),
        {"error_rate": 0.25, "latency_ms": 150, "drop_rate": 0, "quota_requests": 450},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["error_rate"], body["latency_ms"], body["quota_requests"]) == (0.25, 150, 450)
    assert body["fault_draws"] == 0
    sandbox.refresh_from_db()
    assert (sandbox.error_rate, sandbox.latency_ms, sandbox.quota_requests) == (0.25, 150, 450)
    assert sandbox.next_id == 40  # only the settings were written, not a stale copy of the row

    event = AuditEvent.objects.get(action="sandbox.faults_changed")
    assert event.actor == user
    assert event.via == "session"
    assert event.object_type == "sandbox.sandboxstore"
    assert event.object_id == str(sandbox.pk)
    assert event.payload == {
        "store_id": store.pk,
        "sandbox": "rehearsal",
        "changed": {  # drop_rate was already 0: not a change
            "error_rate": {"old": 0.0, "new": 0.25},
            "latency_ms": {"old": 0, "new": 150},
            "quota_requests": {"old": 0, "new": 450},
        },
    }


def test_patch_without_a_change_writes_and_audits_nothing(client_for, owner, store, sandbox):
    SandboxStore.objects.filter(pk=sandbox.pk).update(fault_draws=5)
    response = client_for(owner).patch(url(store), {"error_rate": 0}, format="json")
    assert response.status_code == 200
    assert response.json()["fault_draws"] == 5
    assert not AuditEvent.objects.filter(action="sandbox.faults_changed").exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"error_rate": 1.5}, "error_rate", "less than or equal to 1"),
        ({"timeout_rate": -0.1}, "timeout_rate", "greater than or equal to 0"),
        ({"drop_rate": "often"}, "drop_rate", "valid number"),
        ({"drop_rate": "nan"}, "drop_rate", ""),
        ({"latency_ms": 60001}, "latency_ms", "less than or equal to 60000"),
        ({"latency_ms": -1}, "latency_ms", "greater than or equal to 0"),
        ({"latency_ms": 1.5}, "latency_ms", "valid integer"),
        ({"latency_ms": True}, "latency_ms", "valid integer"),
        ({"quota_requests": -1}, "quota_requests", "greater than or equal to 0"),
        ({"quota_window_ms": 0}, "quota_window_ms", "greater than or equal to 1"),
        ({"timeout_hang_ms": 300001}, "timeout_hang_ms", "less than or equal to 300000"),
        ({"fault_seed": 2**31}, "fault_seed", "less than or equal to"),
        ({"eror_rate": 0.5}, "eror_rate", "Unknown field"),
    ],
)
def test_patch_validates_each_value(client_for, owner, store, sandbox, body, field, message):
    response = client_for(owner).patch(url(store), body, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors
    assert message in str(errors[field])
    sandbox.refresh_from_db()
    assert fault_settings.current(sandbox) == fault_settings.current(SandboxStore())
    assert not AuditEvent.objects.filter(action="sandbox.faults_changed").exists()


def test_a_body_that_is_not_an_object_is_a_400(client_for, owner, store):
    response = client_for(owner).patch(url(store), [1, 2], format="json")
    assert response.status_code == 400


def test_a_visible_store_you_may_not_manage_is_read_only(client_for, viewer, store, sandbox):
    client = client_for(viewer)
    assert client.get(url(store)).status_code == 200

    response = client.patch(url(store), {"error_rate": 1}, format="json")

    assert response.status_code == 403
    assert "creator or an admin" in response.json()["detail"]
    sandbox.refresh_from_db()
    assert sandbox.error_rate == 0


def test_a_store_you_cannot_see_is_a_404(client_for, outsider, store, sandbox):
    client = client_for(outsider)
    assert client.get(url(store)).status_code == 404
    assert client.patch(url(store), {"error_rate": 1}, format="json").status_code == 404
    assert client.get("/api/v1/stores/999999999/sandbox/").status_code == 404
    sandbox.refresh_from_db()
    assert sandbox.error_rate == 0


def test_anonymous_is_refused(api, store):
    assert api.get(url(store)).status_code in (401, 403)
    assert api.patch(url(store), {"error_rate": 1}, format="json").status_code in (401, 403)


def test_a_store_that_is_not_a_sandbox_is_a_404_that_says_so(client_for, owner):
    real = StoreFactory(created_by=owner, platform=Platform.WOOCOMMERCE)
    response = client_for(owner).get(url(real))
    assert response.status_code == 404
    assert "not a sandbox" in response.json()["detail"]

    gone = StoreFactory(
        created_by=owner,
        platform=Platform.SANDBOX_WOOCOMMERCE,
        base_url="http://127.0.0.1:8000/sandbox/deleted-shop",
    )
    response = client_for(owner).patch(url(gone), {"error_rate": 1}, format="json")
    assert response.status_code == 404
    assert "No WooCommerce (wc/v3) sandbox is served at 'deleted-shop'" in response.json()["detail"]


def test_the_schema_documents_the_endpoint_without_warnings(tmp_path):
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--urlconf", __name__, "--validate", "--fail-on-warn", "--file", str(target)
    )
    operations = yaml.safe_load(target.read_text())["paths"]["/api/v1/stores/{id}/sandbox/"]
    assert set(operations) == {"get", "patch"}
    assert set(operations["patch"]["responses"]) >= {"200", "400", "403", "404"}


def test_the_serializer_covers_every_setting():
    writable = {
        name for name, field in SandboxFaultsSerializer().fields.items() if not field.read_only
    }
    assert writable == set(fault_settings.FIELDS)


# --- service ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000/sandbox/rehearsal",
        "https://migrator.example.com/sandbox/rehearsal/",
        "https://example.com/tools/migrator/sandbox/rehearsal",
    ],
)
def test_the_sandbox_is_found_from_the_store_url_path(owner, sandbox, base_url):
    store = StoreFactory(created_by=owner, platform=Platform.SANDBOX_BIGCOMMERCE, base_url=base_url)
    assert fault_settings.sandbox_for_store(store) == sandbox


def test_a_sandbox_of_the_other_flavor_is_not_this_stores(owner, sandbox):
    store = StoreFactory(
        created_by=owner,
        platform=Platform.SANDBOX_WOOCOMMERCE,
        base_url="http://127.0.0.1:8000/sandbox/rehearsal",
    )
    with pytest.raises(fault_settings.NotASandbox, match="No WooCommerce"):
        fault_settings.sandbox_for_store(store)


def test_the_service_refuses_what_the_api_would(owner, store, sandbox):
    for bad in ({"error_rate": float("nan")}, {"latency_ms": 2.5}, {"drop_rate": True}):
        with pytest.raises(ValidationError):
            fault_settings.update_faults(store, sandbox, user=owner, **bad)
    with pytest.raises(ValidationError, match="Not a fault setting"):
        fault_settings.update_faults(store, sandbox, user=owner, next_id=1)


# --- dashboard page ---------------------------------------------------------------------------


def page(store: Store) -> str:
    return reverse("stores:sandbox", args=[store.pk])


def _post(**overrides: Any) -> dict[str, Any]:
    data = {
        "latency_ms": "0",
        "error_rate": "0",
        "timeout_rate": "0",
        "timeout_hang_ms": "35000",
        "drop_rate": "0",
        "fault_seed": "0",
        "quota_requests": "0",
        "quota_window_ms": "30000",
    }
    data.update(overrides)
    return data


def test_the_store_edit_page_links_to_the_sandbox_page(client, owner, store):
    client.force_login(owner)
    html = client.get(reverse("stores:edit", args=[store.pk])).content.decode()
    assert f'href="{page(store)}"' in html

    real = StoreFactory(created_by=owner, platform=Platform.WOOCOMMERCE)
    assert (
        "sandbox-faults-link"
        not in client.get(reverse("stores:edit", args=[real.pk])).content.decode()
    )


def test_the_page_shows_and_saves_the_settings(client, owner, store, sandbox):
    client.force_login(owner)
    html = client.get(page(store)).content.decode()
    assert 'name="error_rate"' in html
    assert 'id="sandbox-save"' in html
    assert "no faults" in html

    response = client.post(
        page(store), _post(error_rate="0.1", timeout_rate="0.05", latency_ms="200"), follow=True
    )

    assert response.redirect_chain == [(page(store), 302)]
    assert "Sandbox faults saved: +200 ms, 10% 5xx, 5% timeouts." in response.content.decode()
    sandbox.refresh_from_db()
    assert (sandbox.error_rate, sandbox.timeout_rate, sandbox.latency_ms) == (0.1, 0.05, 200)
    event = AuditEvent.objects.get(action="sandbox.faults_changed")
    assert event.actor == owner
    assert set(event.payload["changed"]) == {"error_rate", "timeout_rate", "latency_ms"}


def test_the_page_shows_errors_and_saves_nothing(client, owner, store, sandbox):
    client.force_login(owner)
    response = client.post(page(store), _post(error_rate="2", latency_ms="-5"))

    assert response.status_code == 400
    html = response.content.decode()
    assert "less than or equal to 1" in html
    assert "greater than or equal to 0" in html
    sandbox.refresh_from_db()
    assert sandbox.error_rate == 0
    assert not AuditEvent.objects.filter(action="sandbox.faults_changed").exists()


def test_a_viewer_sees_the_page_read_only_and_may_not_post(client, viewer, store, sandbox):
    client.force_login(viewer)
    html = client.get(page(store)).content.decode()
    assert 'id="read-only-note"' in html
    assert 'id="sandbox-save"' not in html
    assert "disabled" in html

    assert client.post(page(store), _post(error_rate="1")).status_code == 403
    sandbox.refresh_from_db()
    assert sandbox.error_rate == 0


def test_the_page_is_a_404_for_outsiders_and_for_stores_that_are_not_sandboxes(
    client, outsider, owner, store
):
    client.force_login(outsider)
    assert client.get(page(store)).status_code == 404
    assert client.post(page(store), _post(error_rate="1")).status_code == 404

    client.force_login(owner)
    real = StoreFactory(created_by=owner, platform=Platform.WOOCOMMERCE)
    assert client.get(page(real)).status_code == 404


def test_the_page_needs_a_login(client, store):
    response = client.get(page(store))
    assert response.status_code == 302
    assert "/login" in response["Location"]
