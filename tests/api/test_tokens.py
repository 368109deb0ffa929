"""Token authentication and the issue_api_token management command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.stores.models import Store

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_issue_creates_then_repeats_the_same_token(user):
    key = issue(user.username)

    assert key == Token.objects.get(user=user).key
    assert issue(user.username) == key
    event = AuditEvent.objects.get(action="api_token.issued")
    assert event.object_id == str(user.pk)
    # The token is the Token row's primary key: it must not become the audit object id.
    assert key not in str(event.payload) and event.object_id != key


def test_rotate_replaces_the_token(user, project, admin_user):
    old = issue(admin_user.username)
    new = issue(admin_user.username, "--rotate")

    assert new != old
    assert token_client(old).get("/api/v1/projects/").status_code == 401
    assert token_client(new).get("/api/v1/projects/").status_code == 200
    assert AuditEvent.objects.filter(action="api_token.rotated").count() == 1


def test_unknown_user_is_a_command_error(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        issue("ghost")


def test_token_header_authenticates(project, manager_user):
    client = token_client(issue(manager_user.username))

    response = client.get(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 200
    assert response.json()["role"] == "project_manager"


def test_token_requests_are_audited_as_token(user):
    client = token_client(issue(user.username))
    body = {
        "name": "Via token",
        "platform": "bigcommerce",
        "base_url": "https://api.bigcommerce.com",
        "credentials": {"store_hash": "h1", "access_token": "tok_very_secret_1"},
    }

    response = client.post("/api/v1/stores/", body, format="json")

    assert response.status_code == 201
    assert "tok_very_secret_1" not in response.content.decode()
    event = AuditEvent.objects.get(action="store.created")
    assert (event.actor, event.via) == (user, "token")
    assert Store.objects.get().created_by == user


@pytest.mark.parametrize("header", ["Token nope", "Token", "Token a b", "Bearer x"])
def test_bad_token_headers_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/projects/").status_code == 401


def test_inactive_users_token_is_refused(user):
    key = issue(user.username)
    user.is_active = False
    user.save()
    assert token_client(key).get("/api/v1/projects/").status_code == 401


def test_session_login_also_works(client, project, admin_user):
    from tests.factories import PASSWORD

    assert client.login(username=admin_user.username, password=PASSWORD)
    assert client.get("/api/v1/projects/").status_code == 200
