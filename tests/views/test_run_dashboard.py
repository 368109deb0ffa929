"""The run page's figures (Entity Points, ETA, stages, throughput chart), the failed records'
error filter, "Retry failed records" and the batches page: access, escaping, bounded queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HTMX_STOP_POLLING

from apps.core.models import AuditEvent
from apps.runs import metrics, reasons
from apps.runs.choices import Action, BatchStatus, RunKind, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome, Run
from tests.views.conftest import add_failures, make_run

PLAN = {
    "order": ["categories", "products"],
    "stages": [["categories", "brands", "posts"], ["products", "customers"], ["orders"]],
    "entities": {
        "categories": {"total": 20, "batches": 1, "points": 20},
        "products": {"total": 3000, "batches": 300, "points": 15000},
    },
    "points": 15020,
}


def _url(name: str, run: Run, **query: str) -> str:
    url = reverse(name, args=[run.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


@pytest.fixture
def busy_run(project):
    """A live run: categories done, 300 product batches (half finished over the last 100 s,
    with requests and leases), 500 failures in two shapes and two entities."""
    now = timezone.now()
    run = make_run(project, plan=PLAN, points_estimate=15020, total=3020)
    EntityBatch.objects.create(
        run=run,
        entity="categories",
        seq=0,
        status=BatchStatus.DONE,
        read=20,
        created=20,
        requests=4,
        finished_at=now - timedelta(seconds=95),
        started_at=now - timedelta(seconds=99),
    )
    EntityBatch.objects.bulk_create(
        EntityBatch(
            run=run,
            entity="products",
            seq=seq,
            status=BatchStatus.DONE if seq < 150 else BatchStatus.PENDING,
            read=10 if seq < 150 else 0,
            created=9 if seq < 150 else 0,
            failed=1 if seq < 150 else 0,
            requests=5 if seq < 150 else 0,
            attempts=1 if seq < 150 else 0,
            lease_owner="",
            started_at=now - timedelta(seconds=100 - seq // 2) if seq < 150 else None,
            finished_at=now - timedelta(seconds=99 - seq // 2) if seq < 150 else None,
        )
        for seq in range(300)
    )
    add_failures(run, 450, reason="price is negative")
    add_failures(run, 50, entity="categories", reason="parent <b>missing</b>")
    return run


# --- figures on the run page and the partial -----------------------------------------------------


def test_run_page_shows_points_stages_eta_and_chart(client, manager_user, busy_run):
    busy_run.budget_override = True
    busy_run.save(update_fields=["budget_override"])
    busy_run.project.points_budget = 10000
    busy_run.project.save()
    client.force_login(manager_user)

    html = client.get(_url("runs:detail", busy_run)).text

    assert 'id="run-points" data-points="15020" data-override="true"' in html
    assert 'id="budget-override"' in html and "budget override" in html
    row = re.search(r'<tr data-entity="products".*?</tr>', html, re.S).group(0)
    assert 'data-role="points" data-points="15000"' in row
    stages = re.findall(r'data-stage="(\d)" data-state="(\w+)"', html)
    assert stages == [("1", "done"), ("2", "running"), ("3", "waiting")]
    eta = re.search(r'id="run-eta" data-seconds="(\d+)" data-basis="(\w+)"', html)
    assert eta and eta.group(2) == "observed_requests"
    assert "ETA " in html
    chart = re.search(r'<svg id="throughput-chart".*?</svg>', html, re.S).group(0)
    records = [int(n) for n in re.findall(r'data-records="(\d+)"', chart)]
    assert sum(records) == 1520 and max(records) > 0
    assert "<script" not in chart
    # No asset from a CDN. (A URL, not the bare letters: the page's CSRF tokens are random
    # letters and digits, and about one in 500 contains "cdn".)
    assert not re.search(r"//[^\"'\s>]*cdn", html, re.I)


def test_eta_uses_the_quota_basis_when_the_limiter_knows_it(
    client, manager_user, busy_run, monkeypatch
):
    monkeypatch.setattr(metrics, "target_quota", lambda store: metrics.Quota(450, 30_000))
    client.force_login(manager_user)
    html = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true").text
    assert 'data-basis="quota"' in html
    assert "quota of 450 requests per 30 s" in html


def test_partial_still_answers_286_once_ended_and_hides_the_eta(client, manager_user, busy_run):
    busy_run.status = RunStatus.PARTIALLY_FAILED
    busy_run.finished_at = timezone.now()
    busy_run.save()
    client.force_login(manager_user)
    response = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert response.status_code == HTMX_STOP_POLLING
    assert "hx-get" not in response.text
    assert 'id="run-eta"' not in response.text
    assert 'id="throughput-chart"' in response.text


def test_queued_run_has_no_chart_and_no_stages(client, manager_user, project):
    run = make_run(project, status=RunStatus.QUEUED, plan={}, started_at=None)
    client.force_login(manager_user)
    html = client.get(_url("runs:progress", run)).text
    assert 'id="throughput-chart"' not in html and 'id="run-stages"' not in html
    assert "estimating" in html


def test_partial_query_count_is_bounded(
    client, manager_user, busy_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    # session, user, run with the viewer's role, progress (with the ETA's inputs), throughput:
    # whatever the number of batches
    with django_assert_max_num_queries(5) as captured:
        response = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    # Nothing reads outcomes while polling.
    assert not [q for q in captured.captured_queries if "runs_recordoutcome" in q["sql"]]


def _batch_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "runs_entitybatch" in q["sql"]]


def test_viewers_of_a_live_run_share_its_figures_within_the_cache_window(
    client, manager_user, merchandiser_user, busy_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    first = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert 'data-processed="1520"' in first.text
    client.force_login(merchandiser_user)
    # The second viewer's poll: session, user, run with role; no aggregate over the batches.
    with django_assert_max_num_queries(3) as captured:
        second = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert not _batch_queries(captured)
    assert 'data-processed="1520"' in second.text
    # Role-dependent parts are still the viewer's own: the merchandiser cannot cancel.
    assert 'id="cancel-run"' in first.text and 'id="cancel-run"' not in second.text


def test_a_run_that_ends_inside_the_cache_window_shows_its_final_figures(
    client, manager_user, busy_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    live = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert 'data-processed="1520"' in live.text
    # The last batches finish and the run ends, well within a second of that poll.
    EntityBatch.objects.filter(run=busy_run, status=BatchStatus.PENDING).update(
        status=BatchStatus.DONE, read=10, created=10, finished_at=timezone.now()
    )
    busy_run.status = RunStatus.SUCCEEDED
    busy_run.finished_at = timezone.now()
    busy_run.save()
    with django_assert_max_num_queries(5) as captured:
        ended = client.get(_url("runs:progress", busy_run), HTTP_HX_REQUEST="true")
    assert _batch_queries(captured)
    assert ended.status_code == HTMX_STOP_POLLING
    # The partial that stays on screen once polling stops has the final count, not the cached.
    assert 'data-processed="3020"' in ended.text


def test_a_change_of_stage_is_not_served_from_the_cache(client, manager_user, project):
    run = make_run(project, status=RunStatus.PLANNING, plan={})
    client.force_login(manager_user)
    assert "Planning: counting the records" in client.get(_url("runs:progress", run)).text
    run.plan = PLAN
    run.status = RunStatus.RUNNING
    run.save()
    EntityBatch.objects.create(run=run, entity="products", seq=0, read=7, created=7)
    html = client.get(_url("runs:progress", run)).text
    row = re.search(r'<tr data-entity="products"[^>]*>', html)
    assert row and 'data-processed="7"' in row.group(0)


def test_run_page_query_count_is_bounded(
    client, manager_user, busy_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    # session, user, run, role, progress, ETA, throughput, failures page, scan floor, groups
    with django_assert_max_num_queries(10):
        response = client.get(_url("runs:detail", busy_run))
    assert response.text.count("<tr data-failure-id=") == 50
    key = reasons.normalise_reason("price is negative #1")
    with django_assert_max_num_queries(10):
        filtered = client.get(
            _url("runs:detail", busy_run), {"entity": "products", "error": key, "before": "999999"}
        )
    assert filtered.text.count("<tr data-failure-id=") == 50


# --- failed records: error filter ----------------------------------------------------------------


def test_error_filter_lists_groups_and_filters_by_entity_and_error(client, manager_user, busy_run):
    client.force_login(manager_user)
    url = _url("runs:detail", busy_run)

    page = client.get(url).text
    select = re.search(r'<select name="error".*?</select>', page, re.S).group(0)
    # Reasons are shown escaped, as keys with numbers blanked.
    assert "parent &lt;b&gt;missing&lt;/b&gt; #" in select
    assert "<b>missing</b>" not in page
    assert 'data-count="450"' in select and 'data-count="50"' in select

    key = "parent <b>missing</b> #"
    filtered = client.get(url, {"error": key}).text
    assert filtered.count("<tr data-failure-id=") == 50
    assert set(re.findall(r'data-failure-entity="(\w+)"', filtered)) == {"categories"}
    assert re.search(r'<option value="parent &lt;b&gt;missing&lt;/b&gt; #"[^>]* selected', filtered)

    both = client.get(url, {"error": key, "entity": "products"}).text
    assert "<tr data-failure-id=" not in both
    assert "No failed records match these filters." in both

    products = client.get(url, {"entity": "products", "error": "price is negative #"}).text
    assert products.count("<tr data-failure-id=") == 50
    next_link = re.search(r'href="\?([^"]+)" id="failures-next"', products).group(1)
    assert next_link.startswith("entity=products&amp;error=price+is+negative+%23&amp;before=")


def test_an_unlisted_error_key_is_kept_selected_and_escaped(client, manager_user, busy_run):
    client.force_login(manager_user)
    html = client.get(_url("runs:detail", busy_run), {"error": '"><script>x</script>'}).text
    assert "<script>x</script>" not in html
    assert '<option value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;" selected>' in html


# --- retry failed records ------------------------------------------------------------------------


@pytest.fixture
def partial_run(project):
    run = make_run(project, status=RunStatus.PARTIALLY_FAILED, plan=PLAN)
    add_failures(run, 3)
    return run


def test_retry_button_only_for_a_partially_failed_run_and_starters(
    client, manager_user, merchandiser_user, partial_run, busy_run
):
    client.force_login(manager_user)
    assert 'id="retry-failed"' in client.get(_url("runs:detail", partial_run)).text
    assert 'id="retry-override-budget"' not in client.get(_url("runs:detail", partial_run)).text
    assert 'id="retry-failed"' not in client.get(_url("runs:detail", busy_run)).text
    client.force_login(merchandiser_user)
    assert 'id="retry-failed"' not in client.get(_url("runs:detail", partial_run)).text


def test_manager_retries_failed_records(client, manager_user, partial_run):
    client.force_login(manager_user)
    response = client.post(_url("runs:retry_failed", partial_run))
    retry = Run.objects.get(parent=partial_run)
    assert response.status_code == 302 and response["Location"] == _url("runs:detail", retry)
    assert (retry.kind, retry.status, retry.created_by) == (
        RunKind.RETRY_FAILED,
        RunStatus.QUEUED,
        manager_user,
    )
    event = AuditEvent.objects.get(action="run.started", object_id=str(retry.pk))
    assert event.payload == {"kind": "retry_failed", "parent": partial_run.pk}
    html = client.get(response["Location"]).text
    assert f'id="run-parent" data-run-id="{partial_run.pk}"' in html


def test_merchandiser_cannot_retry_and_outsider_gets_404(
    client, merchandiser_user, outsider, partial_run
):
    client.force_login(merchandiser_user)
    assert client.post(_url("runs:retry_failed", partial_run)).status_code == 403
    client.force_login(outsider)
    assert client.post(_url("runs:retry_failed", partial_run)).status_code == 404
    assert not Run.objects.filter(parent=partial_run).exists()


def test_retry_is_get_proof(client, manager_user, partial_run):
    client.force_login(manager_user)
    assert client.get(_url("runs:retry_failed", partial_run)).status_code == 405


def test_retry_of_a_run_that_did_not_partially_fail_is_a_message(client, manager_user, project):
    run = make_run(project, status=RunStatus.SUCCEEDED)
    client.force_login(manager_user)
    response = client.post(_url("runs:retry_failed", run), follow=True)
    assert "only a partially failed run" in response.text
    assert not Run.objects.filter(parent=run).exists()


def test_retry_while_a_run_is_live_is_a_message(client, manager_user, project, partial_run):
    live = make_run(project, status=RunStatus.RUNNING)
    client.force_login(manager_user)
    response = client.post(_url("runs:retry_failed", partial_run), follow=True)
    assert f"run #{live.pk}" in response.text
    assert not Run.objects.filter(parent=partial_run).exists()


def test_retry_past_the_budget_shows_numbers_and_admin_overrides(
    client, manager_user, admin_user, partial_run, monkeypatch
):
    partial_run.project.points_budget = 10
    partial_run.project.save()
    client.force_login(manager_user)
    response = client.post(_url("runs:retry_failed", partial_run), follow=True)
    assert "estimated at 15 Entity Points" in response.text  # 3 failed products, weight 5
    assert "budget of 10" in response.text
    assert (
        client.post(_url("runs:retry_failed", partial_run), {"override_budget": "on"}).status_code
        == 403
    )

    client.force_login(admin_user)
    assert 'id="retry-override-budget"' in client.get(_url("runs:detail", partial_run)).text
    client.post(_url("runs:retry_failed", partial_run), {"override_budget": "on"})
    retry = Run.objects.get(parent=partial_run)
    assert retry.budget_override and retry.points_estimate == 15
    assert AuditEvent.objects.filter(action="run.budget_override", actor=admin_user).exists()


# --- batches page --------------------------------------------------------------------------------


def test_batches_page_lists_filters_and_pages_by_id(client, merchandiser_user, busy_run):
    EntityBatch.objects.filter(run=busy_run, entity="products", seq=200).update(
        status=BatchStatus.RUNNING,
        lease_owner="worker-1:42",
        lease_expires_at=timezone.now() + timedelta(seconds=60),
        attempts=3,
        error="<img src=x onerror=alert(1)> timeout",
    )
    client.force_login(merchandiser_user)
    url = _url("runs:batches", busy_run)

    first = client.get(url).text
    assert first.count("<tr data-batch-id=") == 100
    assert 'data-entity="categories"' in first
    after = re.search(r'href="\?after=(\d+)" id="batches-next"', first).group(1)
    second = client.get(url, {"after": after}).text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', second)]
    assert seqs == list(range(99, 199))

    running = client.get(url, {"status": "running"}).text
    assert running.count("<tr data-batch-id=") == 1
    row = re.search(r"<tr data-batch-id=.*?</tr>", running, re.S).group(0)
    assert 'data-attempts="3"' in row and "worker-1:42" in row
    assert "&lt;img src=x onerror=alert(1)&gt; timeout" in row and "<img" not in row

    done = client.get(url, {"entity": "categories", "status": "done"}).text
    assert done.count("<tr data-batch-id=") == 1
    assert re.search(r'<tr data-batch-id="\d+" data-entity="categories"', done)
    assert 'data-role="requests">4<' in done
    # Unknown filters cannot break the page.
    assert client.get(url, {"status": "bogus", "after": "x" * 30}).status_code == 200
    none = client.get(url, {"entity": "<b>nope</b>"}).text
    assert 'id="batches-empty"' in none and "<b>nope</b>" not in none


def test_batches_page_query_count_is_bounded(
    client, manager_user, busy_run, django_assert_max_num_queries
):
    client.force_login(manager_user)
    with django_assert_max_num_queries(5):
        response = client.get(_url("runs:batches", busy_run), {"entity": "products", "after": "5"})
    assert response.text.count("<tr data-batch-id=") == 100


def test_batches_page_access(client, outsider, busy_run):
    assert client.get(_url("runs:batches", busy_run)).status_code == 302
    client.force_login(outsider)
    assert client.get(_url("runs:batches", busy_run)).status_code == 404


def test_failures_reason_with_no_outcomes_of_other_actions_in_the_dropdown(
    client, manager_user, project
):
    run = make_run(project, status=RunStatus.PARTIALLY_FAILED)
    RecordOutcome.objects.create(run=run, entity="products", source_id="1", action=Action.CREATED)
    client.force_login(manager_user)
    html = client.get(_url("runs:detail", run)).text
    assert 'id="failures-error-filter"' not in html
    assert metrics.failures(run).count() == 0
