"""Every dashboard page: 200 for a member, 404 for a non-member, login redirect for anonymous."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.views.conftest import make_run

OBJECT_PAGES = ["projects:detail", "runs:detail", "runs:progress", "stores:edit"]
LIST_PAGES = ["projects:list", "stores:list", "stores:create"]


def _url(name: str, project, run) -> str:
    if name == "projects:detail":
        return reverse(name, args=[project.pk])
    if name.startswith("runs:"):
        return reverse(name, args=[run.pk])
    if name == "stores:edit":
        return reverse(name, args=[project.source_store.pk])
    return reverse(name)


@pytest.fixture
def run(project):
    return make_run(project)


@pytest.mark.parametrize("name", OBJECT_PAGES + LIST_PAGES)
def test_member_gets_200(client, admin_user, project, run, name):
    client.force_login(admin_user)
    response = client.get(_url(name, project, run))
    assert response.status_code == 200


@pytest.mark.parametrize("name", OBJECT_PAGES)
def test_non_member_gets_404(client, outsider, project, run, name):
    client.force_login(outsider)
    response = client.get(_url(name, project, run))
    assert response.status_code == 404


@pytest.mark.parametrize("name", LIST_PAGES)
def test_non_member_lists_do_not_show_the_project(client, outsider, project, run, name):
    client.force_login(outsider)
    response = client.get(_url(name, project, run))
    assert response.status_code == 200
    assert project.name not in response.text
    assert project.source_store.name not in response.text


@pytest.mark.parametrize("name", OBJECT_PAGES + LIST_PAGES)
def test_anonymous_is_sent_to_login(client, project, run, name):
    url = _url(name, project, run)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


@pytest.mark.parametrize("name", ["projects:start_run", "projects:add_member", "runs:cancel"])
def test_anonymous_post_is_sent_to_login(client, project, run, name):
    obj = run if name.startswith("runs:") else project
    response = client.post(reverse(name, args=[obj.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


@pytest.mark.parametrize("name", ["projects:start_run", "projects:add_member", "runs:cancel"])
def test_non_member_post_gets_404(client, outsider, project, run, name):
    client.force_login(outsider)
    obj = run if name.startswith("runs:") else project
    response = client.post(reverse(name, args=[obj.pk]))
    assert response.status_code == 404


def test_unknown_ids_are_404(client, admin_user):
    client.force_login(admin_user)
    for url in [
        "/projects/999999/",
        "/runs/999999/",
        "/runs/999999/progress/",
        "/stores/999999/edit/",
    ]:
        assert client.get(url).status_code == 404, url
