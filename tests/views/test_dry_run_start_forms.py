"""The project page's start forms: a full run, a delta (optionally a final sweep with deletes),
and dry runs that plan either."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.views.conftest import make_run


def start(client, project, **data):
    return client.post(reverse("projects:start_run", args=[project.pk]), data)


@pytest.fixture
def baseline(project) -> Run:
    return make_run(
        project,
        status=RunStatus.SUCCEEDED,
        until=timezone.now() - timedelta(hours=1),
        plan={"order": ["products"], "entities": {}},
    )


def test_managers_see_the_delta_and_plan_buttons(client, project, manager_user):
    client.force_login(manager_user)
    html = client.get(reverse("projects:detail", args=[project.pk])).text
    for hook in ('id="start-run"', 'id="start-delta"', 'id="delta-deletes"', 'id="plan-delta"'):
        assert hook in html
    assert 'id="plan-full"' in html
    assert 'id="delta-override-budget"' not in html  # no budget, and not an admin


def test_merchandisers_see_no_start_buttons(client, project, merchandiser_user):
    client.force_login(merchandiser_user)
    html = client.get(reverse("projects:detail", args=[project.pk])).text
    assert 'id="start-delta"' not in html and 'id="plan-delta"' not in html
    assert start(client, project, start="delta").status_code == 403


def test_start_a_final_sweep(client, project, manager_user, baseline):
    client.force_login(manager_user)

    response = start(client, project, start="delta", deletes="on")

    run = Run.objects.exclude(pk=baseline.pk).get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert (run.kind, run.options, run.created_by) == (
        RunKind.DELTA,
        {"deletes": True},
        manager_user,
    )


def test_a_plain_delta_has_no_options(client, project, manager_user, baseline):
    client.force_login(manager_user)
    start(client, project, start="delta")
    assert Run.objects.exclude(pk=baseline.pk).get().options == {}


@pytest.mark.parametrize(
    ("button", "options"),
    [("plan_delta", {"of": "delta"}), ("plan_full", {"of": "full"})],
)
def test_plan_buttons_start_a_dry_run(client, project, manager_user, baseline, button, options):
    client.force_login(manager_user)
    start(client, project, start=button)
    run = Run.objects.exclude(pk=baseline.pk).get()
    assert (run.kind, run.options) == (RunKind.DRY_RUN, options)


def test_a_delta_without_a_baseline_says_why(client, project, manager_user):
    client.force_login(manager_user)
    response = client.post(
        reverse("projects:start_run", args=[project.pk]), {"start": "delta"}, follow=True
    )
    assert "A delta needs a baseline" in response.text
    assert not Run.objects.exists()


def test_the_old_full_run_form_still_starts_a_full_run(client, project, manager_user):
    client.force_login(manager_user)
    start(client, project)
    assert Run.objects.get().kind == RunKind.FULL


def test_an_unknown_start_is_refused(client, project, manager_user):
    client.force_login(manager_user)
    response = client.post(
        reverse("projects:start_run", args=[project.pk]), {"start": "rollback"}, follow=True
    )
    assert "Unknown kind of run." in response.text
    assert not Run.objects.exists()
