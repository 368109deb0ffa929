"""The reaper repairs what dead workers and lost messages leave behind."""

from datetime import timedelta

from django.utils import timezone

from apps.runs import batches
from apps.runs.choices import BatchStatus, RunKind, RunStatus
from apps.runs.engine import plan_run, process_batch, reap
from apps.runs.models import EntityBatch
from apps.runs.services import start_run


def planned_run(rehearsal):
    run = start_run(rehearsal.project, kind=RunKind.FULL)
    sent: list[int] = []
    plan_run(run.pk, enqueue=sent.extend)
    return run, sent


def test_a_batch_whose_worker_died_is_sent_again_once_its_lease_expires(rehearsal):
    run, sent = planned_run(rehearsal)
    assert len(sent) == 2
    batch = batches.claim(sent[0], owner="dead-worker")
    assert batch is not None

    resent: list[int] = []
    assert reap(enqueue=resent.extend)["resent"] == 0  # the lease is still valid

    EntityBatch.objects.filter(pk=batch.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert reap(enqueue=resent.extend)["resent"] == 1
    assert resent == [batch.pk]
    assert EntityBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING

    for batch_id in sent:
        process_batch(batch_id, enqueue=resent.extend)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert len(rehearsal.target_products()) == 120


def test_a_stalled_run_has_its_waiting_batches_sent_again(rehearsal, settings):
    run, sent = planned_run(rehearsal)
    resent: list[int] = []
    reap(enqueue=resent.extend)
    assert resent == []  # just sent: not stalled

    long_ago = timezone.now() - timedelta(seconds=settings.RUN_STALL_SECONDS + 60)
    EntityBatch.objects.filter(run=run).update(queued_at=long_ago)
    run.__class__.objects.filter(pk=run.pk).update(started_at=long_ago)
    reap(enqueue=resent.extend)
    assert sorted(resent) == sorted(sent)


def test_re_sent_batches_of_dead_workers_do_not_hide_lost_waiting_batches(rehearsal, settings):
    """The broker lost its messages (a Redis restart) while a dead worker's batch is sent
    again for its expired lease and claimed: that progress is not the waiting batches'."""
    run, sent = planned_run(rehearsal)
    now = timezone.now()
    long_ago = now - timedelta(seconds=settings.RUN_STALL_SECONDS + 60)
    EntityBatch.objects.filter(run=run).update(queued_at=long_ago)
    run.__class__.objects.filter(pk=run.pk).update(started_at=long_ago)
    EntityBatch.objects.filter(pk=sent[0]).update(
        status=BatchStatus.RUNNING,
        attempts=2,
        queued_at=now,
        started_at=now,
        lease_owner="second-worker",
        lease_expires_at=now + timedelta(seconds=60),
    )
    resent: list[int] = []
    reap(enqueue=resent.extend)
    assert resent == sent[1:]


def test_a_duplicate_delivery_of_a_leased_batch_waits_for_the_lease(rehearsal):
    _, sent = planned_run(rehearsal)
    batches.claim(sent[0], owner="alive-worker")
    wait = process_batch(sent[0])
    assert wait is not None and 1 <= wait <= 61
