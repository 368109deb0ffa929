"""The review queue's dashboard pages: who sees what, resolving in place with HTMX, escaping,
bulk resolve, and bounded queries on a long queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from tests.conflicts.conftest import edit_conflict, member, plain_conflict, read_target, record_maps

SCRIPT = "<script>alert('x')</script>"


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def conflict(project):
    return plain_conflict(project)


@pytest.mark.parametrize("role", [Role.MERCHANDISER, Role.ADMIN])
def test_resolvers_see_the_queue_and_the_forms(client, project, conflict, role):
    login(client, member(project, role))

    queue = client.get(reverse("conflicts:queue", args=[project.pk]))
    page = client.get(reverse("conflicts:detail", args=[conflict.pk]))

    assert queue.status_code == 200
    assert f'data-conflict-id="{conflict.pk}"' in queue.text
    assert 'id="bulk-form"' in queue.text
    assert page.status_code == 200
    assert 'id="resolve-form"' in page.text and 'id="dismiss-form"' in page.text
    assert 'name="side:name" value="source" checked' in page.text


def test_project_managers_may_look_but_not_resolve(client, project, conflict):
    manager = member(project, Role.PROJECT_MANAGER)
    login(client, manager)

    queue = client.get(reverse("conflicts:queue", args=[project.pk]))
    page = client.get(reverse("conflicts:detail", args=[conflict.pk]))

    assert queue.status_code == 200 and 'id="queue-read-only"' in queue.text
    assert 'id="bulk-form"' not in queue.text
    assert page.status_code == 200 and 'id="resolve-form"' in page.text
    assert 'name="side:name"' not in page.text and 'id="resolve-submit"' not in page.text
    for name in ("conflicts:resolve", "conflicts:dismiss", "conflicts:resolve_delete"):
        response = client.post(reverse(name, args=[conflict.pk]), {"reason": "x"})
        assert response.status_code == 403, name
    bulk = client.post(
        reverse("conflicts:bulk_resolve", args=[project.pk]),
        {"entity": "products", "side": "source"},
    )
    assert bulk.status_code == 403
    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_outsiders_get_404_and_anonymous_users_log_in(client, project, conflict, outsider):
    urls = [
        ("get", reverse("conflicts:queue", args=[project.pk])),
        ("get", reverse("conflicts:detail", args=[conflict.pk])),
        ("get", reverse("conflicts:bulk_preview", args=[project.pk]) + "?entity=products"),
        ("post", reverse("conflicts:resolve", args=[conflict.pk])),
        ("post", reverse("conflicts:dismiss", args=[conflict.pk])),
        ("post", reverse("conflicts:resolve_delete", args=[conflict.pk])),
        ("post", reverse("conflicts:bulk_resolve", args=[project.pk])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    login(client, outsider)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
    assert client.get(reverse("conflicts:detail", args=[999999])).status_code == 404


def test_values_are_escaped(client, project, merchandiser_user):
    conflict = plain_conflict(
        project,
        natural_key=SCRIPT,
        source={"sku": "S", "name": SCRIPT, "price": "1.00"},
        target={"sku": "S", "name": f"<img src=x onerror=alert(1)>{SCRIPT}", "price": "1.00"},
        source_resolved={"sku": "S", "name": SCRIPT, "price": "1.00"},
        fields=["name"],
    )
    login(client, merchandiser_user)

    for url in (
        reverse("conflicts:queue", args=[project.pk]),
        reverse("conflicts:detail", args=[conflict.pk]),
    ):
        text = client.get(url).text
        assert SCRIPT not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text, url


def test_queue_filters_counts_and_pages(client, project, merchandiser_user):
    for n in range(1, 56):
        plain_conflict(project, n, fields=["price"] if n % 5 == 0 else ["name"])
    plain_conflict(project, 100, entity="customers", fields=["email"])
    Conflict.objects.filter(source_id="1").update(created_at=timezone.now() - timedelta(days=2))
    login(client, merchandiser_user)
    url = reverse("conflicts:queue", args=[project.pk])

    first = client.get(url)
    assert 'data-entity="products" data-count="55"' in first.text
    assert 'data-entity="customers" data-count="1"' in first.text
    assert first.text.count("data-conflict-id=") == 50
    assert 'id="conflicts-next"' in first.text
    after = first.context["conflicts"][-1].pk
    second = client.get(url, {"after": after})
    assert second.text.count("data-conflict-id=") == 6

    assert client.get(url, {"field": "price"}).text.count("data-conflict-id=") == 11
    assert client.get(url, {"entity": "customers"}).text.count("data-conflict-id=") == 1
    assert client.get(url, {"age": "1d"}).text.count("data-conflict-id=") == 1


def test_queue_page_queries_are_bounded(
    client, project, merchandiser_user, django_assert_max_num_queries
):
    Conflict.objects.bulk_create(
        Conflict(
            project=project,
            entity=("products", "customers", "orders")[n % 3],
            source_id=str(n),
            natural_key=f"K{n}",
            fields=["name", "price"],
            target={"blob": "x" * 2000},
        )
        for n in range(200)
    )
    login(client, merchandiser_user)
    url = reverse("conflicts:queue", args=[project.pk])
    client.get(url)  # session and user warm-up

    with django_assert_max_num_queries(7):
        response = client.get(url)

    assert response.status_code == 200
    assert response.text.count("data-conflict-id=") == 50


def test_resolve_in_place_shows_the_next_conflict(client, migrated, merchandiser):
    first, second, _ = record_maps(migrated)
    one = edit_conflict(migrated, first, source={"name": "S1"}, target={"name": "T1"})
    two = edit_conflict(migrated, second, source={"name": "S2"}, target={"name": "T2"})
    login(client, merchandiser)
    page = client.get(reverse("conflicts:detail", args=[one.pk]))
    version = page.context["version"]

    response = client.post(
        reverse("conflicts:resolve", args=[one.pk]),
        {"side:name": "custom", "value:name": "Typed", "version": version},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert f'data-conflict-id="{two.pk}"' in response.text
    assert 'id="panel-notice"' in response.text and "Resolved products" in response.text
    assert response["HX-Push-Url"] == reverse("conflicts:detail", args=[two.pk])
    assert read_target(migrated, one.target_id)["name"] == "Typed"

    # The last one: no next conflict, the queue is clear.
    done = client.post(
        reverse("conflicts:resolve", args=[two.pk]),
        {
            "side:name": "target",
            "version": client.get(reverse("conflicts:detail", args=[two.pk])).context["version"],
        },
        HTTP_HX_REQUEST="true",
    )
    assert 'id="queue-clear"' in done.text


def test_resolve_without_htmx_redirects_and_shows_errors(client, migrated, merchandiser):
    conflict = edit_conflict(
        migrated, source={"name": "S1", "price": "1.00"}, target={"name": "T1", "price": "2.00"}
    )
    login(client, merchandiser)
    url = reverse("conflicts:resolve", args=[conflict.pk])

    missing = client.post(url, {"side:name": "source"})
    assert missing.status_code == 400
    assert "Choose source, target or a typed value" in missing.text
    bad = client.post(url, {"side:name": "source", "side:price": "custom", "value:price": "cheap"})
    assert bad.status_code == 400 and "not a number" in bad.text
    assert 'value="cheap"' in bad.text  # what was typed stays in the form

    done = client.post(url, {"side:name": "source", "side:price": "target"})
    assert done.status_code == 302
    assert done["Location"] == reverse("conflicts:queue", args=[migrated.project.pk])
    again = client.post(url, {"side:name": "source", "side:price": "target"})
    assert again.status_code == 409
    assert f"Already resolved by {merchandiser.get_username()}" in again.text


def test_stale_target_reloads_the_panel_with_the_new_values(client, migrated, merchandiser):
    conflict = edit_conflict(migrated, source={"name": "S1"}, target={"name": "T1"})
    from tests.conflicts.conftest import edit_target

    edit_target(migrated, conflict.target_id, name="T1 newer")
    login(client, merchandiser)

    response = client.post(
        reverse("conflicts:resolve", args=[conflict.pk]),
        {"side:name": "source"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200  # shown by htmx in place
    assert 'data-kind="error"' in response.text and "reload" in response.text
    assert "T1 newer" in response.text
    assert read_target(migrated, conflict.target_id)["name"] == "T1 newer"


def test_delete_conflict_page_and_actions(client, migrated, merchandiser):
    from tests.conflicts.conftest import delete_conflict

    conflict = delete_conflict(migrated)
    login(client, merchandiser)

    page = client.get(reverse("conflicts:detail", args=[conflict.pk]))
    assert 'id="delete-action-delete"' in page.text and 'id="delete-action-archive"' in page.text

    response = client.post(
        reverse("conflicts:resolve_delete", args=[conflict.pk]), {"action": "keep"}
    )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.resolution == {"action": "keep"}


def test_dismiss_from_the_page(client, project, conflict, merchandiser_user):
    login(client, merchandiser_user)
    url = reverse("conflicts:dismiss", args=[conflict.pk])

    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "not a real change"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and 'id="queue-clear"' in response.text
    conflict.refresh_from_db()
    assert conflict.status == "dismissed"


def test_bulk_preview_and_resolve(client, migrated, merchandiser):
    first, second, third = record_maps(migrated)
    for rm in (first, second):
        edit_conflict(migrated, rm, source={"name": f"S{rm.pk}"}, target={"name": f"T{rm.pk}"})
    edit_conflict(
        migrated,
        third,
        source={"name": "S3", "price": "1.00"},
        target={"name": "T3", "price": "2.00"},
    )
    login(client, merchandiser)
    project = migrated.project

    preview = client.get(
        reverse("conflicts:bulk_preview", args=[project.pk]),
        {"entity": "products", "field": "name"},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-resolvable="2"' in preview.text and 'data-other-fields="1"' in preview.text

    response = client.post(
        reverse("conflicts:bulk_resolve", args=[project.pk]),
        {"entity": "products", "field": "name", "side": "target"},
        follow=True,
    )
    assert "2 resolved" in response.text and "1 left for review" in response.text
    assert Conflict.objects.filter(project=project, status="open").count() == 1


def test_project_page_links_to_the_queue(client, project, conflict, manager_user):
    login(client, manager_user)

    response = client.get(reverse("projects:detail", args=[project.pk]))

    assert 'id="review-queue-link"' in response.text and "Review queue (1 open)" in response.text
    assert 'id="nav-review"' in response.text
    index = client.get(reverse("conflicts:index"))
    assert f'data-project-id="{project.pk}" data-open="1"' in index.text


def test_a_closed_conflict_shows_who_decided_what(client, project, merchandiser_user):
    conflict = plain_conflict(
        project,
        status="resolved",
        resolved_by=merchandiser_user,
        resolved_at=timezone.now(),
        resolution={"name": {"side": "target", "value": "Target"}},
    )
    login(client, merchandiser_user)

    page = client.get(reverse("conflicts:detail", args=[conflict.pk]))

    assert 'id="resolution" data-status="resolved"' in page.text
    assert '<li data-field="name" data-side="target">' in page.text
    assert 'class="decided" data-side="target"' in page.text
    assert 'id="resolve-submit"' not in page.text and 'id="dismiss-form"' not in page.text
