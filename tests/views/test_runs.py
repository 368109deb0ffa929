from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_htmx.http import HTMX_STOP_POLLING

from apps.core.models import AuditEvent
from apps.runs.choices import RunStatus
from apps.runs.models import Run
from tests.views.conftest import add_batches, add_failures, make_run

TRIGGER = 'hx-trigger="load delay:0.5s, every 2s"'


def _progress(client, run, **headers):
    return client.get(reverse("runs:progress", args=[run.pk]), **headers)


# --- run page -----------------------------------------------------------------------------------


def test_run_page_shows_status_kind_times_and_includes_progress(client, manager_user, live_run):
    add_batches(live_run, 4, per_batch=10, failed=2)
    client.force_login(manager_user)
    html = client.get(reverse("runs:detail", args=[live_run.pk])).text
    assert 'id="run-status" class="badge status-running" data-status="running"' in html
    assert "Full migration" in html
    assert 'id="run-progress"' in html and TRIGGER in html
    assert 'data-entity="products"' in html
    # 40 records read in the 100 s since the run started.
    assert re.search(r'id="run-rate" data-value="0\.[34]"', html)
    assert 'id="cancel-run"' in html


def test_run_page_shows_error_and_no_polling_once_ended(client, admin_user, project):
    run = make_run(project, status=RunStatus.FAILED, error="Source answered 401: check the key.")
    client.force_login(admin_user)
    html = client.get(reverse("runs:detail", args=[run.pk])).text
    assert 'data-status="failed"' in html
    assert 'id="run-error"' in html and "Source answered 401" in html
    assert "hx-get" not in html and TRIGGER not in html
    assert 'id="cancel-run"' not in html
    assert "No failed records." in html


def test_merchandiser_sees_no_cancel_and_cannot_cancel(client, merchandiser_user, live_run):
    client.force_login(merchandiser_user)
    html = client.get(reverse("runs:detail", args=[live_run.pk])).text
    assert 'id="cancel-run"' not in html
    response = client.post(reverse("runs:cancel", args=[live_run.pk]))
    assert response.status_code == 403
    live_run.refresh_from_db()
    assert live_run.status == RunStatus.RUNNING


def test_manager_cancels_a_live_run(client, manager_user, live_run):
    client.force_login(manager_user)
    response = client.post(reverse("runs:cancel", args=[live_run.pk]), follow=True)
    live_run.refresh_from_db()
    assert live_run.status == RunStatus.CANCELLED
    assert f"Run #{live_run.pk} cancelled." in response.text
    assert AuditEvent.objects.filter(action="run.cancelled", object_id=str(live_run.pk)).exists()


def test_cancelling_an_ended_run_is_a_message_not_an_error(client, manager_user, ended_run):
    client.force_login(manager_user)
    response = client.post(reverse("runs:cancel", args=[ended_run.pk]), follow=True)
    assert response.status_code == 200
    assert "has already ended" in response.text


# --- progress partial ---------------------------------------------------------------------------


def test_progress_partial_polls_while_live(client, manager_user, live_run):
    add_batches(live_run, 10, per_batch=10, failed=1)
    client.force_login(manager_user)
    response = _progress(client, live_run, HTTP_HX_REQUEST="true")
    html = response.text
    assert response.status_code == 200
    assert TRIGGER in html and 'hx-swap="outerHTML"' in html
    assert f'hx-get="{reverse("runs:progress", args=[live_run.pk])}"' in html
    assert "<html" not in html  # a fragment, not a page
    row = re.search(r'<tr data-entity="products"[^>]*>', html).group(0)
    assert 'data-processed="100"' in row and 'data-total="1000"' in row
    assert 'data-percent="10"' in row and 'data-failed="10"' in row
    assert "5 / 10" in html  # batches done / total
    assert 'style="width:9.0%"' in html and 'style="width:1.0%"' in html


def test_progress_partial_answers_286_without_trigger_once_ended(client, manager_user, live_run):
    add_batches(live_run, 3)
    live_run.status = RunStatus.SUCCEEDED
    live_run.save(update_fields=["status"])
    client.force_login(manager_user)
    response = _progress(client, live_run, HTTP_HX_REQUEST="true")
    assert response.status_code == HTMX_STOP_POLLING == 286
    assert "hx-trigger" not in response.text and "hx-get" not in response.text
    assert 'data-status="succeeded"' in response.text
    assert 'data-live="false"' in response.text


def test_progress_before_planning_has_an_empty_state(client, manager_user, project):
    run = make_run(project, status=RunStatus.QUEUED, plan={}, started_at=None)
    client.force_login(manager_user)
    response = _progress(client, run)
    assert response.status_code == 200
    assert 'id="progress-empty"' in response.text
    assert 'id="run-rate" data-value=""' in response.text


# --- failed records -----------------------------------------------------------------------------


def test_failed_records_show_reasons_escaped(client, manager_user, live_run):
    add_failures(live_run, 1, reason="<script>alert(1)</script>")
    client.force_login(manager_user)
    html = client.get(reverse("runs:detail", args=[live_run.pk])).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; #0" in html
    assert "<script>alert(1)" not in html
    assert "SKU-p0" in html and 'data-source-id="p0"' in html


def test_failed_records_page_filter_and_keyset_next(client, manager_user, project):
    run = make_run(project, plan={"order": ["categories", "products"], "entities": {}})
    add_failures(run, 60, entity="products")
    add_failures(run, 3, entity="categories", reason="no parent")
    client.force_login(manager_user)
    url = reverse("runs:detail", args=[run.pk])

    first = client.get(url).text
    assert first.count("<tr data-failure-id=") == 50
    next_link = re.search(r'href="\?before=(\d+)" id="failures-next"', first)
    assert next_link

    second = client.get(url, {"before": next_link.group(1)}).text
    assert second.count("<tr data-failure-id=") == 13
    assert 'id="failures-next"' not in second

    filtered = client.get(url, {"entity": "categories"}).text
    assert filtered.count("<tr data-failure-id=") == 3
    assert "no parent" in filtered and "bad price" not in filtered

    paged = client.get(url, {"entity": "products"}).text
    assert re.search(r'href="\?entity=products&amp;before=\d+" id="failures-next"', paged)


# --- bounded queries ----------------------------------------------------------------------------


@pytest.fixture
def big_run(project):
    run = make_run(project, total=2000)
    add_batches(run, 200, per_batch=10, failed=1)
    add_failures(run, 300)
    return run


def test_progress_partial_query_count_is_bounded(
    client, manager_user, big_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    with django_assert_max_num_queries(12):
        response = _progress(client, big_run, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-processed="2000"' in response.text


def test_run_page_query_count_is_bounded(
    client, manager_user, big_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("runs:detail", args=[big_run.pk]))
    assert response.status_code == 200
    assert response.text.count("<tr data-failure-id=") == 50


def test_project_page_query_count_is_bounded(
    client, admin_user, project, big_run, django_assert_max_num_queries
):
    for _ in range(30):
        make_run(project, status=RunStatus.SUCCEEDED)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("projects:detail", args=[project.pk]))
    assert response.status_code == 200
    assert Run.objects.filter(project=project).count() == 31
