"""Dashboard pages: the report with a chart and the equation per entity, the CSV, starting a
verify run, and the important-records page; access through apps.projects.access."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.core.roles import Role
from apps.reconciliation.models import ImportantRecord
from apps.runs.choices import RunKind
from tests.reconciliation.conftest import PRODUCTS, member, product_maps, target_connector, verify


@pytest.fixture
def broken(migrated):
    """A report where one product was deleted on the target: the equation does not hold."""
    deleted = product_maps(migrated)[1]
    [result] = target_connector(migrated).delete("products", [deleted.target_id])
    assert result.ok
    migrated.report = verify(migrated).reconciliation_report
    migrated.deleted = deleted
    return migrated


def logged_in(client, user):
    client.force_login(user)
    return client


def test_report_page_shows_chart_equation_and_missing_record(broken, client):
    client = logged_in(client, member(broken.project, Role.MERCHANDISER))
    response = client.get(reverse("reconciliation:project", args=[broken.project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-equation-holds="false"' in html
    assert "does not hold" in html and "1 source record expected on the target is missing" in html
    assert f"source {PRODUCTS} ≠ target {PRODUCTS - 1} + failed 0 + excluded 0" in html
    assert "<svg" in html and 'data-part="source-missing" data-value="1"' in html
    assert f'data-source-id="{broken.deleted.source_id}"' in html
    assert 'id="items-missing" data-kind="missing" data-total="1"' in html
    assert 'id="start-verify"' not in html  # merchandisers do not start runs
    same = client.get(reverse("reconciliation:report", args=[broken.report.pk]))
    assert same.status_code == 200 and 'data-equation-holds="false"' in same.content.decode()


def test_csv_download(broken, client):
    client = logged_in(client, member(broken.project, Role.PROJECT_MANAGER))
    response = client.get(reverse("reconciliation:csv", args=[broken.report.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("kind,entity,source_id,target_id,natural_key")
    assert len(lines) == 2 and lines[1].startswith(f"missing,products,{broken.deleted.source_id},")


def test_outsider_gets_404_and_wrong_role_403(broken, client, outsider):
    logged_in(client, outsider)
    project = broken.project
    for url in (
        reverse("reconciliation:project", args=[project.pk]),
        reverse("reconciliation:report", args=[broken.report.pk]),
        reverse("reconciliation:csv", args=[broken.report.pk]),
        reverse("reconciliation:important", args=[project.pk]),
    ):
        assert client.get(url).status_code == 404, url
    logged_in(client, member(project, Role.MERCHANDISER))
    url = reverse("reconciliation:important", args=[project.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="important-read-only"' in page.content.decode()
    post = client.post(url, {"entity": "products", "natural_key": "X"})
    assert post.status_code == 403
    assert not ImportantRecord.objects.exists()
    start = client.post(reverse("reconciliation:start_verify", args=[project.pk]))
    assert start.status_code == 403


def test_admin_edits_the_important_records_list(migrated, client):
    admin = member(migrated.project, Role.ADMIN)
    logged_in(client, admin)
    url = reverse("reconciliation:important", args=[migrated.project.pk])
    response = client.post(url, {"entity": "products", "natural_key": "BAG-00002", "note": "top"})
    assert response.status_code == 302
    record = ImportantRecord.objects.get()
    assert (record.natural_key, record.note, record.created_by) == ("BAG-00002", "top", admin)
    again = client.post(url, {"entity": "products", "natural_key": "BAG-00002"})
    assert again.status_code == 400 and "already listed" in again.content.decode()
    remove = reverse("reconciliation:important_remove", args=[migrated.project.pk, record.pk])
    assert client.post(remove).status_code == 302
    assert not ImportantRecord.objects.exists()


def test_manager_starts_a_verify_run_from_the_page(migrated, client):
    logged_in(client, member(migrated.project, Role.PROJECT_MANAGER))
    empty = client.get(reverse("reconciliation:project", args=[migrated.project.pk]))
    assert 'id="recon-empty"' in empty.content.decode()
    response = client.post(reverse("reconciliation:start_verify", args=[migrated.project.pk]))
    run = migrated.project.runs.get(kind=RunKind.VERIFY)
    assert response.status_code == 302 and response.url == reverse("runs:detail", args=[run.pk])
    # A second start while it is live is refused with a message, not a 500.
    again = client.post(reverse("reconciliation:start_verify", args=[migrated.project.pk]))
    assert again.status_code == 302
    assert migrated.project.runs.filter(kind=RunKind.VERIFY).count() == 1


def test_the_run_page_of_a_verify_run_shows_its_plan(broken, client):
    logged_in(client, member(broken.project, Role.PROJECT_MANAGER))
    response = client.get(reverse("runs:detail", args=[broken.report.run_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-entity="products"' in html and f'data-total="{PRODUCTS}"' in html


def test_item_tables_page_by_keyset_one_table_at_a_time(broken, client):
    from apps.reconciliation.models import ReconciliationItem
    from apps.reconciliation.views import TABLE_PAGE_SIZE

    report = broken.report
    ReconciliationItem.objects.bulk_create(
        ReconciliationItem(
            report=report, kind="mismatch", entity="products", source_id=str(n), reason=f"r{n}"
        )
        for n in range(2 * TABLE_PAGE_SIZE + 3)
    )
    expected = list(
        report.items.filter(kind="mismatch").order_by("id").values_list("pk", flat=True)
    )
    client = logged_in(client, member(broken.project, Role.MERCHANDISER))
    url = reverse("reconciliation:report", args=[report.pk])
    seen, query, pages = [], "", 0
    while True:
        html = client.get(url + query).content.decode()
        pages += 1
        section = html[html.index('id="items-mismatch"') : html.index('id="items-missing"')]
        seen += [int(pk) for pk in re.findall(r'data-item-id="(\d+)"', section)]
        # The other tables stay on their first page: the one missing record is always there.
        assert f'data-source-id="{broken.deleted.source_id}"' in html
        assert f'data-total="{len(expected)}"' in section
        following = re.search(r'href="\?([^"#]+)#items-mismatch" id="items-mismatch-next"', section)
        if following is None:
            break
        query = "?" + following.group(1).replace("&amp;", "&")
    assert seen == expected and pages == 3
    assert 'id="items-mismatch-first"' in section


@pytest.mark.parametrize(
    "query", ["?items=mismatch&after=-1", "?items=nope&after=5", "?after=9" * 30, "?items=orphan"]
)
def test_item_table_paging_ignores_bad_parameters(broken, client, query):
    client = logged_in(client, member(broken.project, Role.MERCHANDISER))
    response = client.get(reverse("reconciliation:report", args=[broken.report.pk]) + query)
    assert response.status_code == 200
    assert f'data-source-id="{broken.deleted.source_id}"' in response.content.decode()
