"""Dropped connections and timeouts under real servers: gunicorn (production, `make run`) as a
subprocess on the test database (tests/support/live.py), and Django's wsgiref live server
(runserver, tests/browser).

The client must see exactly what a real dropped connection produces: httpx's
RemoteProtocolError "Server disconnected without sending a response", while the write committed.
"""

from __future__ import annotations

import time

import httpx
import pytest
from django.core.servers import basehttp

from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store
from tests.sandbox.test_faults import Target
from tests.support.live import gunicorn_server

pytestmark = pytest.mark.django_db(transaction=True)

DROPPED = "Server disconnected without sending a response"


def _target(flavor: str, base: str, **faults: float) -> Target:
    store, credentials = create_sandbox_store(
        slug=f"real-{flavor}", name="Real server", flavor=flavor
    )
    target = Target(store, credentials, None, base)
    target.set(**faults)
    return target


@pytest.mark.integration
@pytest.mark.parametrize("threads", [1, 4], ids=["sync-worker", "gthread-worker"])
def test_gunicorn_drops_the_connection_after_the_write_commits(tmp_path, threads):
    log = tmp_path / "gunicorn.log"
    # Debug level, to see how gunicorn took the drop; threads=1 is the sync worker.
    debug = {"GUNICORN_CMD_ARGS": "--log-level debug"}
    with gunicorn_server(log, workers=1, threads=threads, extra_env=debug) as url:
        for flavor in (Flavor.WOOCOMMERCE, Flavor.BIGCOMMERCE):
            target = _target(flavor, url, drop_rate=1)
            with target.raw(timeout=10) as client:
                with pytest.raises(httpx.RemoteProtocolError, match=DROPPED):
                    client.post(target.products, json=target.product(f"G-{flavor}"))
                assert target.skus() == [f"G-{flavor}"]  # committed before the drop
                # The server lives on: reads are never dropped, the next connection answers.
                listed = client.get(target.products)
                assert listed.status_code == 200
                assert f"G-{flavor}" in listed.text

    output = log.read_text(errors="replace")
    # gunicorn took the drop for a vanished client: no 500, no traceback.
    assert "Ignoring connection reset" in output
    assert "Traceback" not in output
    assert "Error handling request" not in output


def test_the_live_server_drops_the_connection_after_the_write_commits(live_server):
    assert getattr(basehttp.ServerHandler.run, "_sandbox_faults", False)
    for flavor in (Flavor.WOOCOMMERCE, Flavor.BIGCOMMERCE):
        target = _target(flavor, live_server.url, drop_rate=1)
        with target.raw(timeout=10) as client:
            with pytest.raises(httpx.RemoteProtocolError, match=DROPPED):
                client.post(target.products, json=target.product(f"L-{flavor}"))
            assert target.skus() == [f"L-{flavor}"]
            assert client.get(target.products).status_code == 200


def test_the_live_server_really_hangs_a_timeout_then_answers_504(live_server):
    target = _target(Flavor.BIGCOMMERCE, live_server.url, timeout_rate=1, timeout_hang_ms=800)

    with target.raw(timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post(target.products, json=target.product("LT-1"))

    started = time.monotonic()
    with target.raw(timeout=10) as patient:
        response = patient.post(target.products, json=target.product("LT-2"))
    assert response.status_code == 504
    assert response.json()["title"] == "Gateway Timeout"
    assert time.monotonic() - started >= 0.8
    assert target.skus() == []  # a timed-out request is not performed
