from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.stores.models import Store
from tests.api.helpers import assert_no_secrets, error_text
from tests.factories import MembershipFactory, StoreFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/stores/"
WOO_SECRETS = {"consumer_key": "ck_new_key_aaaaaaaa", "consumer_secret": "cs_new_secret_bbbbbbbb"}


def detail(store) -> str:
    return f"/api/v1/stores/{store.pk}/"


def new_store_body(**overrides):
    body = {
        "name": "Old shop",
        "platform": "woocommerce",
        "base_url": "https://old.example.com/",
        "credentials": dict(WOO_SECRETS),
    }
    body.update(overrides)
    return body


def test_list_shows_only_visible_stores(client_for, project, manager_user, user):
    mine = StoreFactory(created_by=manager_user)
    StoreFactory()  # someone else's, used by no project of theirs

    response = client_for(manager_user).get(LIST)

    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {project.source_store_id, project.target_store_id, mine.pk}
    assert_no_secrets(response.content, project.source_store.credentials_encrypted)
    assert all(row["has_credentials"] is True for row in response.json()["results"])
    assert client_for(user).get(LIST).json()["results"] == []


def test_list_filters_by_platform(client_for, project, admin_user):
    response = client_for(admin_user).get(LIST, {"platform": "bigcommerce"})
    assert [row["id"] for row in response.json()["results"]] == [project.target_store_id]


def test_anonymous_is_refused(api, project):
    assert api.get(LIST).status_code == 401
    assert api.post(LIST, new_store_body(), format="json").status_code == 401
    assert api.get(detail(project.source_store)).status_code == 401


def test_create_store_is_owned_audited_and_hides_credentials(client_for, user):
    response = client_for(user).post(LIST, new_store_body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_credentials"] is True
    assert body["created_by"] == user.username
    assert body["base_url"] == "https://old.example.com"
    assert "credentials" not in body
    assert "credentials_encrypted" not in body
    store = Store.objects.get(pk=body["id"])
    assert store.created_by == user
    assert store.decrypted_credentials() == WOO_SECRETS
    assert_no_secrets(response.content, *WOO_SECRETS.values(), store.credentials_encrypted)

    event = AuditEvent.objects.get(action="store.created", object_id=str(store.pk))
    assert event.actor == user
    assert_no_secrets(str(event.payload).encode(), *WOO_SECRETS.values())


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"credentials": {"consumer_key": "ck"}}, "credentials", "Missing: consumer_secret"),
        ({"credentials": {**WOO_SECRETS, "extra": "x"}}, "credentials", "Unknown fields: extra"),
        ({"credentials": "ck:cs"}, "credentials", "dictionary"),
        ({"credentials": {}}, "credentials", "may not be empty"),
        ({"credentials": {"consumer_key": {"nested": 1}}}, "credentials", "valid string"),
        ({"credentials": None}, "credentials", "may not be null"),
        ({"platform": "magento"}, "platform", "not a valid choice"),
        ({"base_url": "not a url"}, "base_url", "valid URL"),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": ["a"]}, "name", "valid string"),
        ({"requests_per_second": "fast"}, "requests_per_second", "valid number"),
        ({"requests_per_second": "nan"}, "requests_per_second", "valid number"),
        ({"requests_per_second": -1}, "requests_per_second", "greater than or equal to 0"),
    ],
)
def test_create_rejects_bad_input_with_a_message(client_for, user, overrides, field, message):
    response = client_for(user).post(LIST, new_store_body(**overrides), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert message in error_text(response)
    assert not Store.objects.exists()
    assert not AuditEvent.objects.exists()


def test_create_requires_credentials(client_for, user):
    body = new_store_body()
    del body["credentials"]
    response = client_for(user).post(LIST, body, format="json")
    assert response.status_code == 400
    assert "required" in error_text(response)


def test_detail_for_a_visible_store(client_for, project, merchandiser_user):
    response = client_for(merchandiser_user).get(detail(project.source_store))

    assert response.status_code == 200
    assert response.json()["id"] == project.source_store_id
    assert_no_secrets(response.content, project.source_store.credentials_encrypted)


@pytest.mark.parametrize("suffix", ["", "99999/", "9" * 30 + "/", "abc/", "-1/"])
def test_detail_of_an_invisible_or_impossible_store_is_404(client_for, project, outsider, suffix):
    url = detail(project.source_store) if not suffix else f"{LIST}{suffix}"
    response = client_for(outsider).get(url)
    assert response.status_code == 404


def test_creator_updates_store_and_credentials(client_for, user):
    store = StoreFactory(created_by=user)
    secrets = {"consumer_key": "ck_rotated_1111", "consumer_secret": "cs_rotated_2222"}

    response = client_for(user).patch(
        detail(store), {"name": "Renamed", "credentials": secrets}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
    store.refresh_from_db()
    assert store.decrypted_credentials() == secrets
    assert_no_secrets(response.content, *secrets.values(), store.credentials_encrypted)
    event = AuditEvent.objects.get(action="store.updated", object_id=str(store.pk))
    assert sorted(event.payload["changed"]) == ["credentials", "name"]
    assert event.actor == user


def test_admin_of_a_project_using_the_store_may_update_it(client_for, project, admin_user):
    response = client_for(admin_user).patch(
        detail(project.target_store), {"requests_per_second": 4}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["requests_per_second"] == 4
    assert AuditEvent.objects.filter(action="store.updated").count() == 1


@pytest.mark.parametrize("role", [Role.PROJECT_MANAGER, Role.MERCHANDISER])
def test_other_roles_may_see_but_not_update(client_for, project, role):
    member = MembershipFactory(project=project, role=role).user
    response = client_for(member).patch(
        detail(project.source_store), {"name": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    assert "creator" in response.json()["detail"]
    assert not AuditEvent.objects.exists()


def test_outsider_update_is_404(client_for, project, outsider):
    response = client_for(outsider).patch(
        detail(project.source_store), {"name": "x"}, format="json"
    )
    assert response.status_code == 404


def test_platform_cannot_change(client_for, user):
    store = StoreFactory(created_by=user)
    response = client_for(user).patch(detail(store), {"platform": "bigcommerce"}, format="json")
    assert response.status_code == 400
    assert "cannot be changed" in error_text(response)


def test_update_validates_credentials_against_platform(client_for, user):
    store = StoreFactory(created_by=user)
    response = client_for(user).patch(
        detail(store), {"credentials": {"store_hash": "x", "access_token": "y"}}, format="json"
    )
    assert response.status_code == 400
    assert "Missing: consumer_key, consumer_secret" in error_text(response)
    store.refresh_from_db()
    assert store.decrypted_credentials()["consumer_key"] == "ck_factory_key_123"


def test_put_is_not_offered(client_for, user):
    store = StoreFactory(created_by=user)
    response = client_for(user).put(detail(store), new_store_body(), format="json")
    assert response.status_code == 405
