"""The production path: a real Celery worker delivers the sandbox's webhooks over real HTTP to
the receiver (a live server), after the write's commit and outside the API request."""

from __future__ import annotations

import time

import pytest

from apps.runs.models import ChangeEvent
from apps.sandbox import webhooks
from apps.webhooks.models import WebhookEndpoint
from apps.webhooks.services import connect_webhooks
from tests.support.live import celery_worker
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out; worker log:\n{log.read_text(errors='replace')[-3000:]}")


def test_a_real_worker_delivers_webhooks_to_the_receiver(live_server, tmp_path, settings):
    settings.PUBLIC_URL = live_server.url
    rehearsal = make_rehearsal(None, products=3, base=live_server.url)
    admin = rehearsal.project.memberships.get().user
    product = rehearsal.source.records.filter(resource="product").first()
    log = tmp_path / "worker.log"
    assert isinstance(webhooks.current_outbox(), webhooks.CeleryOutbox)

    with celery_worker(log):
        connect_webhooks(rehearsal.project, user=admin)
        with rehearsal.woo() as woo:
            response = woo.put(f"products/{product.object_id}", json={"name": "Live edit"})
            assert response.status_code == 200, response.text

        wait_for(ChangeEvent.objects.exists, 60, log)

    event = ChangeEvent.objects.get()
    assert (event.entity, event.source_id, event.action) == (
        "products",
        str(product.object_id),
        "updated",
    )
    worker_log = log.read_text(errors="replace")
    assert "sandbox.deliver_webhook" in worker_log
    assert WebhookEndpoint.objects.get().secret() not in worker_log
