"""Micro-benchmark of the store rate limiter against a simulated BigCommerce quota.

A fixed-window server (quota per window, the window opening at the first request after the
last one ended, as the sandbox and BigCommerce do) is played in-process; N workers, each with
its own Redis connection as a worker process would have, send requests through one
StoreRateLimiter key with a random network delay each way. The server's windows and ours are
never aligned. Prints JSON: useful requests per window over the quota (efficiency) and the
fraction of requests answered 429.

    .venv/bin/python bench/quota_limiter.py --workers 8 --quota 20 --window-ms 500
    .venv/bin/python bench/quota_limiter.py --backend local --jitter-ms 20
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from apps.stores.ratelimit import (
    LocalBackend,
    Policy,
    RedisBackend,
    StoreRateLimiter,
)


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]


class FixedWindowServer:
    def __init__(self, quota: int, window_ms: int) -> None:
        self.quota = quota
        self.window_ms = window_ms
        self.lock = threading.Lock()
        self.started = -1e18
        self.used = 0
        self.arrivals: list[tuple[float, bool]] = []

    def handle(self) -> Answer:
        with self.lock:
            now = time.monotonic() * 1000
            if now - self.started >= self.window_ms:
                self.started, self.used = now, 0
            allowed = self.used < self.quota
            if allowed:
                self.used += 1
            self.arrivals.append((now, allowed))
            reset = max(0, round(self.started + self.window_ms - now))
            headers = {
                "X-Rate-Limit-Requests-Quota": str(self.quota),
                "X-Rate-Limit-Requests-Left": str(self.quota - self.used),
                "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
                "X-Rate-Limit-Time-Reset-Ms": str(reset),
            }
            return Answer(200 if allowed else 429, headers)


def run(args: argparse.Namespace) -> dict:
    server = FixedWindowServer(args.quota, args.window_ms)
    key = f"bench:rl:{uuid.uuid4().hex}"
    local = LocalBackend()
    clients: list[redis.Redis] = []
    deadline = time.monotonic() + args.windows * args.window_ms / 1000

    policy = Policy(
        min_margin=args.min_margin,
        margin_fraction=args.margin_fraction,
        guard_min_ms=args.guard_min_ms,
    )

    def make_limiter() -> StoreRateLimiter:
        if args.backend == "local":
            return StoreRateLimiter(key, backend=local, policy=policy)
        client = redis.Redis.from_url(args.redis_url)
        clients.append(client)
        return StoreRateLimiter(key, backend=RedisBackend(client), policy=policy)

    def delay(extra_ms: float = 0.0) -> None:
        time.sleep((args.latency_ms + random.uniform(0, args.jitter_ms) + extra_ms) / 1000)

    def worker(limiter: StoreRateLimiter) -> None:
        # A worker's first request also pays for its connection (TLS handshake, imports).
        cold = random.uniform(0, args.cold_ms)
        while time.monotonic() < deadline:
            limiter.before_request()
            delay(cold)
            cold = 0.0
            answer = server.handle()
            delay()
            limiter.on_response(answer)
            if answer.status_code == 429:  # as HttpClient: wait the reset, then again
                time.sleep(int(answer.headers["X-Rate-Limit-Time-Reset-Ms"]) / 1000)

    limiters = [make_limiter() for _ in range(args.workers)]
    threads = [threading.Thread(target=worker, args=(lim,)) for lim in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if clients:
        clients[0].delete(key, f"{key}:log")

    first = server.arrivals[0][0]
    span_end = first + args.windows * args.window_ms
    inside = [ok for at, ok in server.arrivals if at < span_end]
    useful = sum(inside)
    refused = len(server.arrivals) - sum(ok for _, ok in server.arrivals)
    return {
        "backend": args.backend,
        "workers": args.workers,
        "quota": args.quota,
        "window_ms": args.window_ms,
        "windows": args.windows,
        "latency_ms": args.latency_ms,
        "jitter_ms": args.jitter_ms,
        "cold_ms": args.cold_ms,
        "min_margin": args.min_margin,
        "margin_fraction": args.margin_fraction,
        "guard_min_ms": args.guard_min_ms,
        "requests": len(server.arrivals),
        "useful_in_span": useful,
        "efficiency": round(useful / (args.windows * args.quota), 4),
        "rate_limited": refused,
        "rate_limited_fraction": round(refused / max(1, len(server.arrivals)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["redis", "local"], default="redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--quota", type=int, default=20)
    parser.add_argument("--window-ms", type=int, default=500)
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--jitter-ms", type=float, default=5.0)
    parser.add_argument("--cold-ms", type=float, default=0.0)
    defaults = Policy()
    parser.add_argument("--min-margin", type=int, default=defaults.min_margin)
    parser.add_argument("--margin-fraction", type=float, default=defaults.margin_fraction)
    parser.add_argument("--guard-min-ms", type=float, default=defaults.guard_min_ms)
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
