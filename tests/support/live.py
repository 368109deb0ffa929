"""Real processes for tests that need them — Celery workers, beat, gunicorn — sharing the
test database and broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import redis
from django.conf import settings
from django.db import connection

from apps.runs.models import Run
from migrator.celery import app as celery_app


def database_url() -> str:
    """The URL of the database this test is using (the test database, not the dev one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "migrator.settings_test",
        "MIGRATOR_ENV": "test",
        "DATABASE_URL": database_url(),
        "MIGRATOR_VAR_DIR": str(settings.VAR_DIR),
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)  # the caller's word wins (the chaos test's private Redis)
    return env


class RedisServer:
    """A private `redis-server` (nothing on disk) on a free port, for a test that restarts it
    without touching the machine's shared Redis."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", str(self.log_path.parent)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(
                        f"redis-server did not start:\n{self.log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.05)
            finally:
                client.close()

    def kill(self) -> None:
        """SIGKILL: every message it held (queued and unacked) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def redis_server(log_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Publish from this process to another broker (the workers get it through process_env);
    the connection and producer pools are dropped on the way in and out."""
    conf = celery_app.conf
    previous = conf.broker_url

    def drop_pools() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url = url
    drop_pools()
    try:
        yield
    finally:
        conf.broker_url = previous
        drop_pools()


def purge_broker() -> None:
    """Drop messages an earlier test run left behind (their ids may match new rows)."""
    celery_app.control.purge()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_worker(
    log_path: Path, *, name: str, concurrency: int = 2, pool: str = "prefork", env: dict
) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the worker owns it for its lifetime
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "migrator",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"{name}@%h",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=settings.BASE_DIR,
    )


@contextmanager
def celery_worker(
    log_path: Path, concurrency: int = 2, extra_env: dict | None = None
) -> Iterator[subprocess.Popen]:
    purge_broker()
    worker = start_worker(
        log_path,
        name=f"test-{os.getpid()}",
        concurrency=concurrency,
        env=process_env(**(extra_env or {})),
    )
    try:
        yield worker
    finally:
        _stop(worker)


@contextmanager
def celery_beat(log_path: Path, extra_env: dict | None = None) -> Iterator[subprocess.Popen]:
    with open(log_path, "ab") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "migrator",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(log_path.with_suffix(".schedule")),
            ],
            env=process_env(**(extra_env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        try:
            yield beat
        finally:
            _stop(beat)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn_server(
    log_path: Path, *, workers: int = 2, threads: int = 4, extra_env: dict | None = None
) -> Iterator[str]:
    """This project's WSGI app under gunicorn, as in production; yields its base URL."""
    port = free_port()
    url = f"http://localhost:{port}"
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "migrator.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "120",
                "--access-logfile",
                "-",
            ],
            env=process_env(MIGRATOR_PUBLIC_URL=url, **(extra_env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )
        try:
            deadline = time.monotonic() + 90  # a busy 2-core machine boots workers slowly
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError(
                            f"gunicorn did not start:\n{log_path.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.2)
            yield url
        finally:
            _stop(server)


def wait_for_run_end(run_id: int, timeout: float, log_path: Path | None = None) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        if not run.is_live:
            return run
        time.sleep(0.5)
    tail = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    raise AssertionError(f"run {run_id} still {run.status} after {timeout}s; worker log:\n{tail}")
