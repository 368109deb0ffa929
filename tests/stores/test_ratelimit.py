"""The store rate limiter without Redis: the local backend on a fake clock, header parsing,
the fallback when Redis fails, and how build_connector wires the limiter in."""

from __future__ import annotations

import logging
import socket
import time
from itertools import pairwise

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.stores.models import Platform
from apps.stores.ratelimit import (
    LOCAL,
    LocalBackend,
    Policy,
    Reading,
    RedisBackend,
    StoreRateLimiter,
    limiter_for,
    store_key,
)
from apps.stores.services import build_connector
from tests.factories import StoreFactory


class FakeClock:
    """Milliseconds that move only when the limiter sleeps."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.ms = start

    def __call__(self) -> float:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += seconds * 1000


def make(policy: Policy, clock: FakeClock, key: str = "k") -> StoreRateLimiter:
    return StoreRateLimiter(key, backend=LocalBackend(clock), policy=policy, sleep=clock.sleep)


def grant_times(limiter: StoreRateLimiter, clock: FakeClock, until_ms: float) -> list[float]:
    """Greedy client: as many grants as the limiter gives before `until_ms`."""
    times = []
    while True:
        limiter.wait()
        if clock.ms >= until_ms:
            return times
        times.append(clock.ms)


def burst(limiter: StoreRateLimiter) -> tuple[int, int]:
    """(grants given at once, then the wait the limiter asks for)."""
    granted = 0
    while (wait := limiter.acquire()) == 0:
        granted += 1
    return granted, wait


def max_in_any_span(times: list[float], span: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - span:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- local backend, fake clock -------------------------------------------------------------


def test_token_bucket_keeps_the_requests_per_second_cap():
    clock = FakeClock()
    limiter = make(Policy(requests_per_second=5), clock)

    times = grant_times(limiter, clock, clock.ms + 10_000)

    # One second's burst, then one every 200 ms.
    assert 50 <= len(times) <= 55
    assert max_in_any_span(times[5:], 1000) <= 5
    assert min(b - a for a, b in pairwise(times[5:])) >= 199.9


def test_quota_window_holds_in_every_window_with_the_margin():
    clock = FakeClock()
    limiter = make(Policy(quota=20, window_ms=1000), clock)

    times = grant_times(limiter, clock, clock.ms + 5000)

    # 20 minus a margin of 1, per window plus a 25 ms guard, wherever a window starts.
    assert max_in_any_span(times, 1000) == 19
    assert len(times) == 5 * 19
    assert times[19] - times[0] == pytest.approx(1025)


def test_cost_above_the_usable_quota_still_gets_through():
    clock = FakeClock()
    limiter = make(Policy(quota=5, window_ms=1000), clock)

    assert limiter.wait(cost=10) == 0


def test_left_zero_blocks_until_the_reset():
    clock = FakeClock()
    limiter = make(Policy(quota=100, window_ms=30_000), clock)

    limiter.observe(Reading(status=200, quota=100, left=0, window_ms=30_000, reset_ms=3000))

    assert limiter.acquire() == 3000
    assert limiter.wait() == pytest.approx(3.0)


def test_a_429_blocks_for_retry_after_before_the_reset_header():
    clock = FakeClock()
    limiter = make(Policy(), clock)
    response = httpx.Response(
        429, headers={"Retry-After": "2", "X-Rate-Limit-Time-Reset-Ms": "5000"}
    )

    limiter.on_response(response)

    assert limiter.acquire() == 2000


def test_a_429_without_any_header_waits_a_second():
    clock = FakeClock()
    limiter = make(Policy(), clock)

    limiter.on_response(httpx.Response(429))

    assert limiter.acquire() == 1000


def test_the_server_quota_wins_over_the_configured_one():
    clock = FakeClock()
    limiter = make(Policy(quota=100, window_ms=1000), clock)
    limiter.observe(Reading(status=200, quota=10, left=9, window_ms=2000, reset_ms=2000))

    # 10 - 1 margin; the next one when the first leaves the window (2000 + 25 ms guard).
    assert burst(limiter) == (9, 2025)


def test_the_server_count_limits_us_within_its_window():
    # Another API client of the same store spent most of the quota: Left says so.
    clock = FakeClock()
    limiter = make(Policy(), clock)
    limiter.observe(Reading(status=200, quota=50, left=3, window_ms=1000, reset_ms=400))

    assert burst(limiter) == (3, 400)


def test_a_late_response_of_an_earlier_server_window_is_ignored():
    clock = FakeClock()
    limiter = make(Policy(), clock)
    limiter.observe(Reading(status=200, quota=50, left=40, window_ms=1000, reset_ms=900))
    clock.ms += 950  # the server's window reset at +900 by its own count
    limiter.observe(Reading(status=200, quota=50, left=49, window_ms=1000, reset_ms=990))
    limiter.observe(Reading(status=200, quota=50, left=1, window_ms=1000, reset_ms=5))

    # Left=1 came from the old window: the new window's Left=49 stands.
    assert burst(limiter) == (49, 1025)


def test_responses_without_rate_headers_cost_nothing():
    calls = []

    class Recorder(LocalBackend):
        def observe(self, *args, **kwargs):
            calls.append(args)

    limiter = StoreRateLimiter("k", backend=Recorder())
    limiter.on_response(httpx.Response(200, headers={"X-WP-Total": "3"}))
    assert calls == []


def test_a_new_generation_starts_a_fresh_budget():
    clock = FakeClock()
    backend = LocalBackend(clock)
    old = StoreRateLimiter("k", backend=backend, generation="a")
    old.observe(Reading(status=429, reset_ms=10_000))
    assert old.acquire() > 0

    fresh = StoreRateLimiter("k", backend=backend, generation="b")
    assert fresh.acquire() == 0


def test_headers_are_read_case_insensitively():
    reading = Reading.from_headers(
        200,
        {
            "x-rate-limit-requests-quota": "450",
            "X-Rate-Limit-Requests-Left": "449",
            "X-RATE-LIMIT-TIME-WINDOW-MS": "30000",
            "X-Rate-Limit-Time-Reset-Ms": "29990",
            "Retry-After": "0.5",
        },
    )
    assert reading == Reading(200, 450, 449, 30_000, 29_990, 500)
    assert Reading.from_headers(200, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == (
        Reading(200)
    )
    assert Reading.from_headers(429, {"Retry-After": "inf", "X-Rate-Limit-Requests-Left": "x"}) == (
        Reading(429)
    )
    assert not Reading(200).informative
    assert Reading(429).informative


# --- Redis failure -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_redis_failure_falls_back_to_the_local_budget_with_one_warning(caplog):
    dead = RedisBackend.from_url(f"redis://127.0.0.1:{_closed_port()}/13", timeout=0.2)
    clock = FakeClock()
    fallback = LocalBackend(clock)
    limiter = StoreRateLimiter("k", backend=dead, fallback=fallback)

    with caplog.at_level(logging.WARNING, logger="apps.stores.ratelimit"):
        started = time.monotonic()
        first = [limiter.acquire() for _ in range(3)]
        limiter.on_response(httpx.Response(429, headers={"Retry-After": "1"}))
        after = limiter.acquire()
        elapsed = time.monotonic() - started

    assert first == [0, 0, 0]
    assert after == 1000  # the 429 blocked the local budget
    assert fallback.acquire("k", "", limiter.policy, 1) == 1000
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis failed" in warnings[0].getMessage()
    assert elapsed < 1.0  # one failed connection, then the cool-down answers at once


def test_without_a_fallback_a_redis_failure_is_raised():
    from apps.stores.ratelimit import BackendUnavailable

    client = redis.Redis(
        port=_closed_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    dead = RedisBackend(client)
    with pytest.raises(BackendUnavailable):
        StoreRateLimiter("k", backend=dead).acquire()


# --- factory and wiring --------------------------------------------------------------------


@pytest.mark.django_db
def test_limiter_for_uses_the_local_budget_without_redis(settings):
    settings.RATE_LIMIT_BACKEND = "auto"
    settings.RATE_LIMIT_REDIS_URL = ""
    settings.REDIS_URL = ""
    store = StoreFactory(requests_per_second=2.5)

    limiter = limiter_for(store)

    assert limiter.backend is LOCAL
    assert limiter.fallback is None
    assert limiter.key == store_key(store.pk) == f"migrator:rl:store:{store.pk}"
    assert limiter.policy.requests_per_second == 2.5


@pytest.mark.django_db
def test_limiter_for_shares_through_redis_with_a_local_fallback(settings):
    settings.RATE_LIMIT_BACKEND = "auto"
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:6379/13"
    store = StoreFactory()

    limiter = limiter_for(store)

    assert isinstance(limiter.backend, RedisBackend)
    assert limiter.fallback is LOCAL
    settings.RATE_LIMIT_BACKEND = "local"
    assert limiter_for(store).backend is LOCAL


@pytest.mark.django_db
def test_a_store_moved_elsewhere_gets_a_fresh_budget():
    store = StoreFactory()
    before = limiter_for(store).generation
    store.base_url = "https://elsewhere.example.com"
    assert limiter_for(store).generation != before


def test_an_unsaved_store_has_no_limiter():
    with pytest.raises(ValueError, match="saved"):
        limiter_for(StoreFactory.build())


@pytest.mark.django_db
def test_build_connector_puts_requests_under_the_limiter_and_chains_the_callers_hooks(
    settings,
):
    settings.RATE_LIMIT_BACKEND = "local"
    store = StoreFactory(platform=Platform.BIGCOMMERCE, base_url="https://api.example.com")
    seen: list[int] = []
    before: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429 if not seen else 200,
            json={"data": [], "meta": {"pagination": {"total": 0}}},
            headers={"X-Rate-Limit-Time-Reset-Ms": "200", "X-Rate-Limit-Requests-Left": "5"},
        )

    connector = build_connector(
        store,
        transport=httpx.MockTransport(handler),
        on_response=lambda r: seen.append(r.status_code),
        before_request=lambda: before.append(True),
        sleep=lambda s: None,
    )
    started = time.monotonic()
    assert connector.count("products") == 0
    elapsed = time.monotonic() - started

    assert seen == [429, 200]
    assert before == [True, True]
    # The 429 blocked the store's budget: the retry waited in the limiter, not in the client.
    assert 0.15 <= elapsed < 1.0
    assert connector.last_rate_limit["left"] == 5


def test_the_learned_quota_is_known_for_an_eta():
    clock = FakeClock()
    limiter = make(Policy(), clock)
    assert limiter.known_quota() is None
    limiter.observe(
        Reading.from_headers(
            200,
            {
                "X-Rate-Limit-Requests-Quota": "150",
                "X-Rate-Limit-Requests-Left": "149",
                "X-Rate-Limit-Time-Window-Ms": "30000",
                "X-Rate-Limit-Time-Reset-Ms": "29000",
            },
        )
    )
    assert limiter.known_quota() == (150, 30000.0)
