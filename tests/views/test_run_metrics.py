"""apps.runs.metrics on synthetic batches and outcomes: throughput buckets, the ETA and its
basis, error groups (normalisation, bound, filter), stages and the retry rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.runs import metrics, reasons
from apps.runs.choices import Action, BatchStatus, RunStatus
from apps.runs.models import EntityBatch, RecordOutcome
from apps.runs.services import entity_progress
from apps.stores import ratelimit
from tests.views.conftest import make_run

pytestmark = pytest.mark.django_db


def _batch(run, seq, *, entity="products", finished=None, read=0, requests=0, **fields):
    return EntityBatch.objects.create(
        run=run,
        entity=entity,
        seq=seq,
        status=fields.pop("status", BatchStatus.DONE if finished is not None else "pending"),
        read=read,
        requests=requests,
        finished_at=finished,
        **fields,
    )


def _fail(run, n, reason, *, entity="products", start=0):
    RecordOutcome.objects.bulk_create(
        RecordOutcome(
            run=run,
            entity=entity,
            source_id=f"{entity}-{start + i}",
            action=Action.FAILED,
            reason=reason.format(i=start + i),
        )
        for i in range(n)
    )


# --- throughput --------------------------------------------------------------------------------


def test_throughput_buckets_records_by_batch_finish_time(project, django_assert_num_queries):
    start = timezone.now() - timedelta(seconds=600)
    run = make_run(project, status=RunStatus.SUCCEEDED, started_at=start)
    run.finished_at = start + timedelta(seconds=300)
    run.save()
    _batch(run, 0, finished=start + timedelta(seconds=5), read=100)
    _batch(run, 1, finished=start + timedelta(seconds=9), read=50)
    _batch(run, 2, finished=start + timedelta(seconds=10), read=7)  # the second bucket's edge
    _batch(run, 3, finished=start + timedelta(seconds=295), read=30)
    _batch(run, 4, finished=start - timedelta(seconds=3), read=1)  # clock skew: first bucket
    _batch(run, 5, finished=start + timedelta(seconds=900), read=2)  # late: last bucket
    _batch(run, 6, finished=None, read=999)  # not finished: not counted

    with django_assert_num_queries(1):
        series = metrics.throughput(run, buckets=30)

    assert series.bucket_seconds == 10 and len(series.buckets) == 30
    assert [b.records for b in series.buckets[:2]] == [151, 7]
    assert series.buckets[-1].records == 32
    assert series.total == 190 and series.peak == 151
    assert series.buckets[1].start == start + timedelta(seconds=10)
    assert sum(b.records for b in series.buckets[2:-1]) == 0


# SQLite's julianday() keeps a time to the millisecond: the start's microseconds once put a
# batch finishing on a bucket edge into the bucket before it (CI failed at the second instant).
@pytest.mark.parametrize(
    "now",
    [
        None,
        datetime(2026, 11, 21, 21, 33, 57, 780_485, tzinfo=UTC),
        datetime(2026, 11, 21, 21, 33, 57, 999_999, tzinfo=UTC),
        datetime(2026, 11, 21, 21, 33, 57, 500_500, tzinfo=UTC),
    ],
)
def test_throughput_of_a_live_run_spans_to_now_in_whole_seconds(project, now):
    now = now or timezone.now()
    run = make_run(project, started_at=now - timedelta(seconds=45))
    _batch(run, 0, finished=now - timedelta(seconds=1), read=10)

    series = metrics.throughput(run, buckets=30, now=now)

    assert series.bucket_seconds == 2 and len(series.buckets) == 23
    assert series.end >= now and series.buckets[-1].records == 10


def test_throughput_is_none_before_the_run_starts(project):
    run = make_run(project, status=RunStatus.QUEUED, started_at=None)
    assert metrics.throughput(run) is None


# --- ETA ---------------------------------------------------------------------------------------


@pytest.fixture
def half_done(project):
    """1,000 records planned; 400 read by finished batches with 200 target requests over 100 s
    (and 50 more read by a batch still running)."""
    now = timezone.now()
    run = make_run(project, total=1000, started_at=now - timedelta(seconds=200))
    _batch(run, 0, finished=now - timedelta(seconds=150), read=200, requests=100)
    _batch(run, 1, finished=now - timedelta(seconds=100), read=200, requests=100)
    _batch(run, 2, read=50, requests=40, status=BatchStatus.RUNNING)
    return run


def test_eta_from_the_quota_the_shared_limiter_knows(half_done, monkeypatch):
    class Limiter:
        def known_quota(self):
            return (450, 30_000)  # 15 requests per second

    monkeypatch.setattr(ratelimit, "limiter_for", lambda store: Limiter())

    eta = metrics.eta(half_done)

    # 550 records left * 0.5 requests per record / 15 requests/s = 18.3 s
    assert eta.basis == metrics.EtaBasis.QUOTA
    assert (eta.remaining_records, eta.requests_per_record, eta.seconds) == (550, 0.5, 19)
    assert eta.quota == metrics.Quota(450, 30_000.0)
    assert "quota of 450 requests per 30 s" in eta.description


def test_eta_from_the_observed_request_rate_without_a_known_quota(half_done):
    # The embedded limiter exposes no quota: 200 requests in the 100 s to the last finish.
    eta = metrics.eta(half_done)

    assert eta.basis == metrics.EtaBasis.OBSERVED_REQUESTS
    assert eta.rate == pytest.approx(2.0)
    assert eta.seconds == 138  # 550 * 0.5 / 2
    assert "2.0 requests/s seen so far" in eta.description


def test_eta_explicit_quota_and_a_broken_limiter(half_done, monkeypatch):
    def broken(store):
        raise ratelimit.BackendUnavailable("redis down")

    monkeypatch.setattr(ratelimit, "limiter_for", broken)
    assert metrics.eta(half_done).basis == metrics.EtaBasis.OBSERVED_REQUESTS
    eta = metrics.eta(half_done, quota=metrics.Quota(100, 1000))
    assert (eta.basis, eta.seconds) == (metrics.EtaBasis.QUOTA, 3)


def test_eta_from_the_record_rate_when_nothing_was_written(project):
    now = timezone.now()
    run = make_run(project, total=300, started_at=now - timedelta(seconds=100))
    _batch(run, 0, finished=now - timedelta(seconds=50), read=100, requests=0)

    eta = metrics.eta(run)

    assert eta.basis == metrics.EtaBasis.OBSERVED_RECORDS
    assert eta.seconds == 100  # 200 left at 2 records/s


@pytest.mark.parametrize(
    "case", ["ended", "not_planned", "no_finished_batch", "nothing_left", "not_started"]
)
def test_eta_unknown(project, case):
    now = timezone.now()
    run = make_run(project, total=100, started_at=now - timedelta(seconds=60))
    if case == "ended":
        run.status = RunStatus.SUCCEEDED
    elif case == "not_planned":
        run.plan = {}
    elif case == "not_started":
        run.started_at = None
    run.save()
    if case == "no_finished_batch":
        _batch(run, 0, read=10, status=BatchStatus.RUNNING)
    else:
        _batch(run, 0, finished=now, read=100 if case == "nothing_left" else 10, requests=5)
    assert metrics.eta(run) is None


# --- error groups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "key"),
    [
        ("price is negative (-12.50)", "price is negative (-#)"),
        ("variant 3 repeats SKU 'AB-12'", "variant # repeats SKU '…'"),
        ("email 'x@y' is not a valid address", "email '…' is not a valid address"),
        ("POST /v3/catalog/products: HTTP 422 #4711", "POST /v#/catalog/products: HTTP # #"),
        ('HTTP 409: {"title": "SKU 77 exists"}', 'HTTP #: {"title": "SKU # exists"}'),
        ("  two\n\tlines   here ", "two lines here"),
        ("", reasons.NO_REASON),
        ("   ", reasons.NO_REASON),
        ("x" * 500, "x" * reasons.KEY_LENGTH),
    ],
)
def test_normalise_reason(reason, key):
    assert reasons.normalise_reason(reason) == key


def test_error_groups_count_by_entity_and_normalised_reason(project):
    run = make_run(project, plan={"order": ["categories", "products"], "entities": {}})
    _fail(run, 5, "price {i} is negative")
    _fail(run, 3, "SKU 'S-{i}' is a duplicate", start=10)
    _fail(run, 2, "price {i} is negative", entity="categories")
    RecordOutcome.objects.create(run=run, entity="products", source_id="ok", action="created")

    groups = metrics.error_groups(run)

    assert [(g.entity, g.key, g.count) for g in groups.groups] == [
        ("products", "price # is negative", 5),
        ("products", "SKU '…' is a duplicate", 3),
        ("categories", "price # is negative", 2),
    ]
    assert not groups.sampled
    assert groups.choices() == [
        ("price # is negative", 7, ["products", "categories"]),
        ("SKU '…' is a duplicate", 3, ["products"]),
    ]
    assert groups.choices("categories") == [("price # is negative", 2, ["categories"])]
    only = metrics.error_groups(run, entity="categories").groups
    assert [(g.entity, g.count) for g in only] == [("categories", 2)]


def test_error_groups_are_bounded_and_filter_matches_the_key(project, django_assert_num_queries):
    run = make_run(project)
    for n in range(30):
        # 30 distinct shapes (letters differ), each with n+1 records whose numbers differ.
        _fail(run, n + 1, f"rule {chr(65 + n % 26)}{'x' * (n // 26)} broke on {{i}}", start=n * 100)

    with django_assert_num_queries(2):
        groups = metrics.error_groups(run)

    assert len(groups.groups) == metrics.ERROR_GROUPS == 20
    assert groups.groups[0].count == 30 and groups.groups[-1].count == 11
    key = groups.groups[0].key
    assert key == "rule Dx broke on #"
    matching = metrics.failures(run, error=key)
    assert matching.count() == 30
    assert {o.reason for o in matching} == {f"rule Dx broke on {i}" for i in range(2900, 2930)}
    assert metrics.failures(run, error="no such key").count() == 0
    assert metrics.failures(run, entity="categories", error=key).count() == 0


def test_error_groups_scan_only_the_newest_failures(project, monkeypatch):
    monkeypatch.setattr(metrics, "ERROR_SCAN", 10)
    run = make_run(project)
    _fail(run, 20, "old failure {i}")
    _fail(run, 8, "new failure {i}", start=100)

    groups = metrics.error_groups(run)

    assert groups.sampled
    assert [(g.key, g.count) for g in groups.groups] == [
        ("new failure #", 8),
        ("old failure #", 2),
    ]


# --- stages, points, retry ---------------------------------------------------------------------


def test_stages_follow_open_batches(project):
    run = make_run(
        project,
        plan={
            "order": ["categories", "products", "orders"],
            "stages": [["categories", "brands"], [], ["products"], ["orders"]],
            "entities": {"products": {"total": 10, "points": 50}, "categories": {"points": 2}},
        },
    )
    _batch(run, 0, entity="categories", finished=timezone.now(), read=2)
    _batch(run, 0, entity="products", status=BatchStatus.RUNNING)
    _batch(run, 0, entity="orders")

    stages = metrics.stages(run, entity_progress(run))

    assert [(s.number, s.entities, s.state) for s in stages] == [
        (1, ["categories", "brands"], "done"),
        (2, ["products"], "running"),
        (3, ["orders"], "waiting"),
    ]
    assert metrics.entity_points(run) == {"products": 50, "categories": 2}


def test_stages_while_planning_all_wait(project):
    run = make_run(
        project, status=RunStatus.PLANNING, plan={"stages": [["products"]], "order": ["products"]}
    )
    assert [s.state for s in metrics.stages(run, [])] == ["waiting"]


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (RunStatus.PARTIALLY_FAILED, True),
        (RunStatus.SUCCEEDED, False),
        (RunStatus.RUNNING, False),
        (RunStatus.FAILED, False),
    ],
)
def test_retry_refusal(project, status, allowed):
    run = make_run(project, status=status)
    assert (metrics.retry_refusal(run) == "") is allowed


@pytest.mark.parametrize("answer", [None, "garbage", (0, 30_000), (450, 0), 7])
def test_target_quota_ignores_what_it_cannot_use(project, monkeypatch, answer):
    class Limiter:
        def known_quota(self):
            return answer

    monkeypatch.setattr(ratelimit, "limiter_for", lambda store: Limiter())
    assert metrics.target_quota(project.target_store) is None


def test_target_quota_of_todays_limiter_is_unknown(project):
    # The shared limiter does not expose its learned quota yet: the ETA uses observed rates.
    assert metrics.target_quota(project.target_store) is None


def test_reason_key_is_kept_with_the_outcome_through_save_and_upsert(project):
    run = make_run(project)
    saved = RecordOutcome.objects.create(
        run=run, entity="products", source_id="1", action=Action.FAILED, reason="SKU 'A-1' #7"
    )
    assert saved.reason_key == "SKU '…' #"

    # A retry that succeeds overwrites the failure in place (the engine's upsert): no group.
    RecordOutcome.objects.bulk_create(
        [RecordOutcome(run=run, entity="products", source_id="1", action=Action.CREATED)],
        update_conflicts=True,
        unique_fields=["run", "entity", "source_id"],
        update_fields=["action", "reason", "reason_key"],
    )
    saved.refresh_from_db()
    assert (saved.action, saved.reason_key) == (Action.CREATED, "")
    assert metrics.error_groups(run).groups == []
