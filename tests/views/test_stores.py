"""Store pages: credentials are write-only, edits are authorised and audited."""

from __future__ import annotations

import re

from django.urls import reverse

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.stores.models import Store
from tests.factories import MembershipFactory, StoreFactory, UserFactory

KEY, SECRET = "ck_live_KEY_1234567890", "cs_live_SECRET_abcdefghij"
FACTORY_SECRETS = ("ck_factory_key_123", "cs_factory_secret_456", "factory_token_789xyz")


def _woo_post(**extra):
    data = {
        "name": "Old shop",
        "platform": "woocommerce",
        "base_url": "https://old.example.com/",
        "requests_per_second": "4",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
    }
    data.update(extra)
    return data


def _assert_no_secrets(html: str, store: Store | None = None) -> None:
    for secret in (KEY, SECRET, *FACTORY_SECRETS):
        assert secret not in html
    if store is not None:
        store.refresh_from_db()
        assert store.credentials_encrypted[:40] not in html


def _password_inputs_are_empty(html: str) -> None:
    inputs = re.findall(r"<input[^>]*>", html)
    secrets = [tag for tag in inputs if 'type="password"' in tag]
    assert len(secrets) == 4
    assert all("value=" not in tag for tag in secrets)


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_visible_stores_without_credentials(client, admin_user, project):
    own = StoreFactory(created_by=admin_user, name="My own draft")
    hidden = StoreFactory(name="Another agency's shop")
    client.force_login(admin_user)
    html = client.get(reverse("stores:list")).text
    for store in (project.source_store, project.target_store, own):
        assert f'data-store-id="{store.pk}"' in html
    assert hidden.name not in html
    _assert_no_secrets(html, project.source_store)
    assert html.count('data-action="edit-store"') == 3  # admin of the project + creator


def test_list_edit_link_only_where_allowed(client, manager_user, project):
    client.force_login(manager_user)
    html = client.get(reverse("stores:list")).text
    assert f'data-store-id="{project.source_store.pk}"' in html
    assert 'data-action="edit-store"' not in html


def test_list_empty_state(client, user):
    client.force_login(user)
    assert 'id="stores-empty"' in client.get(reverse("stores:list")).text


# --- create -------------------------------------------------------------------------------------


def test_create_store_encrypts_audits_and_never_echoes(client, user):
    client.force_login(user)
    form = client.get(reverse("stores:create")).text
    _password_inputs_are_empty(form)
    response = client.post(reverse("stores:create"), _woo_post(), follow=True)
    store = Store.objects.get(name="Old shop")
    assert response.redirect_chain[-1][0] == reverse("stores:list")
    assert store.created_by == user and store.base_url == "https://old.example.com"
    assert store.requests_per_second == 4
    assert store.decrypted_credentials() == {"consumer_key": KEY, "consumer_secret": SECRET}
    _assert_no_secrets(response.text, store)
    event = AuditEvent.objects.get(action="store.created", object_id=str(store.pk))
    assert event.actor == user
    assert KEY not in str(event.payload) and SECRET not in str(event.payload)


def test_create_with_missing_credentials_rerenders_without_them(client, user):
    client.force_login(user)
    response = client.post(reverse("stores:create"), _woo_post(consumer_secret=""))
    assert response.status_code == 400
    assert not Store.objects.exists()
    assert "Required." in response.text
    _assert_no_secrets(response.text)  # the key that *was* typed is not echoed back
    _password_inputs_are_empty(response.text)


def test_create_rejects_fields_of_another_platform(client, user):
    client.force_login(user)
    response = client.post(reverse("stores:create"), _woo_post(access_token="tok_abcdefgh"))
    assert response.status_code == 400
    assert "does not use this field" in response.text
    assert not Store.objects.exists()


# --- edit ---------------------------------------------------------------------------------------


def test_edit_form_never_renders_credentials(client, admin_user, project):
    store = project.source_store
    client.force_login(admin_user)
    response = client.get(reverse("stores:edit", args=[store.pk]))
    assert response.status_code == 200
    assert store.name in response.text and store.base_url in response.text
    _assert_no_secrets(response.text, store)
    _password_inputs_are_empty(response.text)
    assert "credentials are set" in response.text


def test_edit_with_blank_credentials_keeps_them(client, user):
    store = StoreFactory(
        created_by=user, credentials={"consumer_key": KEY, "consumer_secret": SECRET}
    )
    client.force_login(user)
    response = client.post(
        reverse("stores:edit", args=[store.pk]),
        _woo_post(name="Renamed", consumer_key="", consumer_secret=""),
        follow=True,
    )
    store.refresh_from_db()
    assert response.redirect_chain[-1][0] == reverse("stores:list")
    assert store.name == "Renamed" and store.requests_per_second == 4
    assert store.decrypted_credentials() == {"consumer_key": KEY, "consumer_secret": SECRET}
    _assert_no_secrets(response.text, store)
    event = AuditEvent.objects.get(action="store.updated", object_id=str(store.pk))
    assert "credentials" not in event.payload["changed"] and "name" in event.payload["changed"]


def test_edit_with_new_credentials_replaces_them(client, admin_user, project):
    store = project.source_store
    client.force_login(admin_user)
    response = client.post(reverse("stores:edit", args=[store.pk]), _woo_post())
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.decrypted_credentials() == {"consumer_key": KEY, "consumer_secret": SECRET}
    event = AuditEvent.objects.get(action="store.updated", object_id=str(store.pk))
    assert "credentials" in event.payload["changed"]


def test_edit_with_half_the_credentials_is_refused(client, admin_user, project):
    store = project.source_store
    client.force_login(admin_user)
    response = client.post(reverse("stores:edit", args=[store.pk]), _woo_post(consumer_secret=""))
    assert response.status_code == 400
    assert "fill in every field" in response.text
    _assert_no_secrets(response.text, store)
    assert store.decrypted_credentials()["consumer_key"] == "ck_factory_key_123"


def test_changing_platform_needs_new_credentials(client, admin_user, project):
    store = project.source_store  # WooCommerce
    client.force_login(admin_user)
    data = _woo_post(platform="bigcommerce", consumer_key="", consumer_secret="")
    response = client.post(reverse("stores:edit", args=[store.pk]), data)
    assert response.status_code == 400
    assert "needs its credentials" in response.text
    store.refresh_from_db()
    assert store.platform == "woocommerce"


def test_edit_by_manager_is_403_and_by_outsider_404(client, manager_user, outsider, project):
    store = project.source_store
    url = reverse("stores:edit", args=[store.pk])
    client.force_login(manager_user)
    assert client.get(url).status_code == 403
    assert client.post(url, _woo_post()).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, _woo_post()).status_code == 404
    store.refresh_from_db()
    assert store.name != "Old shop"
    assert not AuditEvent.objects.filter(action="store.updated").exists()


def test_creator_may_edit_without_membership(client, db):
    creator = UserFactory()
    membership = MembershipFactory(role=Role.MERCHANDISER)
    store = membership.project.source_store
    Store.objects.filter(pk=store.pk).update(created_by=creator)
    client.force_login(creator)
    assert client.get(reverse("stores:edit", args=[store.pk])).status_code == 200
    client.force_login(membership.user)  # a merchandiser of a project using it may not
    assert client.get(reverse("stores:edit", args=[store.pk])).status_code == 403
