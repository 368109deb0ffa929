"""End to end: threads with their own connectors, built by build_connector, share one store's
budget against the BigCommerce sandbox's real quota (in-process HTTP) and meet no 429."""

from __future__ import annotations

import math
import threading
import time

import pytest
import redis
from django.db import connection

from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.models import Platform
from apps.stores.ratelimit import store_key
from apps.stores.services import build_connector, create_store
from tests.factories import UserFactory
from tests.support.rehearsal import TESTSERVER

REDIS_URL = "redis://127.0.0.1:6379/13"
QUOTA, WINDOW_MS = 20, 300
THREADS, REQUESTS = 4, 100


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable: the shared-budget tests need it")
    return client


@pytest.mark.parametrize("backend", ["local", "redis"])
def test_threads_sharing_a_store_budget_meet_no_429(
    backend, sandbox_http, transactional_db, settings
):
    # A window shorter than BigCommerce's keeps the test under two seconds; the quota and the
    # margin (1 request of 20) are the point.
    sandbox, credentials = create_sandbox_store(
        slug="quota",
        name="Quota",
        flavor=Flavor.BIGCOMMERCE,
        quota_requests=QUOTA,
        quota_window_ms=WINDOW_MS,
    )
    store = create_store(
        user=UserFactory(),
        name="Target",
        platform=Platform.SANDBOX_BIGCOMMERCE,
        base_url=sandbox_base_url(sandbox, TESTSERVER),
        credentials=credentials,
    )
    settings.RATE_LIMIT_BACKEND = backend
    client = None
    if backend == "redis":
        client = _redis_or_skip()
        settings.RATE_LIMIT_REDIS_URL = REDIS_URL
    results: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []
    answered: list[float] = []

    def work(count: int) -> None:
        # A caller's hook runs after the limiter's: the first answer marks when the quota
        # became known (the first requests also pay for cold imports in the sandbox).
        connector = build_connector(store, on_response=lambda r: answered.append(time.monotonic()))
        try:
            answers = [connector.count("products") for _ in range(count)]
            results.append(
                (len(answers), connector.client.requests_sent, connector.client.rate_limited)
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connector.close()
            connection.close()  # each thread's own database connection

    threads = [threading.Thread(target=work, args=(REQUESTS // THREADS,)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - min(answered)
    if client is not None:
        client.delete(store_key(store.pk), f"{store_key(store.pk)}:log")

    assert errors == []
    assert sum(done for done, _, _ in results) == REQUESTS
    sent = sum(s for _, s, _ in results)
    limited = sum(r for _, _, r in results)
    assert limited <= 0.01 * sent
    # After the first answer the server allows the other 99 requests in 4 more windows; we
    # send 19 per 325 ms (margin 1, guard 25 ms): 5 waits, plus the requests' own time. (The
    # steady rate, 19 per 325 ms, is 88% of 20 per 300 ms; with BigCommerce's 30 s window
    # the guard is 100 ms and the rate 98 to 99% of the quota: bench/quota_limiter.py.)
    fastest = (math.ceil(REQUESTS / QUOTA) - 1) * WINDOW_MS / 1000
    planned = math.ceil((REQUESTS - QUOTA + 1) / (QUOTA - 1)) * (WINDOW_MS + 25) / 1000
    print(
        f"{backend}: {REQUESTS} ok, {limited} 429s, {elapsed:.2f} s "
        f"(at best {fastest:.2f} s, planned {planned:.2f} s)"
    )
    # Not faster than the quota allows. How close to `planned` it gets is a speed figure that
    # depends on the machine's load: bench/quota_limiter.py measures it.
    assert elapsed >= fastest
