"""One request budget per target store, shared by every worker (DESIGN.md invariant 4).

A platform such as BigCommerce gives each store a quota of requests per time window and
answers 429 once it is spent. Several Celery worker processes write to one target, so each
process pacing itself is not enough: they share one budget, kept in Redis and changed only
inside one Lua script (atomic, on Redis' own clock — never the workers', which may disagree).

The budget is the tightest of four limits, all checked before anything is spent:

1. **Blocked until** — after a 429, or a response saying `Left: 0`, nobody sends until the
   server's reset (Retry-After or X-Rate-Limit-Time-Reset-Ms). One worker's 429 pauses all.
2. **Sliding log** — the grant times of the last window. A request is granted only if fewer
   than `quota - margin` were granted in the last `window + guard` ms. Whatever the server's
   window alignment (we never learn where its windows start), no `window`-long stretch then
   holds more than the usable quota, so this is the limit that keeps 429s away. The margin
   (1% of the quota, at least 1 request) and the guard (1% of the window, 25 to 100 ms) absorb
   jitter in when requests reach the server and requests still in flight across its reset.
3. **The server's own count** — `Left` and `Reset` of each response: within the server's
   current window we never grant more than it says is left (minus what we granted since).
   This is what follows other API clients of the same store, which our log cannot see. It
   cannot see our requests still on their way either (up to one per worker): it is the second
   line, the log the first.
4. **Client-side cap** — `Store.requests_per_second` (> 0) as a token bucket of one second's
   burst, shared like the rest.

Quota and window are learned from X-Rate-Limit-Requests-Quota / -Time-Window-Ms (the server
wins over the configured prior, lower or higher). Before the first response a store has no
known quota: limits 1 and 4 apply, and grants are logged; when the first quota arrives they
are re-dated to that moment, because requests on cold connections may reach the server only
then (measured: without this, 2 to 3 429s in the first window of the sandbox test).

Measured (bench/quota_limiter.py: 8 to 16 workers, fixed server windows opened by the first
request, never aligned with ours; 5 to 55 ms of random delay each way): useful requests per
window = quota - margin (95% of 20, 98.7% of 150, 98.9% of 450) and no 429. Under a jitter
of 5 to 205 ms each way on a 500 ms window: 85 to 89%, and 0 to 0.7% 429s over runs (up to
1.4% with no margin).

`acquire()` either grants (0) or returns the milliseconds to wait; the caller sleeps and asks
again. `observe()` feeds a response's headers in. `StoreRateLimiter.before_request` and
`.on_response` plug into HttpClient's hooks.

Backends: `RedisBackend` (shared) and `LocalBackend` (one process, a lock, an injectable
clock). The embedded default has no Redis (REDIS_URL empty): then each worker *process* has
its own budget, so N processes may together send up to N times the quota; the server's
429 -> wait keeps that correct, only slower. When Redis fails during a request the limiter
logs a warning and uses the process' local budget for that call (and for a short cool-down),
so a Redis outage never fails a migration.

Plain Python: Django settings are read only in `limiter_for(store)`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

KEY_PREFIX = "migrator:rl:store:"
# Past this quota the log would only cost memory: the sandbox's "unlimited" (1,000,000) and
# stores without a known quota keep at most this many grant times.
LOG_LIMIT = 10_000
# A bad Retry-After must not park every worker for hours.
MAX_BLOCK_MS = 600_000
# Learned quota and window outlive idle spells between batches, not forever.
STATE_TTL_MS = 6 * 3600 * 1000
# After a Redis failure, how long calls go straight to the local budget before Redis is tried.
REDIS_COOLDOWN_S = 2.0
# One warning per outage and then at most this often, not one per request.
WARNING_INTERVAL_S = 60.0


def store_key(store_id: Any) -> str:
    return f"{KEY_PREFIX}{store_id}"


@dataclass(frozen=True)
class Policy:
    """The configured prior and the safety margins (see the module docstring)."""

    quota: int = 0  # requests per window before the server says; 0 = unknown
    window_ms: int = 30_000
    requests_per_second: float = 0.0  # client-side cap; 0 = none
    margin_fraction: float = 0.01
    min_margin: int = 1
    guard_fraction: float = 0.01
    guard_min_ms: float = 25.0
    guard_max_ms: float = 100.0

    def usable(self, quota: int) -> int:
        margin = max(self.min_margin, math.ceil(quota * self.margin_fraction))
        return max(1, quota - margin)

    def guard(self, window_ms: float) -> float:
        return min(self.guard_max_ms, max(self.guard_min_ms, window_ms * self.guard_fraction))


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):  # a garbled header is no header
        return None


@dataclass(frozen=True)
class Reading:
    """What one response says about the budget; None where a header is absent."""

    status: int
    quota: int | None = None
    left: int | None = None
    window_ms: int | None = None
    reset_ms: int | None = None
    retry_after_ms: int | None = None

    @classmethod
    def from_headers(cls, status: int, headers: Mapping[str, str]) -> Reading:
        lowered = {str(k).lower(): v for k, v in headers.items()}
        retry_after = lowered.get("retry-after")
        retry_ms = None
        if retry_after is not None:
            try:  # seconds; an HTTP date is rare enough to fall back on the reset header
                retry_ms = max(0, math.ceil(float(retry_after) * 1000))
            except (ValueError, OverflowError):
                retry_ms = None
        return cls(
            status=status,
            quota=_int(lowered.get("x-rate-limit-requests-quota")),
            left=_int(lowered.get("x-rate-limit-requests-left")),
            window_ms=_int(lowered.get("x-rate-limit-time-window-ms")),
            reset_ms=_int(lowered.get("x-rate-limit-time-reset-ms")),
            retry_after_ms=retry_ms,
        )

    @property
    def informative(self) -> bool:
        return self.status == 429 or any(
            v is not None for v in (self.quota, self.left, self.window_ms, self.reset_ms)
        )


class BackendUnavailable(Exception):
    """The shared store cannot be reached; the caller falls back to a local budget."""


class Backend(Protocol):
    def acquire(self, key: str, generation: str, policy: Policy, cost: int) -> int:
        """0 when granted (and spent), else the milliseconds to wait before asking again."""
        ...

    def known(self, key: str, generation: str) -> tuple[int, float] | None:
        """The quota and window (ms) learned for this key, if any."""
        ...

    def observe(self, key: str, generation: str, policy: Policy, reading: Reading) -> None:
        """Learn from one response's headers."""
        ...


# --- Redis ---------------------------------------------------------------------------------

# KEYS[1]: state hash, KEYS[2]: grant log (sorted set, score = grant time in ms).
# The Python LocalBackend below is the same algorithm line for line; change both together.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local op = ARGV[1]
local gen = ARGV[2]
local cfg_quota = tonumber(ARGV[3])
local cfg_window = tonumber(ARGV[4])
local rps = tonumber(ARGV[5])
local margin_fraction = tonumber(ARGV[6])
local min_margin = tonumber(ARGV[7])
local guard_fraction = tonumber(ARGV[8])
local guard_min = tonumber(ARGV[9])
local guard_max = tonumber(ARGV[10])
local log_limit = tonumber(ARGV[11])
local max_block = tonumber(ARGV[12])
local state_ttl = tonumber(ARGV[13])

-- A store id reused (tests roll back ids) or repointed must not inherit a stranger's budget.
if redis.call('HGET', KEYS[1], 'gen') ~= gen then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'gen', gen)
end
local s = redis.call('HMGET', KEYS[1], 'q', 'w', 'block', 'sreset', 'sleft', 'tokens', 'tts')
local quota = tonumber(s[1]) or cfg_quota
local window = tonumber(s[2]) or cfg_window
local block = tonumber(s[3]) or 0
local sreset = tonumber(s[4]) or 0
local sleft = tonumber(s[5])
redis.call('PEXPIRE', KEYS[1], state_ttl)

if op == 'observe' then
  local status = tonumber(ARGV[14])
  local hq = tonumber(ARGV[15])
  local hleft = tonumber(ARGV[16])
  local hw = tonumber(ARGV[17])
  local hreset = tonumber(ARGV[18])
  local hretry = tonumber(ARGV[19])
  if hq >= 0 then
    if not tonumber(s[1]) then
      -- The first quota learned: grants made before it may reach the server only now (cold
      -- connections), so they count from now; the server's window began no later than now.
      for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
        redis.call('ZADD', KEYS[2], now, m)
      end
    end
    redis.call('HSET', KEYS[1], 'q', hq)
  end
  if hw > 0 then
    window = hw
    redis.call('HSET', KEYS[1], 'w', hw)
  end
  local pause = -1
  if status == 429 then
    if hretry >= 0 then pause = hretry elseif hreset >= 0 then pause = hreset else pause = 1000 end
  elseif hleft == 0 and hreset >= 0 then
    pause = hreset
  end
  if pause >= 0 then
    local untl = now + math.min(pause, max_block)
    if untl > block then redis.call('HSET', KEYS[1], 'block', untl) end
  end
  if status ~= 429 and hleft >= 0 and hreset >= 0 then
    local at = now + hreset
    if sreset <= now or at > sreset + window / 2 then
      redis.call('HSET', KEYS[1], 'sreset', at, 'sleft', hleft)
    elseif at >= sreset - window / 2 then
      redis.call('HSET', KEYS[1], 'sreset', math.min(sreset, at),
        'sleft', math.min(sleft or hleft, hleft))
    end
  end
  return 0
end

local cost = tonumber(ARGV[14])
local wait = 0
if block > now then wait = block - now end
if sleft and sreset > now and sleft < cost then wait = math.max(wait, sreset - now) end
local guard = math.min(guard_max, math.max(guard_min, window * guard_fraction))
local span = window + guard
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - span)
local log_on = quota <= log_limit
if quota > 0 and log_on then
  local usable = math.max(1, quota - math.max(min_margin, math.ceil(quota * margin_fraction)))
  local c = math.min(cost, usable)
  local n = redis.call('ZCARD', KEYS[2])
  if n + c > usable then
    local i = n + c - usable - 1
    local oldest = redis.call('ZRANGE', KEYS[2], i, i, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + span - now)
  end
end
local tokens = 0
if rps > 0 then
  local cap = math.max(1, rps)
  local last = tonumber(s[7]) or now
  tokens = math.min(cap, (tonumber(s[6]) or cap) + math.max(0, now - last) * rps / 1000)
  local c = math.min(cost, cap)
  if tokens < c then wait = math.max(wait, (c - tokens) * 1000 / rps) end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end

if rps > 0 then redis.call('HSET', KEYS[1], 'tokens', tokens - cost, 'tts', now) end
if log_on then
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', cost)
  for k = 1, cost do redis.call('ZADD', KEYS[2], now, seq - k) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -log_limit - 1)
  redis.call('PEXPIRE', KEYS[2], math.ceil(span) + 1000)
end
if sleft and sreset > now then redis.call('HSET', KEYS[1], 'sleft', sleft - cost) end
return 0
"""


def _policy_args(generation: str, policy: Policy) -> list[Any]:
    return [
        generation,
        policy.quota,
        policy.window_ms,
        policy.requests_per_second,
        policy.margin_fraction,
        policy.min_margin,
        policy.guard_fraction,
        policy.guard_min_ms,
        policy.guard_max_ms,
        LOG_LIMIT,
        MAX_BLOCK_MS,
        STATE_TTL_MS,
    ]


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


class RedisBackend:
    """The shared budget. After a failure, calls fail fast for `cooldown` seconds, so an
    outage costs one timeout per cool-down, not one per request."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        cooldown: float = REDIS_COOLDOWN_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.cooldown = cooldown
        self._monotonic = monotonic
        self._script = client.register_script(_LUA)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._failing = False
        self._warned_at = -math.inf

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.5) -> RedisBackend:
        # Short timeouts and one quick retry (a connection dropped by a Redis restart):
        # a limiter that waits seconds for Redis is worse than a local budget.
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client)

    def _run(self, key: str, args: list[Any]) -> int:
        if self._monotonic() < self._down_until:
            raise BackendUnavailable("Redis is cooling down after a failure")
        try:
            result = self._script(keys=[key, f"{key}:log"], args=args)
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                now = self._monotonic()
                self._down_until = now + self.cooldown
                self._failing = True
                warn = now - self._warned_at >= WARNING_INTERVAL_S
                if warn:
                    self._warned_at = now
            if warn:
                logger.warning(
                    "Rate limiter: Redis failed (%s: %s); each worker process uses its own "
                    "budget until Redis answers again.",
                    type(exc).__name__,
                    exc,
                )
            raise BackendUnavailable(str(exc)) from exc
        if self._failing:
            self._failing = False
            logger.info("Rate limiter: Redis answers again; the store budgets are shared.")
        return int(result)

    def acquire(self, key: str, generation: str, policy: Policy, cost: int) -> int:
        return self._run(key, ["acquire", *_policy_args(generation, policy), cost])

    def known(self, key: str, generation: str) -> tuple[int, float] | None:
        try:
            gen, quota, window = self.client.hmget(key, "gen", "q", "w")
        except redis.RedisError:
            return None
        if gen is None or gen.decode() != generation or not quota or not window:
            return None
        return int(float(quota)), float(window)

    def observe(self, key: str, generation: str, policy: Policy, reading: Reading) -> None:
        self._run(
            key,
            [
                "observe",
                *_policy_args(generation, policy),
                reading.status,
                _or_minus_one(reading.quota),
                _or_minus_one(reading.left),
                _or_minus_one(reading.window_ms),
                _or_minus_one(reading.reset_ms),
                _or_minus_one(reading.retry_after_ms),
            ],
        )


# --- Local ---------------------------------------------------------------------------------


def _monotonic_ms() -> float:
    return time.monotonic() * 1000


@dataclass
class _State:
    generation: str
    quota: int | None = None
    window_ms: float | None = None
    block_until: float = 0.0
    server_reset_at: float = 0.0
    server_left: float | None = None
    tokens: float | None = None
    tokens_at: float | None = None
    grants: deque[float] = field(default_factory=deque)


class LocalBackend:
    """The same budget for the threads of one process (the embedded default, and the
    fallback when Redis fails). `clock` returns milliseconds; tests pass a fake one."""

    def __init__(self, clock: Callable[[], float] = _monotonic_ms) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def _state(self, key: str, generation: str) -> _State:
        state = self._states.get(key)
        if state is None or state.generation != generation:
            state = self._states[key] = _State(generation)
        return state

    def acquire(self, key: str, generation: str, policy: Policy, cost: int) -> int:
        with self._lock:
            now = self.clock()
            s = self._state(key, generation)
            quota = s.quota if s.quota is not None else policy.quota
            window = s.window_ms if s.window_ms is not None else policy.window_ms
            wait = max(0.0, s.block_until - now)
            if s.server_left is not None and s.server_reset_at > now and s.server_left < cost:
                wait = max(wait, s.server_reset_at - now)
            span = window + policy.guard(window)
            while s.grants and s.grants[0] <= now - span:
                s.grants.popleft()
            log_on = quota <= LOG_LIMIT
            if quota > 0 and log_on:
                usable = policy.usable(quota)
                c = min(cost, usable)
                n = len(s.grants)
                if n + c > usable:
                    wait = max(wait, s.grants[n + c - usable - 1] + span - now)
            rps = policy.requests_per_second
            tokens = 0.0
            if rps > 0:
                cap = max(1.0, rps)
                last = s.tokens_at if s.tokens_at is not None else now
                start = s.tokens if s.tokens is not None else cap
                tokens = min(cap, start + max(0.0, now - last) * rps / 1000)
                c_rps = min(cost, cap)
                if tokens < c_rps:
                    wait = max(wait, (c_rps - tokens) * 1000 / rps)
            if wait > 0:
                return max(1, math.ceil(wait))
            if rps > 0:
                s.tokens, s.tokens_at = tokens - cost, now
            if log_on:
                s.grants.extend([now] * cost)
                while len(s.grants) > LOG_LIMIT:
                    s.grants.popleft()
            if s.server_left is not None and s.server_reset_at > now:
                s.server_left -= cost
            return 0

    def known(self, key: str, generation: str) -> tuple[int, float] | None:
        with self._lock:
            state = self._states.get(key)
            if state is None or state.generation != generation:
                return None
            if not state.quota or not state.window_ms:
                return None
            return state.quota, float(state.window_ms)

    def observe(self, key: str, generation: str, policy: Policy, reading: Reading) -> None:
        with self._lock:
            now = self.clock()
            s = self._state(key, generation)
            if reading.quota is not None:
                if s.quota is None:
                    # As in the script: grants made before the quota was known count from now.
                    s.grants = deque([now] * len(s.grants))
                s.quota = reading.quota
            if reading.window_ms:
                s.window_ms = reading.window_ms
            window = s.window_ms if s.window_ms is not None else policy.window_ms
            pause: float | None = None
            if reading.status == 429:
                pause = next(
                    (v for v in (reading.retry_after_ms, reading.reset_ms) if v is not None), 1000
                )
            elif reading.left == 0 and reading.reset_ms is not None:
                pause = reading.reset_ms
            if pause is not None:
                s.block_until = max(s.block_until, now + min(pause, MAX_BLOCK_MS))
            if reading.status != 429 and reading.left is not None and reading.reset_ms is not None:
                at = now + reading.reset_ms
                left = reading.left
                if s.server_reset_at <= now or at > s.server_reset_at + window / 2:
                    # A new server window: its count replaces ours.
                    s.server_reset_at, s.server_left = at, left
                elif at >= s.server_reset_at - window / 2:
                    # Same window: the lowest count and the earliest reset are the freshest.
                    s.server_reset_at = min(s.server_reset_at, at)
                    known = s.server_left if s.server_left is not None else left
                    s.server_left = min(known, left)
                # else: a late response from an earlier window says nothing about this one.


# The process-wide local budget: the embedded default's, and the fallback behind Redis.
LOCAL = LocalBackend()


# --- The limiter the HTTP client uses ------------------------------------------------------


class StoreRateLimiter:
    """One store's budget, as HttpClient hooks: `before_request` waits for a grant,
    `on_response` feeds the headers back. Safe to share between threads."""

    def __init__(
        self,
        key: str,
        *,
        backend: Backend,
        policy: Policy | None = None,
        generation: str = "",
        fallback: Backend | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.backend = backend
        self.policy = policy or Policy()
        self.generation = generation
        self.fallback = fallback
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"<StoreRateLimiter {self.key} via {type(self.backend).__name__}>"

    def acquire(self, cost: int = 1) -> int:
        """0 when granted, else the milliseconds to wait before asking again."""
        try:
            return self.backend.acquire(self.key, self.generation, self.policy, cost)
        except BackendUnavailable:
            if self.fallback is None:
                raise
            return self.fallback.acquire(self.key, self.generation, self.policy, cost)

    def observe(self, reading: Reading) -> None:
        try:
            self.backend.observe(self.key, self.generation, self.policy, reading)
        except BackendUnavailable:
            if self.fallback is None:
                raise
            self.fallback.observe(self.key, self.generation, self.policy, reading)

    def known_quota(self) -> tuple[int, float] | None:
        """(requests, window in ms) as learned from the target's headers, or None."""
        try:
            return self.backend.known(self.key, self.generation)
        except BackendUnavailable:
            return None

    def wait(self, cost: int = 1) -> float:
        """Block until granted; the seconds waited."""
        waited = 0.0
        while (wait_ms := self.acquire(cost)) > 0:
            self.sleep(wait_ms / 1000)
            waited += wait_ms / 1000
        return waited

    def before_request(self) -> None:
        self.wait()

    def on_response(self, response: Any) -> None:
        reading = Reading.from_headers(response.status_code, response.headers)
        # Platforms without rate headers (WooCommerce) cost no round trip, unless a 429.
        if reading.informative:
            self.observe(reading)


def _generation(store: Any) -> str:
    created = getattr(store, "created_at", None)
    text = f"{store.pk}|{created.isoformat() if created else ''}|{store.base_url}"
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


_redis_backends: dict[str, RedisBackend] = {}
_redis_lock = threading.Lock()


def _redis_backend(url: str) -> RedisBackend:
    with _redis_lock:
        backend = _redis_backends.get(url)
        if backend is None:
            backend = _redis_backends[url] = RedisBackend.from_url(url)
        return backend


def limiter_for(store: Any, *, sleep: Callable[[float], None] = time.sleep) -> StoreRateLimiter:
    """The limiter for a saved Store: shared through Redis when there is one (settings
    RATE_LIMIT_BACKEND auto|redis|local, RATE_LIMIT_REDIS_URL), else this process' own."""
    from django.conf import settings

    if store.pk is None:
        raise ValueError("A store must be saved before it has a rate limiter.")
    choice = getattr(settings, "RATE_LIMIT_BACKEND", "auto")
    url = getattr(settings, "RATE_LIMIT_REDIS_URL", "") or getattr(settings, "REDIS_URL", "")
    policy = Policy(requests_per_second=float(store.requests_per_second or 0))
    common: dict[str, Any] = {
        "policy": policy,
        "generation": _generation(store),
        "sleep": sleep,
    }
    if choice == "local" or not url:
        return StoreRateLimiter(store_key(store.pk), backend=LOCAL, **common)
    return StoreRateLimiter(
        store_key(store.pk), backend=_redis_backend(url), fallback=LOCAL, **common
    )
