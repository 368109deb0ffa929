"""A corpus of 200+ malformed source records inside a healthy shop: each bad record ends with a
clear per-record error or a documented cleansing, every good record arrives exactly once, and
what a record carries (script payloads, CSV formulas) renders escaped in the dashboard.

The records are what a years-old WooCommerce database and its plugins hand the REST API: most go
in through the API as a merchant would put them there; what the API would refuse (a price that is
not a number, a missing key) is written into the sandbox's rows as a legacy database holds it;
and what no database row can hold in this sandbox (bytes that are not UTF-8, NUL characters) is
put on the wire by a transport that rewrites the shop's responses, as a broken plugin does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from apps.runs.choices import Action, RunKind, RunStatus
from apps.runs.engine import run_inline
from apps.runs.models import RecordOutcome
from apps.runs.reasons import normalise_reason
from apps.runs.services import start_run
from apps.sandbox.models import SandboxObject
from apps.stores.services import transport_override
from tests.support.rehearsal import make_rehearsal

GOOD_PRODUCTS = 40
# Markers the wire transport swaps for bytes no sandbox row can hold.
BAD_BYTES_MARK = "__NOT_UTF8__"
NUL_MARK = "__NUL__"
SCRIPT = "<script>alert('xss')</script>"


class WireFaults(httpx.BaseTransport):
    """Passes requests to the sandbox and rewrites its answers' bytes: a marker becomes bytes
    that are not UTF-8, or a JSON-escaped NUL."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        if BAD_BYTES_MARK.encode() not in body and NUL_MARK.encode() not in body:
            return response
        body = body.replace(BAD_BYTES_MARK.encode(), b"caf\xe9 \xff\xfe")
        body = body.replace(NUL_MARK.encode(), b"\\u0000")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body)


@dataclass
class Bad:
    kind: str  # the corpus family
    sku: str
    expect: str  # "failed" (with `reason` in its reason), "skipped", or "created" (cleansed)
    reason: str = ""


def _product(sku: str, **fields) -> dict:
    return {
        "type": "simple",
        "name": f"Corpus {sku}",
        "regular_price": "9.99",
        "sku": sku,
        **fields,
    }


def _corpus() -> tuple[list[dict], list[Bad], dict[str, dict]]:
    """API payloads, what each should end as, and raw edits applied to stored rows by SKU."""
    payloads: list[dict] = []
    expected: list[Bad] = []
    legacy: dict[str, dict] = {}

    def add(kind: str, sku: str, expect: str, reason: str = "", **fields) -> None:
        payloads.append(_product(sku, **fields))
        expected.append(Bad(kind, sku, expect, reason))

    for n in range(15):
        add("negative price", f"NEG-{n}", "failed", "is negative", regular_price=f"-{n + 1}.50")
    for n in range(10):
        add("absurd price", f"BIG-{n}", "failed", "sanity limit", regular_price="99999999.00")
    for n in range(10):
        add("1 MB description", f"HUGE-{n}", "failed", "longer than", description="x" * 1_048_576)
    for n in range(15):
        add("script payload", f"XSS-{n}", "created", name=f"{SCRIPT} {n}", description=SCRIPT)
    for n in range(5):
        # A script in the natural key of a record that fails: it shows in the failures list.
        add("script in a failing record", f"{SCRIPT}{n}", "failed", "is negative",
            regular_price="-1")  # fmt: skip
    for n in range(15):
        formula = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]
        add("CSV formula", f"CSV-{n}", "created", name=f"{formula[n % 5]} {n}")
    for n in range(15):
        add("future date", f"FUT-{n}", "created")
        legacy[f"FUT-{n}"] = {"date_created_gmt": "2099-01-01T00:00:00", "date_modified_gmt": ""}
    for n in range(15):
        add("price not a number", f"NAN-{n}", "failed", "not a number")
        legacy[f"NAN-{n}"] = {"regular_price": ["abc", "NaN", "1e999", "12,50", "$5"][n % 5]}
        legacy[f"NAN-{n}"]["price"] = legacy[f"NAN-{n}"]["regular_price"]
    for n in range(16):
        # A required key missing fails the record; an optional one reads as empty.
        key, expect, reason = [
            ("name", "failed", "no name"),
            ("regular_price", "failed", "price is missing"),
            ("price", "created", ""),
            ("images", "created", ""),
        ][n % 4]
        add("missing key", f"MISS-{n}", expect, reason)
        legacy[f"MISS-{n}"] = {"__drop__": key}
    for n in range(10):
        add("wrong type", f"TYPE-{n}", "failed", "")
        legacy[f"TYPE-{n}"] = {"categories": "Shoes"} if n % 2 else {"images": {"src": "x"}}
    for n in range(15):
        add("no SKU", "", "failed", "no SKU", name=f"Corpus nosku {n}")
        expected[-1].sku = f"nosku {n}"  # found by name below
    for n in range(15):
        # A second product whose SKU equals the first's once the spaces are trimmed.
        add("duplicate SKU", f"DUP-{n}", "created")
        add("duplicate SKU", f"DUP-{n}-twin", "skipped", f"same sku 'DUP-{n}'")
        legacy[f"DUP-{n}-twin"] = {"sku": f" DUP-{n} "}
    for n in range(15):
        add("not UTF-8", f"UTF-{n}", "failed", "not valid UTF-8", name=f"Caf{BAD_BYTES_MARK} {n}")
    for n in range(15):
        add("NUL and control characters", f"NUL-{n}", "created", name=f"Tab{NUL_MARK}le\x07 {n}")
    return payloads, expected, legacy


def _customers() -> list[tuple[dict, str | None, tuple[str, str]]]:
    """(API payload, the email the legacy row ends with, expected outcome) per customer."""
    rows = []
    for n in range(10):
        email = f"kept{n}@example.com"
        rows.append(
            ({"email": email, "first_name": "Kept", "last_name": "Doe"}, None, ("created", ""))
        )
        # Same address up to case and spaces: one customer on the target, the twin excluded.
        rows.append(
            (
                {"email": f"twin{n}@example.com", "first_name": "Twin", "last_name": "Doe"},
                f"  KEPT{n}@Example.COM ",
                ("skipped", f"same email 'kept{n}@example.com'"),
            )
        )
    for n in range(15):
        broken = [f"user{n}@", f"user{n}.example.com", f"user{n}@@example.com", f"u {n}@x.com"]
        rows.append(
            (
                {"email": f"broken{n}@example.com", "first_name": "Broken", "last_name": "Doe"},
                broken[n % 4],
                ("failed", "is not a valid address"),
            )
        )
    for n in range(5):
        # WooCommerce keeps a customer without a last name; BigCommerce refuses one.
        payload = {"email": f"nolast{n}@example.com", "first_name": "Mononym"}
        rows.append((payload, None, ("failed", "last_name: must not be empty")))
    return rows


def _apply_legacy(store, edits: dict[str, dict]) -> None:
    for row in SandboxObject.objects.filter(store=store, resource="product", sku__in=list(edits)):
        edit = edits[row.sku]
        data = dict(row.data)
        for key, value in edit.items():
            if key == "__drop__":
                data.pop(value, None)
            else:
                data[key] = value
        row.data = data
        row.save(update_fields=["data"])


@pytest.fixture
def corpus_run(sandbox_http):
    # The merchant's own client talks to the shop directly; the migration reads through the wire.
    with transport_override(WireFaults(sandbox_http)):
        yield _corpus_run(sandbox_http)


def _corpus_run(transport: httpx.BaseTransport):
    rehearsal = make_rehearsal(transport, products=GOOD_PRODUCTS)
    rehearsal.project.entities = ["products", "customers"]
    rehearsal.project.save(update_fields=["entities"])
    payloads, expected, legacy = _corpus()
    ids: dict[str, str] = {}
    # A 1 MB description goes alone: a batch of them passes the request size the shop accepts.
    huge = [p for p in payloads if len(p.get("description", "")) > 100_000]
    chunks = [[p] for p in huge] + [
        [p for p in payloads if p not in huge][i : i + 20] for i in range(0, len(payloads), 20)
    ]
    with rehearsal.woo() as woo:
        for chunk in filter(None, chunks):
            answer = woo.post("products/batch", json={"create": chunk}, timeout=60)
            assert answer.status_code == 200, answer.text
            for sent, made in zip(chunk, answer.json()["create"], strict=True):
                assert "error" not in made, made
                ids[sent["sku"] or sent["name"]] = str(made["id"])
    customers = _customers()
    with rehearsal.woo() as woo:
        answer = woo.post("customers/batch", json={"create": [c for c, _, _ in customers]})
        assert answer.status_code == 200, answer.text
        for (sent, _, _), made in zip(customers, answer.json()["create"], strict=True):
            assert "error" not in made, made
            ids[sent["email"]] = str(made["id"])
    for sent, legacy_email, _ in customers:
        if legacy_email is not None:  # what the shop's database holds, past the API's check
            row = SandboxObject.objects.get(
                store=rehearsal.source, resource="customer", object_id=ids[sent["email"]]
            )
            row.data = {**row.data, "email": legacy_email}
            row.save(update_fields=["data"])
    expected += [Bad("customer", sent["email"], *expect) for sent, _, expect in customers]
    _apply_legacy(rehearsal.source, legacy)
    run = start_run(rehearsal.project, kind=RunKind.FULL)
    run = run_inline(run.pk)
    return rehearsal, run, expected, ids


def _outcome(run, expected: Bad, ids: dict[str, str]) -> RecordOutcome:
    key = f"Corpus {expected.sku}" if expected.kind == "no SKU" else expected.sku
    entity = "customers" if expected.kind == "customer" else "products"
    return run.outcomes.get(entity=entity, source_id=ids[key])


def test_corpus_has_at_least_200_malformed_records():
    _, products, _ = _corpus()
    assert len(products) + len(_customers()) >= 200
    assert len({b.kind for b in products}) >= 12


def test_each_malformed_record_ends_alone_and_every_good_one_arrives_once(corpus_run):
    rehearsal, run, expected, ids = corpus_run
    assert run.status == RunStatus.PARTIALLY_FAILED, run.error
    assert not run.batches.filter(status="failed").exists(), "a bad record failed its page"
    wrong = []
    for bad in expected:
        outcome = _outcome(run, bad, ids)
        if outcome.action != bad.expect or bad.reason not in outcome.reason:
            wrong.append((bad.kind, bad.sku, outcome.action, outcome.reason[:120]))
        if outcome.action == Action.FAILED:
            assert outcome.reason.strip(), f"{bad.kind} failed without a reason"
            # Its error group, written with it (what the run page groups and filters on).
            assert outcome.reason_key == normalise_reason(outcome.reason), bad.kind
    assert wrong == [], "\n".join(map(str, wrong))

    # Every good record arrives exactly once.
    target_skus = Counter(
        SandboxObject.objects.filter(store=rehearsal.target, resource="product").values_list(
            "sku", flat=True
        )
    )
    assert all(count == 1 for count in target_skus.values())
    good = run.outcomes.filter(entity="products").exclude(source_id__in=ids.values())
    assert good.count() == GOOD_PRODUCTS
    assert set(good.values_list("action", flat=True)) == {Action.CREATED}
    created = sum(1 for b in expected if b.expect == "created" and b.kind != "customer")
    assert len(target_skus) == GOOD_PRODUCTS + created

    # A cleansing is documented on the record's outcome.
    for bad in expected:
        if bad.kind != "NUL and control characters":
            continue
        outcome = _outcome(run, bad, ids)
        assert "control character" in outcome.reason
        written = SandboxObject.objects.get(store=rehearsal.target, sku=bad.sku)
        assert "\x00" not in written.name and "\x07" not in written.name


def test_script_payloads_render_escaped_in_the_dashboard(corpus_run, client):
    rehearsal, run, _expected, _ids = corpus_run
    from tests.factories import PASSWORD

    user = rehearsal.project.memberships.first().user
    assert client.login(username=user.username, password=PASSWORD)
    scripted = run.outcomes.filter(natural_key__startswith=SCRIPT).order_by("-id").first()
    pages = [
        f"/runs/{run.pk}/",
        # The failures page that lists the record whose SKU is a script (keyset: newest first).
        f"/runs/{run.pk}/?before={scripted.pk + 1}",
        f"/runs/{run.pk}/progress/",
        f"/runs/{run.pk}/batches/",
        f"/projects/{rehearsal.project.pk}/",
    ]
    seen_escaped = False
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 286), url  # 286: htmx stops polling an ended run
        html = response.content.decode()
        assert SCRIPT not in html, url
        seen_escaped |= "&lt;script&gt;alert(" in html
    assert seen_escaped, "the failing script SKU should show, escaped, on the run page"
