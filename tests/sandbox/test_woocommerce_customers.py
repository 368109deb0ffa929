"""wc/v3 customers in the WooCommerce sandbox, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sandbox.demo_catalog import seed_store
from apps.sandbox.models import SandboxObject
from apps.sandbox.woocommerce.customers import CustomerStore
from tests.sandbox.test_woocommerce_api import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    return Shop()


def person(email: str, **extra):
    return {
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "billing": {"city": "London", "country": "GB", "phone": "+44 20 1234", "email": email},
        **extra,
    }


def test_create_answers_the_customer_shape_without_the_password(shop):
    response = shop.post("customers", person(" Ada@Example.com ", password="s3cret!"))
    assert response.status_code == 201
    customer = response.json()
    assert customer["email"] == "Ada@Example.com"  # trimmed, as sanitize_email() does
    assert customer["username"] == "ada"
    assert customer["role"] == "customer" and customer["is_paying_customer"] is False
    assert set(customer["billing"]) == {
        "first_name", "last_name", "company", "address_1", "address_2", "city", "state",
        "postcode", "country", "email", "phone",
    }  # fmt: skip
    assert "email" not in customer["shipping"] and "phone" in customer["shipping"]
    assert customer["billing"]["city"] == "London" and customer["shipping"]["city"] == ""
    assert customer["avatar_url"].startswith("https://secure.gravatar.com/avatar/")
    assert "s3cret!" not in response.content.decode() and "password" not in customer
    for key in ("date_created", "date_created_gmt", "date_modified", "date_modified_gmt"):
        assert len(customer[key]) == 19
    assert shop.get(f"customers/{customer['id']}").json() == customer


def test_duplicate_email_is_refused_whatever_its_case(shop):
    shop.post("customers", person("ada@example.com"))
    again = shop.post("customers", person("ADA@example.com"))
    assert again.status_code == 400
    assert again.json()["code"] == "registration-error-email-exists"
    assert again.json()["message"].startswith("An account is already registered with your email")
    assert SandboxObject.objects.filter(resource="customer").count() == 1


def test_a_racing_duplicate_is_caught_by_the_unique_column(shop, monkeypatch):
    shop.post("customers", person("race@example.com"))
    monkeypatch.setattr(CustomerStore, "_emails_taken", lambda self, keys: set())
    raced = shop.post("customers", person("Race@example.com"))
    assert (raced.status_code, raced.json()["code"]) == (400, "registration-error-email-exists")


def test_invalid_or_missing_email_and_username_rules(shop):
    bad = shop.post("customers", {"email": "not-an-email"})
    assert bad.json()["code"] == "rest_invalid_param"
    assert bad.json()["data"]["params"] == {"email": "Invalid email address."}
    assert shop.post("customers", {"first_name": "X"}).json()["data"]["params"] == ["email"]
    first = shop.post("customers", person("sam@example.com")).json()
    second = shop.post("customers", person("sam@example.org")).json()
    assert (first["username"], second["username"]) == ("sam", "sam2")
    taken = shop.post("customers", person("x@example.com", username="sam"))
    assert taken.json()["code"] == "registration-error-username-exists"
    fixed = shop.call("PUT", f"customers/{first['id']}", {"username": "other"})
    assert fixed.json()["code"] == "woocommerce_rest_customer_invalid_argument"


def test_update_merges_addresses_bumps_modified_and_refuses_a_taken_email(shop):
    one = shop.post("customers", person("one@example.com")).json()
    shop.post("customers", person("two@example.com"))
    past = timezone.now() - timedelta(days=2)
    SandboxObject.objects.filter(object_id=one["id"]).update(date_modified=past)
    updated = shop.call(
        "PUT",
        f"customers/{one['id']}",
        {
            "billing": {"postcode": "N1"},
            "meta_data": [{"key": "accepts_marketing", "value": "yes"}],
        },
    ).json()
    assert updated["billing"]["postcode"] == "N1" and updated["billing"]["city"] == "London"
    assert updated["meta_data"] == [{"id": 1, "key": "accepts_marketing", "value": "yes"}]
    assert SandboxObject.objects.get(object_id=one["id"]).date_modified > past
    clash = shop.call("PUT", f"customers/{one['id']}", {"email": "TWO@example.com"})
    assert clash.json()["code"] == "woocommerce_rest_customer_invalid_email"
    same = shop.call("PUT", f"customers/{one['id']}", {"email": "one@example.com"})
    assert same.status_code == 200


def test_delete_needs_force(shop):
    one = shop.post("customers", person("one@example.com")).json()
    refused = shop.call("DELETE", f"customers/{one['id']}")
    assert (refused.status_code, refused.json()["code"]) == (
        501,
        "woocommerce_rest_trash_not_supported",
    )
    assert shop.call("DELETE", f"customers/{one['id']}?force=true").json()["id"] == one["id"]
    missing = shop.get(f"customers/{one['id']}")
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_invalid_id")


def test_listing_filters_and_no_modified_after(shop):
    seed_store(shop.sandbox, 0, customers=30, now=timezone.now() - timedelta(days=1))
    page = shop.get("customers", per_page=10, page=2, orderby="id", order="asc")
    assert (page["X-WP-Total"], page["X-WP-TotalPages"], len(page.json())) == ("30", "3", 10)
    everyone = shop.get("customers", per_page=100, orderby="id", order="asc").json()
    target = everyone[4]
    [hit] = shop.get("customers", email=target["email"].upper()).json()
    assert hit["id"] == target["id"]
    found = shop.get("customers", search=target["last_name"], per_page=100).json()
    assert target["id"] in {c["id"] for c in found}
    assert len(shop.get("customers", role="all", per_page=100).json()) == 30
    assert shop.get("customers", role="administrator").json() == []
    assert shop.get("customers", role="wizard").json()["code"] == "rest_invalid_param"
    shop.call("PUT", f"customers/{target['id']}", {"first_name": "Changed"})
    cutoff = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    # WooCommerce registers no modified_after on customers: WordPress ignores it, every
    # customer comes back. Deltas must not rely on it.
    ignored = shop.get("customers", modified_after=cutoff, per_page=100)
    assert ignored["X-WP-Total"] == "30"


def test_messy_seed_keeps_legacy_duplicates_and_the_api_still_refuses_new_ones(shop):
    seed_store(shop.sandbox, 0, customers=120, messy=True)
    rows = SandboxObject.objects.filter(store=shop.sandbox, resource="customer")
    keys = list(rows.values_list("name", flat=True))
    assert len(keys) == 120 and len(set(keys)) < 120  # duplicates by case or whitespace
    duplicate = next(k for k in keys if keys.count(k) > 1)
    assert len(shop.get("customers", email=duplicate).json()) > 1
    refused = shop.post("customers", person(duplicate.upper()))
    assert refused.json()["code"] == "registration-error-email-exists"


def test_batch_reports_item_errors(shop):
    held = shop.post("customers", person("held@example.com")).json()
    body = shop.post(
        "customers/batch",
        {
            "create": [
                person("new@example.com"),
                person("HELD@example.com"),
                person("new@example.com"),
                person("bad"),
            ],
            "update": [{"id": held["id"], "last_name": "B"}, {"id": 99999, "last_name": "?"}],
            "delete": [held["id"]],
        },
    )
    assert body.status_code == 200
    answer = body.json()
    codes = [c.get("error", {}).get("code") for c in answer["create"]]
    assert codes == [
        None,
        "registration-error-email-exists",
        "registration-error-email-exists",
        "rest_invalid_param",
    ]
    assert answer["update"][0]["last_name"] == "B"
    assert answer["update"][1]["error"]["code"] == "woocommerce_rest_invalid_id"
    assert answer["delete"][0]["id"] == held["id"]  # batch deletes are forced
    big = shop.post("customers/batch", {"create": [person(f"c{i}@x.example") for i in range(101)]})
    assert big.status_code == 413
