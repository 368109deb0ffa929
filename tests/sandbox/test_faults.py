"""Fault injection on both sandbox flavors, through the in-process transport (`sandbox_http`):
real HTTP requests and responses, the real middleware and WSGI wrapper, no socket."""

from __future__ import annotations

import base64
import errno
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.test import Client

from apps.sandbox import faults, wsgi
from apps.sandbox.faults import Faults, decide
from apps.sandbox.models import Flavor, SandboxObject, SandboxStore
from apps.sandbox.services import create_sandbox_store
from apps.stores.connectors.base import TransientError
from apps.stores.connectors.http import HttpClient

SERVER = "http://testserver"


@dataclass
class Target:
    """One sandbox store and what a client needs to talk to it."""

    store: SandboxStore
    credentials: dict[str, str]
    transport: httpx.BaseTransport | None  # None: a real server at `base`
    base: str = SERVER

    @property
    def flavor(self) -> str:
        return self.store.flavor

    @property
    def prefix(self) -> str:
        if self.flavor == Flavor.WOOCOMMERCE:
            return f"/sandbox/{self.store.slug}/wp-json/wc/v3/"
        return f"/sandbox/{self.store.slug}/stores/{self.credentials['store_hash']}/v3/"

    @property
    def products(self) -> str:
        return "products" if self.flavor == Flavor.WOOCOMMERCE else "catalog/products"

    def product(self, sku: str) -> dict[str, Any]:
        if self.flavor == Flavor.WOOCOMMERCE:
            return {"name": f"Mug {sku}", "sku": sku, "regular_price": "12.50"}
        return {"name": f"Mug {sku}", "type": "physical", "sku": sku, "weight": 1, "price": 12.5}

    def _auth(self) -> dict[str, Any]:
        if self.flavor == Flavor.WOOCOMMERCE:
            return {"auth": (self.credentials["consumer_key"], self.credentials["consumer_secret"])}
        return {"headers": {"X-Auth-Token": self.credentials["access_token"]}}

    def raw(self, **options: Any) -> httpx.Client:
        """A plain httpx client: sees exactly what the transport produced."""
        return httpx.Client(
            transport=self.transport, base_url=self.base + self.prefix, **self._auth(), **options
        )

    def http(self, sleeps: list[float], max_attempts: int = 3) -> HttpClient:
        """The connectors' client, with its retries, and backoff recorded instead of slept."""
        return HttpClient(
            self.base + self.prefix,
            transport=self.transport,
            max_attempts=max_attempts,
            sleep=sleeps.append,
            **self._auth(),
        )

    def set(self, **fields: Any) -> None:
        SandboxStore.objects.filter(pk=self.store.pk).update(**fields)

    def skus(self) -> list[str]:
        return list(
            SandboxObject.objects.filter(store=self.store, resource="product").values_list(
                "sku", flat=True
            )
        )

    def draws(self) -> int:
        return SandboxStore.objects.values_list("fault_draws", flat=True).get(pk=self.store.pk)


@pytest.fixture(params=[Flavor.WOOCOMMERCE, Flavor.BIGCOMMERCE])
def target(request, sandbox_http) -> Target:
    store, credentials = create_sandbox_store(
        slug=f"faulty-{request.param}", name="Faulty", flavor=request.param
    )
    return Target(store, credentials, sandbox_http)


# --- the pure decision -------------------------------------------------------------------------


def _fates(seed: int, count: int = 200, **rates: float) -> list[tuple[str | None, int]]:
    settings = Faults(pk=1, flavor=Flavor.WOOCOMMERCE, fault_seed=seed, **rates)
    return [(d.fault, d.status) for d in (decide(settings, n, write=True) for n in range(1, count))]


def test_a_seed_replays_the_same_faults_and_another_seed_does_not():
    rates = {"error_rate": 0.3, "timeout_rate": 0.2, "drop_rate": 0.2}
    assert _fates(7, **rates) == _fates(7, **rates)
    assert _fates(7, **rates) != _fates(8, **rates)


def test_rates_are_the_share_of_requests_in_order_error_timeout_drop():
    fates = Counter(
        fault for fault, _ in _fates(1, 20_000, error_rate=0.3, timeout_rate=0.5, drop_rate=1)
    )
    assert 0.28 < fates["error"] / 20_000 < 0.32
    # Timeouts take half of what errors leave; drops take all the rest (writes only).
    assert 0.33 < fates["timeout"] / 20_000 < 0.37
    assert fates["timeout"] + fates["drop"] + fates["error"] == 20_000 - 1


def test_errors_are_500_502_or_503_and_reads_are_never_dropped():
    settings = Faults(pk=1, flavor=Flavor.WOOCOMMERCE, error_rate=1)
    assert {decide(settings, n, write=False).status for n in range(300)} == {500, 502, 503}
    only_drops = Faults(pk=1, flavor=Flavor.WOOCOMMERCE, drop_rate=1)
    assert all(decide(only_drops, n, write=False).fault is None for n in range(300))


def test_raising_one_rate_does_not_reshuffle_the_others():
    # Each request always takes the same four draws: more timeouts never moves an error.
    low = _fates(3, error_rate=0.2, timeout_rate=0.1)
    high = _fates(3, error_rate=0.2, timeout_rate=0.6)
    assert [f for f in low if f[0] == "error"] == [f for f in high if f[0] == "error"]
    assert [i for i, f in enumerate(low) if f[0] == "error"] == [
        i for i, f in enumerate(high) if f[0] == "error"
    ]


# --- error_rate --------------------------------------------------------------------------------


def test_error_rate_1_is_retried_then_fails_and_writes_nothing(target):
    target.set(error_rate=1)
    sleeps: list[float] = []

    with pytest.raises(TransientError) as caught:
        target.http(sleeps, max_attempts=3).request(
            "POST", target.products, json=target.product("E-1")
        )

    assert caught.value.status in {500, 502, 503}
    assert "after 3 attempts" in str(caught.value)
    assert len(sleeps) == 2  # backed off between the three attempts
    assert target.skus() == []
    assert target.draws() == 3


def test_injected_errors_speak_the_platform_error_shape(target):
    target.set(error_rate=1)
    with target.raw() as client:
        statuses = set()
        for _ in range(30):
            response = client.get(target.products)
            statuses.add(response.status_code)
            body = response.json()
            if target.flavor == Flavor.WOOCOMMERCE:
                assert set(body) == {"code", "message", "data"}
                assert body["data"] == {"status": response.status_code}
            else:
                assert set(body) == {"status", "title", "type", "errors"}
                assert body["status"] == response.status_code
            assert wsgi.FAULT_HEADER not in response.headers
    assert statuses == {500, 502, 503}


# --- drop_rate ---------------------------------------------------------------------------------


def test_drop_rate_1_commits_the_create_then_the_client_sees_a_dropped_connection(target):
    target.set(drop_rate=1)

    with target.raw() as client, pytest.raises(httpx.RemoteProtocolError) as caught:
        client.post(target.products, json=target.product("D-1"))

    assert "Server disconnected without sending a response" in str(caught.value)
    assert target.skus() == ["D-1"]


def test_a_dropped_create_is_a_transport_error_to_the_http_client(target):
    target.set(drop_rate=1)
    sleeps: list[float] = []

    with pytest.raises(TransientError) as caught:
        target.http(sleeps, max_attempts=2).request(
            "POST", target.products, json=target.product("D-2")
        )

    assert "RemoteProtocolError" in str(caught.value)
    # The first attempt created it; the retry was refused as a duplicate (and dropped too).
    assert target.skus() == ["D-2"]


def test_drops_spare_reads(target):
    target.set(drop_rate=1)
    with target.raw() as client:
        assert client.get(target.products).status_code == 200


# --- timeout_rate ------------------------------------------------------------------------------


def test_a_timeout_in_process_is_a_read_timeout_and_writes_nothing(target):
    target.set(timeout_rate=1)

    started = time.monotonic()
    with target.raw() as client, pytest.raises(httpx.ReadTimeout):
        client.post(target.products, json=target.product("T-1"))

    assert time.monotonic() - started < 5  # in-process it does not wait out the hang
    assert target.skus() == []

    sleeps: list[float] = []
    with pytest.raises(TransientError, match="ReadTimeout"):
        target.http(sleeps).request("POST", target.products, json=target.product("T-2"))
    assert target.skus() == []


# --- latency -----------------------------------------------------------------------------------


def test_latency_is_added_before_answering(target):
    with target.raw() as client:
        client.get(target.products)  # warm up: first-request costs are not latency
        started = time.perf_counter()
        client.get(target.products)
        baseline = time.perf_counter() - started

        target.set(latency_ms=120)
        started = time.perf_counter()
        response = client.get(target.products)
        delayed = time.perf_counter() - started

    assert response.status_code == 200
    assert delayed >= 0.12
    assert delayed >= baseline + 0.1


# --- rates at 0 --------------------------------------------------------------------------------


def test_rates_at_zero_change_nothing_and_spend_no_draws(target):
    target.set(latency_ms=0, error_rate=0, timeout_rate=0, drop_rate=0)
    with target.raw() as client:
        created = client.post(target.products, json=target.product("OK-1"))
        listed = client.get(target.products)

    assert created.status_code in (200, 201)
    assert listed.status_code == 200
    assert target.skus() == ["OK-1"]
    assert target.draws() == 0


def test_other_sandboxes_and_unknown_slugs_are_untouched(target, sandbox_http):
    target.set(error_rate=1)
    healthy, credentials = create_sandbox_store(
        slug="healthy", name="Healthy", flavor=target.flavor
    )
    other = Target(healthy, credentials, sandbox_http)
    with other.raw() as client:
        assert client.get(other.products).status_code == 200
    with httpx.Client(transport=sandbox_http, base_url=SERVER) as client:
        assert client.get("/sandbox/no-such-shop/wp-json/wc/v3/products").status_code == 404


# --- reproducibility over HTTP -----------------------------------------------------------------


def test_the_same_settings_replay_the_same_faults_over_http(target):
    target.set(error_rate=0.5, fault_seed=42, fault_draws=0)

    def statuses() -> list[int]:
        with target.raw() as client:
            return [client.get(target.products).status_code for _ in range(24)]

    first = statuses()
    target.set(fault_draws=0)  # what saving the settings does
    again = statuses()

    assert first == again
    assert 200 in first and set(first) - {200}
    target.set(fault_seed=43, fault_draws=0)
    assert statuses() != first


# --- without the WSGI wrapper (Django's test Client) ------------------------------------------


@pytest.fixture
def woo(db) -> tuple[SandboxStore, dict[str, str], Client]:
    store, credentials = create_sandbox_store(slug="plain", name="Plain", flavor=Flavor.WOOCOMMERCE)
    client = Client()
    return store, credentials, client


def _basic(credentials: dict[str, str]) -> dict[str, str]:
    token = f"{credentials['consumer_key']}:{credentials['consumer_secret']}"
    return {"Authorization": "Basic " + base64.b64encode(token.encode()).decode()}


def test_without_the_wrapper_a_drop_commits_and_answers_502(woo, caplog):
    store, credentials, client = woo
    SandboxStore.objects.filter(pk=store.pk).update(drop_rate=1)

    response = client.post(
        "/sandbox/plain/wp-json/wc/v3/products",
        {"name": "Cup", "sku": "CUP-1", "regular_price": "3.00"},
        content_type="application/json",
        headers=_basic(credentials),
    )

    assert response.status_code == 502
    assert response.json()["code"] == "bad_gateway"
    assert wsgi.FAULT_HEADER not in response.headers
    assert list(store.records.values_list("sku", flat=True)) == ["CUP-1"]
    assert "cannot drop the connection" in caplog.text


def test_without_the_wrapper_a_timeout_really_hangs_then_answers_504(woo, monkeypatch):
    store, credentials, client = woo
    SandboxStore.objects.filter(pk=store.pk).update(timeout_rate=1, timeout_hang_ms=1234)
    slept: list[float] = []
    monkeypatch.setattr(faults, "sleep", slept.append)

    response = client.post(
        "/sandbox/plain/wp-json/wc/v3/products",
        {"name": "Cup", "sku": "CUP-2", "regular_price": "3.00"},
        content_type="application/json",
        headers=_basic(credentials),
    )

    assert response.status_code == 504
    assert response.json()["data"] == {"status": 504}
    assert slept == [1.234]
    assert not store.records.exists()


def test_the_middleware_shares_the_row_it_loaded_with_the_view(woo):
    store, credentials, client = woo
    response = client.get("/sandbox/plain/wp-json/wc/v3/products", headers=_basic(credentials))
    assert faults.request_store(response.wsgi_request).pk == store.pk
    assert faults.request_store(client.get("/healthz").wsgi_request) is None


# --- the wrapper itself -----------------------------------------------------------------------


def _app(headers: list[tuple[str, str]]):
    closed: list[bool] = []

    class Body(list):
        def close(self) -> None:
            closed.append(True)

    def app(environ, start_response):
        start_response("201 Created", headers)
        return Body([b"{}"])

    return app, closed


def _call(app, environ: dict | None = None):
    seen: list[Any] = []

    def start_response(status, headers, exc_info=None):
        seen.append((status, headers))

    result = app(environ if environ is not None else {}, start_response)
    return result, seen


def test_the_wrapper_passes_unmarked_responses_through_untouched():
    inner, closed = _app([("Content-Type", "application/json")])
    result, seen = _call(wsgi.SandboxFaultsApp(inner))
    assert list(result) == [b"{}"]
    assert seen == [("201 Created", [("Content-Type", "application/json")])]
    assert closed == []


def test_the_wrapper_drops_a_marked_response_in_process_and_closes_it():
    inner, closed = _app([(wsgi.FAULT_HEADER, wsgi.DROP)])
    with pytest.raises(httpx.RemoteProtocolError):
        _call(wsgi.SandboxFaultsApp(inner, in_process=True))
    assert closed == [True]


def test_under_a_server_the_wrapper_shuts_the_socket_and_raises_a_connection_reset():
    inner, closed = _app([(wsgi.FAULT_HEADER, wsgi.DROP)])

    class Sock:
        how: list[int] = []

        def shutdown(self, how: int) -> None:
            self.how.append(how)

    sock = Sock()
    seen: list[Any] = []
    with pytest.raises(ConnectionResetError) as caught:
        wsgi.SandboxFaultsApp(inner)({"gunicorn.socket": sock}, lambda *a: seen.append(a))
    assert caught.value.errno == errno.ECONNRESET
    assert sock.how == [socket.SHUT_RDWR]
    assert seen == []  # no status line was ever started
    assert closed == [True]


def test_an_outer_wrapper_acts_and_an_inner_one_stays_out_of_the_way():
    inner, _ = _app([(wsgi.FAULT_HEADER, wsgi.DROP)])
    result, seen = _call(wsgi.SandboxFaultsApp(inner), {wsgi.MODE_KEY: wsgi.SERVER})
    # The inner wrapper passed the mark up untouched: the outer one (not here) would act on it.
    assert seen == [("201 Created", [(wsgi.FAULT_HEADER, wsgi.DROP)])]
    assert list(result) == [b"{}"]
