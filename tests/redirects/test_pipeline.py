"""Collect → push → verify on a migrated WooCommerce → BigCommerce rehearsal."""

from __future__ import annotations

import pytest

from apps.redirects import services, tasks
from apps.redirects.choices import JobKind, JobStatus, MapState, Origin, Problem
from apps.redirects.models import Redirect, RedirectJob
from apps.runs.models import RecordMap
from apps.sandbox.models import SandboxObject
from tests.redirects.conftest import ENTITIES

pytestmark = pytest.mark.django_db


def test_collect_maps_every_migrated_record_url(migrated):
    project = migrated.project
    counts = services.collect(project)

    for entity in ENTITIES:
        maps = RecordMap.objects.filter(project=project, entity=entity).exclude(target_id="")
        assert maps.exists(), entity
        rows = Redirect.objects.filter(project=project, entity=entity)
        assert rows.count() == maps.count(), entity
        assert not rows.filter(new_url="").exists(), entity
    assert counts["unmapped"] == 0
    assert counts["mapped"] == Redirect.objects.filter(project=project).count()

    product = Redirect.objects.filter(project=project, entity="products").first()
    # Old: the WooCommerce permalink, relative to the shop; new: BigCommerce's custom_url there.
    assert product.old_path.startswith("/product/")
    target = SandboxObject.objects.get(
        store=migrated.target, resource="product", object_id=int(product.target_id)
    )
    assert product.new_url == f"http://localhost/sandbox/dst{target.data['custom_url']['url']}"
    category = Redirect.objects.filter(project=project, entity="categories").last()
    assert category.old_path.startswith("/product-category/")
    post = Redirect.objects.filter(project=project, entity="posts").first()
    assert post.new_url.startswith("http://localhost/sandbox/dst/blog/")
    assert (
        Redirect.objects.filter(project=project, origin=Origin.SOURCE).count() == counts["mapped"]
    )

    # A second collect changes nothing.
    again = services.collect(project)
    assert again["mapped"] == counts["mapped"]
    assert Redirect.objects.filter(project=project).count() == counts["mapped"]


def test_push_then_verify_gives_full_coverage(migrated):
    project = migrated.project
    # Through the job and its Celery task's body, as a worker runs it.
    job = RedirectJob.objects.create(project=project, kind=JobKind.COLLECT)
    assert tasks.run_job(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.counts["mapped"] > 0 and job.finished_at is not None
    counts, errors = services.push(project)
    total = Redirect.objects.filter(project=project).count()
    assert counts == {"pushed": total, "failed": 0} and errors == []
    assert not Redirect.objects.filter(project=project, target_redirect_id="").exists()
    assert SandboxObject.objects.filter(store=migrated.target, resource="redirect").count() == total
    assert set(Redirect.objects.filter(project=project).values_list("state", flat=True)) == {
        MapState.PUSHED
    }
    before = services.coverage(project)
    assert before.ratio == 0.0 and before.not_verified == total

    result = services.verify(project)
    assert result[Problem.OK] == total, list(
        Redirect.objects.filter(project=project)
        .exclude(problem=Problem.OK)
        .values("old_path", "problem", "problem_detail", "hops")[:3]
    )
    cover = services.coverage(project)
    assert cover.ratio == 1.0
    assert (cover.total, cover.verified_ok, cover.chains, cover.loops) == (total, total, 0, 0)
    assert cover.unmapped == 0 and cover.not_verified == 0 and cover.checked_at is not None
    row = Redirect.objects.filter(project=project, entity="products").first()
    assert [h["status"] for h in row.hops] == [301, 200]
    assert row.hops[0]["location"] == row.new_url


def _verified(migrated):
    project = migrated.project
    services.collect(project)
    services.push(project)
    services.verify(project)
    return list(Redirect.objects.filter(project=project, entity="products").order_by("old_path"))


def _path_on_target(url: str) -> str:
    return url.removeprefix("http://localhost/sandbox/dst")


def test_chains_and_loops_made_on_the_target_are_reported_with_their_hops(migrated):
    project = migrated.project
    a, b, c = _verified(migrated)[:3]
    with migrated.big() as big:
        answer = big.put(
            "storefront/redirects",
            json=[
                # a: old → /interim-a → new (two redirects: a chain)
                {
                    "from_path": a.old_path,
                    "site_id": 1000,
                    "to": {"type": "url", "url": "/interim-a"},
                },
                {
                    "from_path": "/interim-a",
                    "site_id": 1000,
                    "to": {"type": "url", "url": _path_on_target(a.new_url)},
                },
                # b: old → /loop-b → old … (a loop)
                {
                    "from_path": b.old_path,
                    "site_id": 1000,
                    "to": {"type": "url", "url": "/loop-b/"},
                },
                {
                    "from_path": "/loop-b/",
                    "site_id": 1000,
                    "to": {"type": "url", "url": b.old_path},
                },
                # c: old → another product's page (wrong destination)
                {
                    "from_path": c.old_path,
                    "site_id": 1000,
                    "to": {"type": "url", "url": _path_on_target(a.new_url)},
                },
            ],
        )
        assert answer.status_code == 201, answer.text

    counts = services.verify(project)
    assert (counts[Problem.CHAIN], counts[Problem.LOOP], counts[Problem.WRONG_DESTINATION]) == (
        1,
        1,
        1,
    )
    a.refresh_from_db()
    b.refresh_from_db()
    c.refresh_from_db()
    base = "http://localhost/sandbox/dst"
    assert a.problem == Problem.CHAIN
    assert [(h["url"], h["status"]) for h in a.hops] == [
        (base + a.old_path, 301),
        (base + "/interim-a", 301),
        (a.new_url, 200),
    ]
    assert b.problem == Problem.LOOP
    assert [h["status"] for h in b.hops] == [301, 301]
    assert b.hops[1]["url"] == base + "/loop-b/"
    assert b.hops[1]["location"] == base + b.old_path
    assert c.problem == Problem.WRONG_DESTINATION and c.final_status == 200

    cover = services.coverage(project)
    assert (cover.chains, cover.loops) == (1, 1)
    assert cover.verified_ok == cover.total - 3
    assert cover.ratio == pytest.approx((cover.total - 3) / cover.total)


def test_coverage_drops_when_a_redirect_is_deleted_on_the_target(migrated):
    project = migrated.project
    rows = _verified(migrated)
    assert services.coverage(project).ratio == 1.0
    gone = rows[0]
    with migrated.big() as big:
        assert (
            big.delete(
                "storefront/redirects", params={"id:in": gone.target_redirect_id}
            ).status_code
            == 204
        )
    services.verify(project)
    gone.refresh_from_db()
    assert gone.problem == Problem.NOT_REDIRECTED
    assert [h["status"] for h in gone.hops] == [404]
    cover = services.coverage(project)
    assert cover.verified_ok == cover.total - 1
    assert 0.0 < cover.ratio < 1.0


def test_coverage_with_no_redirects_is_zero_not_one(project):
    cover = services.coverage(project)
    assert (cover.total, cover.ratio, cover.checked_at) == (0, 0.0, None)
    assert cover.message == "no redirects"
