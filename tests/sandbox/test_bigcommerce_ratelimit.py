"""The sandbox's request quota: per-window budget in the headers, 429 when spent, shared by
every thread and process through the database."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.sandbox.bigcommerce import ratelimit
from apps.sandbox.models import Flavor, SandboxStore, hash_secret
from apps.sandbox.services import new_credentials


class Clock:
    def __init__(self, start: int = 1_000_000) -> None:
        self.ms = start

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit, "now_ms", fake)
    return fake


def make_store(**quota: int) -> tuple[SandboxStore, dict[str, str]]:
    # Not services.create_sandbox_store: `SandboxStore.objects` is shadowed by
    # SandboxObject.store's related_name="objects" (reported to the lead).
    key_id, secret, credentials = new_credentials(Flavor.BIGCOMMERCE)
    store = SandboxStore(
        slug="quota",
        name="quota",
        flavor=Flavor.BIGCOMMERCE,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        **quota,
    )
    store.save()
    return store, credentials


@pytest.fixture
def limited(db):
    return make_store(quota_requests=5, quota_window_ms=1000)


def get(client, store, credentials, token=None):
    return client.get(
        f"/sandbox/{store.slug}/stores/{credentials['store_hash']}/v3/catalog/products",
        headers={"X-Auth-Token": token or credentials["access_token"]},
    )


def test_sixth_request_in_the_window_is_429_until_the_window_resets(client, limited, clock):
    store, credentials = limited

    lefts = []
    for _ in range(5):
        response = get(client, store, credentials)
        assert response.status_code == 200
        lefts.append(int(response.headers["X-Rate-Limit-Requests-Left"]))
    assert lefts == [4, 3, 2, 1, 0]

    clock.ms += 300
    refused = get(client, store, credentials)
    assert refused.status_code == 429
    assert refused.json()["status"] == 429
    assert refused.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert refused.headers["X-Rate-Limit-Requests-Quota"] == "5"
    assert refused.headers["X-Rate-Limit-Time-Window-Ms"] == "1000"
    assert refused.headers["X-Rate-Limit-Time-Reset-Ms"] == "700"

    clock.ms += 699
    assert get(client, store, credentials).status_code == 429

    clock.ms += 1
    again = get(client, store, credentials)
    assert again.status_code == 200
    assert again.headers["X-Rate-Limit-Requests-Left"] == "4"
    assert again.headers["X-Rate-Limit-Time-Reset-Ms"] == "1000"


def test_refused_requests_do_not_use_up_the_next_window(client, limited, clock):
    store, credentials = limited
    for _ in range(8):
        get(client, store, credentials)

    store.refresh_from_db()
    assert store.window_used == 5  # the refusals were not counted

    clock.ms += 1000
    assert get(client, store, credentials).headers["X-Rate-Limit-Requests-Left"] == "4"


def test_the_budget_lives_in_the_database_not_in_the_process(client, limited, clock):
    """Another process spent the window: this one sees it through the row."""
    store, credentials = limited
    SandboxStore._default_manager.filter(pk=store.pk).update(
        window_started_ms=clock.ms - 100, window_used=5
    )

    refused = get(client, store, credentials)

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Time-Reset-Ms"] == "900"


def test_unauthenticated_requests_get_headers_but_spend_nothing(client, db, clock):
    store, credentials = make_store(quota_requests=1, quota_window_ms=1000)

    refused = get(client, store, credentials, token="wrong")
    assert refused.status_code == 401
    assert refused.headers["X-Rate-Limit-Requests-Left"] == "1"

    assert get(client, store, credentials).status_code == 200
    assert get(client, store, credentials).status_code == 429


def test_unlimited_store_advertises_a_large_quota_and_writes_nothing(client, db, clock):
    store, credentials = make_store(quota_requests=0)

    for _ in range(3):
        response = get(client, store, credentials)
        assert response.status_code == 200
    assert int(response.headers["X-Rate-Limit-Requests-Left"]) == ratelimit.UNLIMITED_QUOTA
    store.refresh_from_db()
    assert store.window_used == 0


def test_clock_lag_between_processes_never_advertises_more_than_a_window(limited, clock):
    store, _ = limited
    SandboxStore._default_manager.filter(pk=store.pk).update(
        window_started_ms=clock.ms + 5000, window_used=5
    )

    budget = ratelimit.consume(store)

    assert not budget.allowed
    assert budget.reset_ms == 1000


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_quota():
    """Threads with their own connections race for 10 requests: exactly 10 get through."""
    store, _ = make_store(quota_requests=10, quota_window_ms=60_000)
    barrier = threading.Barrier(8)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(4):
                decision = ratelimit.consume(store).allowed
                with lock:
                    allowed.append(decision)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(allowed) == 32
    assert sum(allowed) == 10
    store.refresh_from_db()
    assert store.window_used == 10
