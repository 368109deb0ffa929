"""The redirect checker against scripted storefronts (httpx.MockTransport): each outcome, the
hop record, the hop limit, errors of one URL, and the bounded concurrent pool."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from apps.redirects.choices import Problem
from apps.redirects.verify import MAX_HOPS, check_all, probe

SITE = "https://shop.example"


def client_for(routes: dict[str, tuple[int, str]]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url not in routes:
            return httpx.Response(404)
        status, location = routes[url]
        if status == -1:
            raise httpx.ReadTimeout("timed out", request=request)
        headers = {"Location": location} if location else {}
        return httpx.Response(status, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=False)


@pytest.mark.parametrize(
    ("routes", "problem", "statuses"),
    [
        ({"/old": (301, "/new"), "/new": (200, "")}, Problem.OK, [301, 200]),
        # 308 is permanent too (method-preserving); accepted as 301 is.
        ({"/old": (308, f"{SITE}/new/"), "/new/": (200, "")}, Problem.OK, [308, 200]),
        ({"/old": (302, "/new"), "/new": (200, "")}, Problem.NOT_REDIRECTED, [302, 200]),
        ({"/old": (200, "")}, Problem.NOT_REDIRECTED, [200]),
        ({}, Problem.NOT_REDIRECTED, [404]),
        ({"/old": (301, "/else"), "/else": (200, "")}, Problem.WRONG_DESTINATION, [301, 200]),
        ({"/old": (301, "/new"), "/new": (500, "")}, Problem.BROKEN_DESTINATION, [301, 500]),
        ({"/old": (301, "/new")}, Problem.BROKEN_DESTINATION, [301, 404]),
        (
            {"/old": (301, "/a"), "/a": (301, "/new"), "/new": (200, "")},
            Problem.CHAIN,
            [301, 301, 200],
        ),
        ({"/old": (301, "/a"), "/a": (301, "/old/")}, Problem.LOOP, [301, 301]),
        ({"/old": (301, "/new"), "/new": (-1, "")}, Problem.ERROR, [301, None]),
    ],
)
def test_each_outcome_is_classified_with_its_hops(routes, problem, statuses):
    client = client_for({SITE + path: route for path, route in routes.items()})
    check = probe(client, f"{SITE}/old", f"{SITE}/new")
    assert check.problem == problem, check.detail
    assert [hop["status"] for hop in check.hops] == statuses
    assert check.hops[0]["url"] == f"{SITE}/old"


def test_a_page_that_keeps_its_url_needs_no_redirect():
    client = client_for({f"{SITE}/same/": (200, "")})
    assert probe(client, f"{SITE}/same/", f"{SITE}/same/").problem == Problem.OK


def test_redirects_are_followed_at_most_max_hops():
    routes = {f"{SITE}/r{i}": (301, f"/r{i + 1}") for i in range(30)}
    check = probe(client_for(routes), f"{SITE}/r0", f"{SITE}/r30")
    assert check.problem == Problem.LOOP
    assert len(check.hops) == MAX_HOPS
    assert "more than" in check.detail


def test_checks_run_concurrently_in_a_bounded_pool_and_one_error_stays_with_its_row():
    live = 0
    peak = 0
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal live, peak
        with lock:
            live += 1
            peak = max(peak, live)
        try:
            time.sleep(0.02)
            path = request.url.path
            if path == "/old-7":
                raise httpx.ConnectError("refused", request=request)
            if path.startswith("/old-"):
                return httpx.Response(301, headers={"Location": path.replace("old", "new")})
            return httpx.Response(200)
        finally:
            with lock:
                live -= 1

    def factory() -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=False)

    items = [(i, f"{SITE}/old-{i}", f"{SITE}/new-{i}") for i in range(20)]
    results = check_all(items, factory, workers=4)
    assert 1 < peak <= 4
    assert results[7].problem == Problem.ERROR and "ConnectError" in results[7].detail
    assert all(results[i].problem == Problem.OK for i in range(20) if i != 7)
