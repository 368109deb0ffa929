"""Lag behind the source: records changed since the watermark, per entity, cached briefly, and
never an error page when the source is down."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.projects import views
from apps.runs import lag
from apps.runs.choices import RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import ChangeEvent, RecordMap
from apps.runs.services import start_run
from apps.stores.services import transport_override
from tests.schedules.conftest import make_baseline


@pytest.fixture
def synced(rehearsal):
    """A full run of products and customers, the source's records dated before it."""
    rehearsal.project.entities = ["products", "customers"]
    rehearsal.project.save()
    rehearsal.source.records.update(date_modified=timezone.now() - timedelta(hours=1))
    full = run_inline(start_run(rehearsal.project, kind=RunKind.FULL).pk)
    assert full.status == RunStatus.SUCCEEDED, full.error
    return rehearsal


def edit_products(rehearsal, count: int) -> list[str]:
    ids = list(
        RecordMap.objects.filter(project=rehearsal.project, entity="products")
        .order_by("id")
        .values_list("source_id", flat=True)[:count]
    )
    with rehearsal.woo() as woo:
        for source_id in ids:
            response = woo.put(f"products/{source_id}", json={"name": f"Renamed {source_id}"})
            assert response.status_code == 200, response.text
    return ids


def by_entity(result: lag.ProjectLag) -> dict[str, lag.EntityLag]:
    return {row.entity: row for row in result.entities}


def test_counts_the_records_changed_since_the_watermark(synced):
    edit_products(synced, 3)
    ChangeEvent.objects.create(
        project=synced.project, entity="customers", source_id="9", action="updated"
    )

    result = lag.compute(synced.project)

    rows = by_entity(result)
    assert result.error == ""
    products = rows["products"]
    assert (products.method, products.changed, products.more) == ("changes", 3, False)
    assert products.changed_label == "3"
    assert products.watermark == synced.project.runs.get().until
    assert 0 <= products.age_seconds(timezone.now()) < 120
    # WooCommerce cannot list customers by modification time: a delta compares hashes.
    customers = rows["customers"]
    assert customers.method == "hash_scan" and customers.changed is None
    assert customers.changed_label == "unknown (hash scan)"
    assert customers.pending_events == 1


def test_a_full_first_page_reads_as_at_least(synced, monkeypatch):
    edit_products(synced, 5)
    monkeypatch.setattr(lag, "PAGE_SIZE", 2)

    products = by_entity(lag.compute(synced.project))["products"]

    assert products.more and products.changed_label.endswith("+")


def test_nothing_to_count_before_the_first_sync(rehearsal):
    result = lag.compute(rehearsal.project)
    [products] = result.entities
    assert products.method == "not_synced" and products.watermark is None
    assert products.changed_label == "—"


def test_the_answer_is_cached_so_the_source_is_not_asked_on_every_load(synced, monkeypatch):
    edit_products(synced, 2)
    calls = []
    real = lag.build_connector

    def counting(store, **options):
        calls.append(store.pk)
        return real(store, **options)

    monkeypatch.setattr(lag, "build_connector", counting)

    first = lag.project_lag(synced.project)
    edit_products(synced, 4)  # more changes, not seen until the cache expires
    second = lag.project_lag(synced.project)

    assert len(calls) == 1
    assert by_entity(second)["products"].changed == by_entity(first)["products"].changed == 2
    assert lag.cached(synced.project) is not None


def test_source_down_the_page_still_answers_with_the_reason(client, synced):
    synced.source.error_rate = 1.0  # every request to the old store answers 5xx
    synced.source.save()
    project = synced.project
    admin = project.memberships.get().user

    # The partial is called directly, before the test client is used: the client reconnects
    # Django's close_old_connections, which the in-process sandbox's request would then fire.
    request = RequestFactory().get(reverse("projects:lag", args=[project.pk]))
    request.user = admin
    partial = views.project_lag(request, project.pk)
    text = partial.content.decode()
    assert partial.status_code == 200
    assert 'id="lag-error"' in text and "source unreachable: GET products: HTTP 5" in text
    assert 'data-method="unreachable"' in text

    client.force_login(admin)
    page = client.get(reverse("projects:detail", args=[project.pk]))
    assert page.status_code == 200 and "source unreachable: " in page.text  # from the cache


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_a_store_that_cannot_be_reached_at_all(project, admin_user, client):
    make_baseline(project)
    client.force_login(admin_user)
    page = client.get(reverse("projects:detail", args=[project.pk]))
    # Not cached yet: the page renders at once and asks for the lag afterwards.
    assert page.status_code == 200
    assert f'hx-get="{reverse("projects:lag", args=[project.pk])}"' in page.text
    with transport_override(httpx.MockTransport(refuse)):
        response = client.get(reverse("projects:lag", args=[project.pk]))
    assert response.status_code == 200
    assert "source unreachable: GET " in response.text
    assert "ConnectError after 1 attempts" in response.text  # one attempt: the page never waits


def test_the_lag_partial_is_for_members_only(client, project, outsider):
    client.force_login(outsider)
    assert client.get(reverse("projects:lag", args=[project.pk])).status_code == 404


def test_the_lag_partial_query_count_is_bounded(
    client, project, admin_user, django_assert_max_num_queries
):
    for hours in range(30):
        make_baseline(project, hours_ago=hours + 1)
    client.force_login(admin_user)
    # session, user, project, role, watermark runs, waiting webhook events
    with django_assert_max_num_queries(6):
        response = client.get(reverse("projects:lag", args=[project.pk]))
    assert response.status_code == 200


def test_format_age():
    assert [lag.format_age(s) for s in (None, 5, 125, 3 * 3600 + 300, 3 * 86400 + 7200)] == [
        "—",
        "5 s",
        "2 min",
        "3 h 05 min",
        "3 d 2 h",
    ]
