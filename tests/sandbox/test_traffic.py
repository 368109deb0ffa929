"""The live-traffic simulator: the old shop keeps selling while it is migrated."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import Flavor, SandboxObject
from apps.sandbox.services import create_sandbox_store
from apps.sandbox.traffic import Rates, TrafficSimulator

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def shop(slug: str):
    sandbox, _ = create_sandbox_store(slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE)
    seed_store(sandbox, 20, customers=5, now=timezone.now() - timedelta(days=1))
    return sandbox


def simulate(sandbox, rates: Rates, duration: float, seed: int = 3):
    clock, lines = FakeClock(), []
    simulator = TrafficSimulator(
        sandbox, rates, seed=seed, clock=clock, sleep=clock.sleep, out=lines.append
    )
    done = simulator.run(duration)
    return done, lines, clock


def test_a_minute_of_traffic_at_the_given_rates():
    sandbox = shop("busy")
    started = timezone.now()
    done, lines, clock = simulate(sandbox, Rates(orders=60, customers=20, product_edits=30), 60)
    assert clock.slept <= 60  # bounded by the duration, in simulated time
    assert 30 <= done["order"] <= 100 and 5 <= done["customer"] <= 45
    assert 10 <= done["product_edit"] <= 60
    assert not any(kind.endswith("_refused") for kind in done)
    assert len(lines) == sum(done.values())
    assert any(" order #" in line for line in lines)
    assert any("signed up" in line for line in lines)
    assert any(" price " in line or "stock" in line or "renamed" in line for line in lines)
    rows = SandboxObject.objects.filter(store=sandbox)
    assert rows.filter(resource="order").count() == done["order"]
    assert rows.filter(resource="customer").count() == 5 + done["customer"]
    # Edits move date_modified, which is what a delta run reads.
    touched = rows.filter(resource__in=["product", "variation"], date_modified__gte=started)
    assert touched.exists()
    for data in rows.filter(resource="order").values_list("data", flat=True):
        assert data["line_items"] and data["total"] != "0.00"
        assert data["date_modified_gmt"] >= started.strftime("%Y-%m-%dT%H:%M:%S")


def test_same_seed_same_store_same_actions():
    first = simulate(shop("one"), Rates(orders=30, customers=10, product_edits=10), 120)
    second = simulate(shop("two"), Rates(orders=30, customers=10, product_edits=10), 120)
    assert first[1] == second[1]
    other_seed = simulate(shop("three"), Rates(orders=30, customers=10, product_edits=10), 120, 4)
    assert other_seed[1] != first[1]


def test_orders_need_something_to_sell():
    sandbox, _ = create_sandbox_store(slug="empty", name="e", flavor=Flavor.WOOCOMMERCE)
    done, lines, _ = simulate(sandbox, Rates(orders=60), 10)
    assert done["order"] == 0 and done["order_refused"] == len(lines) > 0


def test_refuses_other_flavors_and_no_rates():
    big, _ = create_sandbox_store(slug="big", name="b", flavor=Flavor.BIGCOMMERCE)
    with pytest.raises(ValueError, match="not a WooCommerce sandbox"):
        TrafficSimulator(big, Rates(orders=1))
    with pytest.raises(ValueError, match="at least one rate"):
        TrafficSimulator(shop("idle"), Rates())


def test_the_command_runs_for_its_duration_and_summarises():
    sandbox = shop("cmd")
    out = io.StringIO()
    call_command(
        "simulate_traffic",
        "--store",
        sandbox.slug,
        "--orders-per-min",
        "1200",
        "--customers-per-min",
        "300",
        "--duration",
        "0.5",
        "--seed",
        "5",
        stdout=out,
    )
    text = out.getvalue()
    assert "order #" in text and text.strip().splitlines()[-1].startswith("Done: ")
    with pytest.raises(CommandError, match="No sandbox store"):
        call_command("simulate_traffic", "--store", "nope", "--orders-per-min", "1")
    with pytest.raises(CommandError, match="at least one rate"):
        call_command("simulate_traffic", "--store", sandbox.slug)
