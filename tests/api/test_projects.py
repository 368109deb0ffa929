from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.projects.models import Membership, Project
from apps.runs.choices import RunStatus
from tests.api.helpers import assert_no_secrets, error_text, make_run
from tests.factories import ProjectFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/projects/"


def detail(project) -> str:
    return f"/api/v1/projects/{project.pk}/"


def members(project) -> str:
    return f"/api/v1/projects/{project.pk}/members/"


@pytest.fixture
def stores(user):
    """Two stores the user created (so can see)."""
    return (
        StoreFactory(created_by=user),
        StoreFactory(created_by=user, platform="bigcommerce"),
    )


def test_list_shows_member_projects_with_role(client_for, project, manager_user):
    ProjectFactory()  # not theirs
    response = client_for(manager_user).get(LIST)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["id"], row["role"]) for row in rows] == [(project.pk, Role.PROJECT_MANAGER)]
    assert_no_secrets(response.content)


def test_anonymous_is_refused(api, project):
    assert api.get(LIST).status_code == 401
    assert api.get(detail(project)).status_code == 401
    assert api.get(members(project)).status_code == 401


def test_create_project_makes_creator_admin_and_audits(client_for, user, stores):
    source, target = stores
    body = {"name": "Replatform", "source_store": source.pk, "target_store": target.pk}

    response = client_for(user).post(LIST, body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["role"] == Role.ADMIN
    assert data["entities"] == ["products"]
    assert data["latest_run"] is None
    project = Project.objects.get(pk=data["id"])
    assert Membership.objects.get(project=project, user=user).role == Role.ADMIN
    event = AuditEvent.objects.get(action="project.created")
    assert (event.actor, event.project_id) == (user, project.pk)


def test_project_admin_may_reuse_its_stores(client_for, project, admin_user):
    body = {
        "name": "Again",
        "source_store": project.source_store_id,
        "target_store": str(project.target_store_id),  # numeric strings are fine
        "entities": ["products"],
    }
    response = client_for(admin_user).post(LIST, body, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("fixture", ["manager_user", "merchandiser_user"])
def test_seeing_a_store_is_not_enough_to_build_a_project_on_it(
    request, client_for, project, fixture
):
    # Otherwise: create a project, become its admin, and rewrite the store's credentials.
    member = request.getfixturevalue(fixture)
    body = {
        "name": "Takeover",
        "source_store": project.source_store_id,
        "target_store": project.target_store_id,
    }
    response = client_for(member).post(LIST, body, format="json")
    assert response.status_code == 400
    assert "creator or an admin" in error_text(response)
    assert Project.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"target_store": "same"}, "target_store", "different store"),
        ({"source_store": "invisible"}, "source_store", "does not exist"),
        ({"source_store": 10**30}, "source_store", "does not exist"),
        ({"source_store": "abc"}, "source_store", "Incorrect type"),
        ({"source_store": 1.5}, "source_store", "Incorrect type"),
        ({"source_store": True}, "source_store", "Incorrect type"),
        ({"source_store": None}, "source_store", "may not be null"),
        ({"entities": ["invoices"]}, "entities", "not a valid choice"),
        ({"entities": "products"}, "entities", "list"),
        ({"entities": []}, "entities", "may not be empty"),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": "x" * 121}, "name", "no more than 120"),
    ],
)
def test_create_rejects_bad_input(client_for, user, stores, change, field, message):
    source, target = stores
    body = {"name": "P", "source_store": source.pk, "target_store": target.pk}
    for key, value in change.items():
        if value == "same":
            value = source.pk
        elif value == "invisible":
            value = StoreFactory().pk
        body[key] = value

    response = client_for(user).post(LIST, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert message in error_text(response)
    assert not Project.objects.exists()


def test_detail_has_role_and_latest_run(client_for, project, merchandiser_user):
    make_run(project, status=RunStatus.SUCCEEDED)
    latest = make_run(project, status=RunStatus.RUNNING)

    response = client_for(merchandiser_user).get(detail(project))

    assert response.status_code == 200
    data = response.json()
    assert data["role"] == Role.MERCHANDISER
    assert data["latest_run"]["id"] == latest.pk
    assert data["latest_run"]["status"] == "running"
    assert data["latest_run"]["is_live"] is True
    assert_no_secrets(response.content)


@pytest.mark.parametrize("path", ["{pk}/", "{pk}/members/", "0/", "abc/", "9" * 25 + "/"])
def test_non_member_gets_404(client_for, project, outsider, path):
    response = client_for(outsider).get(LIST + path.format(pk=project.pk))
    assert response.status_code == 404


def test_members_list(client_for, project, admin_user, merchandiser_user):
    response = client_for(merchandiser_user).get(members(project))

    assert response.status_code == 200
    rows = {row["username"]: row["role"] for row in response.json()["results"]}
    assert rows == {admin_user.username: Role.ADMIN, merchandiser_user.username: Role.MERCHANDISER}


def test_admin_adds_then_changes_a_member(client_for, project, admin_user):
    newcomer = UserFactory()
    client = client_for(admin_user)

    added = client.post(
        members(project), {"username": newcomer.username, "role": "merchandiser"}, format="json"
    )
    changed = client.post(
        members(project), {"username": newcomer.username, "role": "project_manager"}, format="json"
    )

    assert added.status_code == 201, added.content
    assert added.json()["role"] == "merchandiser"
    assert changed.status_code == 200
    assert Membership.objects.get(project=project, user=newcomer).role == Role.PROJECT_MANAGER
    events = AuditEvent.objects.filter(action="project.member_set", project_id=project.pk)
    assert [e.payload["role"] for e in events.order_by("id")] == ["merchandiser", "project_manager"]
    assert all(e.actor == admin_user for e in events)


@pytest.mark.parametrize("fixture", ["manager_user", "merchandiser_user"])
def test_only_admins_add_members(request, client_for, project, fixture):
    member = request.getfixturevalue(fixture)
    newcomer = UserFactory()
    response = client_for(member).post(
        members(project), {"username": newcomer.username, "role": "admin"}, format="json"
    )
    assert response.status_code == 403
    assert "does not allow" in response.json()["detail"]
    assert not Membership.objects.filter(user=newcomer).exists()


def test_outsider_cannot_add_members(client_for, project, outsider):
    response = client_for(outsider).post(
        members(project), {"username": outsider.username, "role": "admin"}, format="json"
    )
    assert response.status_code == 404
    assert not Membership.objects.filter(project=project, user=outsider).exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "nobody", "role": "admin"}, "username", "no active user named nobody"),
        ({"username": "{user}", "role": "owner"}, "role", "not a valid choice"),
        ({"username": "{user}"}, "role", "required"),
        ({"role": "admin"}, "username", "required"),
        ({"username": ["x"], "role": "admin"}, "username", ""),
    ],
)
def test_member_bad_input(client_for, project, admin_user, body, field, message):
    body = {
        k: v.format(user=admin_user.username) if isinstance(v, str) else v for k, v in body.items()
    }
    response = client_for(admin_user).post(members(project), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert message in error_text(response)
