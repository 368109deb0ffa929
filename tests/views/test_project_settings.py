"""The project page: Entity Points budget, "Start full run" with an admin's override, and the
admin's settings form (through projects.services.update_settings, audited)."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.projects import cleansing, services
from apps.runs import services as run_services
from apps.runs.choices import RunStatus
from apps.runs.models import Run
from tests.views.conftest import make_run

ESTIMATE = 600


@pytest.fixture
def budgeted(project, monkeypatch):
    """A project with a budget of 100 points whose next full run is estimated at 600 (the
    source is not contacted: the estimate is what start_run's budget check sees)."""
    project.points_budget = 100
    project.save()
    monkeypatch.setattr(run_services, "_estimate_points", lambda *args: ESTIMATE)
    return project


def _detail(project) -> str:
    return reverse("projects:detail", args=[project.pk])


def _start(project) -> str:
    return reverse("projects:start_run", args=[project.pk])


def _settings(project) -> str:
    return reverse("projects:settings", args=[project.pk])


def _form(project, **overrides) -> dict:
    data = {
        "entities": ["products", "customers"],
        "points_budget": "",
        "field_mappings": "{}",
        # Every rule ticked, as the form first shows them.
        **{f"cleansing_{rule}": "on" for rule in cleansing.DEFAULTS},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- budget and start ----------------------------------------------------------------------------


def test_budget_is_shown_with_points_spent(client, manager_user, budgeted):
    make_run(budgeted, status=RunStatus.SUCCEEDED, points_estimate=40, budget_override=True)
    client.force_login(manager_user)
    html = client.get(_detail(budgeted)).text
    assert 'id="points-budget" data-budget="100" data-spent="40"' in html
    assert "40 spent of 100" in html
    assert 'data-points="40">40 <span class="badge badge-warn"' in html
    assert 'id="override-budget"' not in html  # a manager cannot override


def test_budget_exceeded_shows_the_numbers_instead_of_starting(client, manager_user, budgeted):
    client.force_login(manager_user)
    response = client.post(_start(budgeted))
    assert response.status_code == 409
    note = re.search(r'<p [^>]*id="budget-exceeded"[^>]*>(.*?)</p>', response.text, re.S).group(1)
    assert "estimated at 600 Entity Points" in note and "budget of 100" in note
    assert not Run.objects.exists()


def test_admin_overrides_the_budget_and_it_is_audited(client, admin_user, budgeted):
    client.force_login(admin_user)
    html = client.get(_detail(budgeted)).text
    assert 'id="override-budget"' in html
    refused = client.post(_start(budgeted))
    assert 'id="budget-exceeded"' in refused.text and "Tick" in refused.text

    response = client.post(_start(budgeted), {"override_budget": "on"})

    run = Run.objects.get()
    assert response.status_code == 302
    assert run.budget_override and run.points_estimate == ESTIMATE
    event = AuditEvent.objects.get(action="run.budget_override")
    assert event.actor == admin_user and event.payload == {"estimate": 600, "budget": 100}
    page = client.get(reverse("runs:detail", args=[run.pk])).text
    assert 'id="budget-override"' in page


@pytest.mark.parametrize("fixture", ["manager_user", "merchandiser_user"])
def test_only_admins_may_ask_for_an_override(request, client, budgeted, fixture):
    client.force_login(request.getfixturevalue(fixture))
    assert client.post(_start(budgeted), {"override_budget": "on"}).status_code == 403
    assert not Run.objects.exists()


def test_no_override_offered_without_a_budget(client, admin_user, project):
    client.force_login(admin_user)
    html = client.get(_detail(project)).text
    assert 'id="override-budget"' not in html
    assert 'data-budget=""' in html


# --- settings ------------------------------------------------------------------------------------


def test_only_admins_see_the_settings_form(client, admin_user, manager_user, project):
    client.force_login(admin_user)
    html = client.get(_detail(project)).text
    assert 'id="settings-form"' in html
    assert "truncate:N" in html  # the transforms help
    client.force_login(manager_user)
    assert 'id="settings-form"' not in client.get(_detail(project)).text


@pytest.mark.parametrize("fixture", ["manager_user", "merchandiser_user"])
def test_non_admins_cannot_change_settings(request, client, project, fixture):
    client.force_login(request.getfixturevalue(fixture))
    response = client.post(_settings(project), _form(project, points_budget="5"))
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.points_budget is None


def test_non_member_gets_404_and_anonymous_login(client, outsider, project):
    assert client.post(_settings(project), _form(project)).status_code == 302
    client.force_login(outsider)
    assert client.post(_settings(project), _form(project)).status_code == 404


def test_settings_are_saved_and_audited_with_old_and_new(client, admin_user, project):
    client.force_login(admin_user)
    mappings = {"products": {"name": {"from": "name", "transforms": ["trim", "truncate:80"]}}}
    data = _form(
        project,
        points_budget="5000",
        weight_products="7",
        field_mappings=json.dumps(mappings),
        cleansing_trim=None,  # an unticked box is absent from the post
    )

    response = client.post(_settings(project), data)

    assert response.status_code == 302 and response["Location"].endswith("#settings")
    project.refresh_from_db()
    assert project.entities == ["products", "customers"]
    assert (project.points_budget, project.entity_weights) == (5000, {"products": 7})
    assert project.cleansing == {"trim": False}
    assert project.field_mappings == mappings
    event = AuditEvent.objects.get(action="project.settings_changed")
    assert event.actor == admin_user and event.project_id == project.pk
    assert event.payload["points_budget"] == {"old": None, "new": 5000}
    assert event.payload["cleansing"] == {"old": {}, "new": {"trim": False}}
    assert event.payload["entities"]["new"] == ["products", "customers"]
    assert set(event.payload) == {
        "entities",
        "points_budget",
        "entity_weights",
        "cleansing",
        "field_mappings",
    }
    page = client.get(response["Location"]).text
    assert "Settings saved" in page
    assert re.search(r'name="weight_products" value="7"', page)
    assert re.search(r'name="cleansing_trim" id="id_cleansing_trim"(?! checked)', page)


def test_saving_unchanged_settings_writes_no_audit_event(client, admin_user, project):
    client.force_login(admin_user)
    data = _form(project, entities=list(project.entities))
    response = client.post(_settings(project), data, follow=True)
    assert "No settings changed." in response.text
    assert not AuditEvent.objects.filter(action="project.settings_changed").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"field_mappings": "{not json"}, "Not valid JSON"),
        ({"field_mappings": '{"products": {"name": {"transforms": ["shout"]}}}'}, "shout"),
        ({"field_mappings": '{"products": {"name": {"colour": 1}}}'}, "products.name"),
        ({"field_mappings": '{"widgets": {}}'}, "Unsupported entities: widgets"),
        ({"field_mappings": '{"products": {"name": {"transforms": 5}}}'}, "list of names"),
        ({"points_budget": "-1"}, "cannot be negative"),
        ({"weight_orders": "-3"}, "orders: a weight is a whole number"),
        ({"entities": []}, "at least one entity"),
    ],
)
def test_invalid_settings_are_form_errors(client, admin_user, project, overrides, message):
    client.force_login(admin_user)
    before = (project.entities, project.points_budget, project.field_mappings)

    response = client.post(_settings(project), _form(project, **overrides))

    assert response.status_code == 400
    assert message in response.text.replace("&#x27;", "'").replace("&quot;", '"')
    project.refresh_from_db()
    assert (project.entities, project.points_budget, project.field_mappings) == before
    assert not AuditEvent.objects.filter(action="project.settings_changed").exists()


def test_settings_errors_are_escaped(client, admin_user, project):
    client.force_login(admin_user)
    bad = '{"products": {"name": {"transforms": ["<script>alert(1)</script>"]}}}'
    response = client.post(_settings(project), _form(project, field_mappings=bad))
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_update_settings_service_refuses_unknown_and_non_admins(project, admin_user, manager_user):
    with pytest.raises(services.PermissionDenied):
        services.update_settings(project, manager_user, points_budget=1)
    with pytest.raises(services.ValidationError) as exc:
        services.update_settings(
            project, admin_user, colour="red", cleansing={"shout": True, "trim": "yes"}
        )
    assert set(exc.value.message_dict) == {"colour", "cleansing"}
    with pytest.raises(services.ValidationError) as exc:
        services.update_settings(project, admin_user, cleansing={"trim": "yes"})
    assert "true or false" in exc.value.messages[0]


def test_settings_audit_never_carries_secret_named_values(project, admin_user):
    mappings = {"customers": {"password": {"value": "hunter2"}}}
    services.update_settings(project, admin_user, field_mappings=mappings)
    event = AuditEvent.objects.get(action="project.settings_changed")
    assert "hunter2" not in json.dumps(event.payload)


def test_project_page_query_count_with_budget_and_settings(
    client, admin_user, budgeted, django_assert_max_num_queries
):
    for _ in range(25):
        make_run(budgeted, status=RunStatus.SUCCEEDED, points_estimate=1)
    client.force_login(admin_user)
    # 10: one of them counts the open conflicts for the review-queue link.
    with django_assert_max_num_queries(10):
        response = client.get(_detail(budgeted))
    assert response.status_code == 200 and 'id="settings-form"' in response.text


def test_the_page_title_is_only_the_project_name(client, project, admin_user):
    client.force_login(admin_user)
    html = client.get(f"/projects/{project.pk}/").content.decode()
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.strip() == f"{project.name} · Migrator"
