from __future__ import annotations

from django.urls import reverse

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.projects.models import Membership, Project
from apps.runs.choices import RunStatus
from apps.runs.models import Run
from tests.factories import MembershipFactory, StoreFactory, UserFactory
from tests.views.conftest import make_run


def _live_runs(project) -> int:
    return (
        Run.objects.filter(project=project)
        .exclude(
            status__in=[
                RunStatus.SUCCEEDED,
                RunStatus.FAILED,
                RunStatus.PARTIALLY_FAILED,
                RunStatus.CANCELLED,
            ]
        )
        .count()
    )


# --- list -------------------------------------------------------------------------------------


def test_list_shows_projects_with_last_run_status(client, admin_user, project):
    make_run(project, status=RunStatus.SUCCEEDED)
    latest = make_run(project, status=RunStatus.PARTIALLY_FAILED)
    client.force_login(admin_user)
    response = client.get(reverse("projects:list"))
    html = response.text
    assert project.name in html
    assert f"{project.source_store.name} " in html and project.target_store.name in html
    assert 'data-last-run-status="partially_failed"' in html
    assert reverse("runs:detail", args=[latest.pk]) in html
    assert "Partially failed" in html


def test_list_empty_states(client, user):
    client.force_login(user)
    html = client.get(reverse("projects:list")).text
    assert 'id="projects-empty"' in html
    assert "add a store" in html  # no store yet: the form is replaced by a pointer


def test_list_project_without_runs_says_so(client, admin_user, project):
    client.force_login(admin_user)
    assert "No runs yet" in client.get(reverse("projects:list")).text


def test_create_project_from_the_list(client, user):
    source = StoreFactory(created_by=user)
    target = StoreFactory(created_by=user)
    client.force_login(user)
    response = client.post(
        reverse("projects:list"),
        {"name": "Acme move", "source_store": source.pk, "target_store": target.pk},
    )
    project = Project.objects.get(name="Acme move")
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[project.pk])
    assert Membership.objects.get(project=project, user=user).role == Role.ADMIN
    assert AuditEvent.objects.filter(action="project.created", object_id=str(project.pk)).exists()


def test_create_project_offers_only_visible_stores(client, user):
    mine = StoreFactory(created_by=user, name="Mine")
    StoreFactory(created_by=user, name="Mine too")
    foreign = StoreFactory(name="Someone else's")
    client.force_login(user)
    html = client.get(reverse("projects:list")).text
    assert "Mine" in html and "Someone else" not in html
    response = client.post(
        reverse("projects:list"),
        {"name": "Borrow", "source_store": foreign.pk, "target_store": mine.pk},
    )
    assert response.status_code == 400
    assert "valid choice" in response.text
    assert not Project.objects.filter(name="Borrow").exists()


def test_create_project_same_store_twice_is_a_form_error(client, user):
    store = StoreFactory(created_by=user)
    StoreFactory(created_by=user)
    client.force_login(user)
    response = client.post(
        reverse("projects:list"),
        {"name": "Loop", "source_store": store.pk, "target_store": store.pk},
    )
    assert response.status_code == 400
    assert "The target must be a different store." in response.text
    assert not Project.objects.filter(name="Loop").exists()


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_stores_members_role_and_empty_runs(client, manager_user, admin_user, project):
    client.force_login(manager_user)
    html = client.get(reverse("projects:detail", args=[project.pk])).text
    assert project.source_store.name in html and project.target_store.name in html
    assert f'data-username="{admin_user.username}" data-role="admin"' in html
    assert 'id="my-role" data-role="project_manager"' in html
    assert "No runs yet." in html
    assert 'id="start-run"' in html
    assert 'id="add-member-form"' not in html  # managers do not manage members


def test_detail_runs_table_is_bounded_with_older_link(client, admin_user, project):
    runs = [make_run(project, status=RunStatus.SUCCEEDED) for _ in range(23)]
    client.force_login(admin_user)
    url = reverse("projects:detail", args=[project.pk])
    html = client.get(url).text
    assert html.count('<tr data-run-id="') == 20
    assert f'data-run-id="{runs[-1].pk}"' in html  # latest first
    assert f'data-run-id="{runs[2].pk}"' not in html
    assert 'id="runs-older"' in html
    older = client.get(url, {"before": runs[3].pk}).text
    assert older.count('<tr data-run-id="') == 3
    assert 'id="runs-older"' not in older


def test_merchandiser_sees_no_start_button_and_post_is_403(client, merchandiser_user, project):
    client.force_login(merchandiser_user)
    html = client.get(reverse("projects:detail", args=[project.pk])).text
    assert 'id="start-run"' not in html
    response = client.post(reverse("projects:start_run", args=[project.pk]))
    assert response.status_code == 403
    assert not Run.objects.filter(project=project).exists()


def test_manager_starts_a_full_run(client, manager_user, project):
    client.force_login(manager_user)
    response = client.post(reverse("projects:start_run", args=[project.pk]))
    run = Run.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert run.kind == "full" and run.created_by == manager_user
    event = AuditEvent.objects.get(action="run.started", object_id=str(run.pk))
    assert event.actor == manager_user and event.project_id == project.pk


def test_second_start_while_live_shows_message(client, manager_user, project):
    client.force_login(manager_user)
    first = client.post(reverse("projects:start_run", args=[project.pk]))
    assert first.status_code == 302
    response = client.post(reverse("projects:start_run", args=[project.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("projects:detail", args=[project.pk])
    assert "already has run #" in response.text
    assert 'class="msg-error"' in response.text
    assert 'id="live-run"' in response.text
    assert _live_runs(project) == 1


def test_start_is_get_proof(client, manager_user, project):
    client.force_login(manager_user)
    response = client.get(reverse("projects:start_run", args=[project.pk]))
    assert response.status_code == 405
    assert not Run.objects.filter(project=project).exists()


# --- members ----------------------------------------------------------------------------------


def test_admin_adds_a_member(client, admin_user, project):
    newcomer = UserFactory()
    client.force_login(admin_user)
    response = client.post(
        reverse("projects:add_member", args=[project.pk]),
        {"username": newcomer.username, "role": Role.MERCHANDISER},
    )
    assert response.status_code == 302
    assert Membership.objects.get(project=project, user=newcomer).role == Role.MERCHANDISER
    assert AuditEvent.objects.filter(action="project.member_set", project_id=project.pk).exists()


def test_add_member_unknown_username_is_a_form_error(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        reverse("projects:add_member", args=[project.pk]),
        {"username": "<b>nobody</b>", "role": Role.MERCHANDISER},
    )
    assert response.status_code == 400
    assert "No user named" in response.text
    assert "<b>nobody</b>" not in response.text


def test_manager_cannot_add_members(client, manager_user, project):
    newcomer = UserFactory()
    client.force_login(manager_user)
    response = client.post(
        reverse("projects:add_member", args=[project.pk]),
        {"username": newcomer.username, "role": Role.ADMIN},
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_member_of_two_projects_sees_both(client, project):
    other = MembershipFactory(role=Role.MERCHANDISER)
    MembershipFactory(project=project, user=other.user, role=Role.PROJECT_MANAGER)
    client.force_login(other.user)
    html = client.get(reverse("projects:list")).text
    assert html.count('<tr data-project-id="') == 2
