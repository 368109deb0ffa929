"""Pushing to BigCommerce when the platform refuses one row, and the stores' storefront URL."""

from __future__ import annotations

import pytest

from apps.redirects import services
from apps.redirects.choices import MapState, Origin
from apps.redirects.models import Redirect
from apps.sandbox.models import SandboxObject
from apps.stores.models import Platform, Store
from tests.factories import StoreFactory
from tests.support.rehearsal import make_rehearsal

pytestmark = pytest.mark.django_db


def test_a_row_the_platform_refuses_fails_alone(sandbox_http):
    rehearsal = make_rehearsal(sandbox_http, products=0)
    project = rehearsal.project
    base = project.target_store.storefront_base
    for path in ("/old-1", "/old-2", "bad-no-slash"):
        Redirect.objects.create(
            project=project,
            old_path=path,
            new_url=f"{base}/new{path.strip('/')}/",
            origin=Origin.MANUAL,
            state=MapState.MAPPED,
        )
    counts, errors = services.push(project)
    assert counts == {"pushed": 2, "failed": 1}
    assert errors[0]["path"] == "bad-no-slash" and "from_path" in errors[0]["reason"]
    bad = Redirect.objects.get(project=project, old_path="bad-no-slash")
    assert bad.state == MapState.FAILED and "422" in bad.push_error
    stored = SandboxObject.objects.filter(store=rehearsal.target, resource="redirect")
    assert sorted(stored.values_list("name", flat=True)) == ["/old-1", "/old-2"]
    good = Redirect.objects.get(project=project, old_path="/old-1")
    assert good.target_redirect_id == str(stored.get(name="/old-1").object_id)
    assert stored.get(name="/old-1").data["to"] == {
        "type": "url",
        "entity_id": 0,
        "url": "/newold-1/",
    }


def test_storefront_base_defaults_where_the_platform_allows(db):
    woo = StoreFactory(platform=Platform.WOOCOMMERCE, base_url="https://shop.example/")
    assert woo.storefront_base == "https://shop.example"
    big = StoreFactory(platform=Platform.BIGCOMMERCE, base_url="https://api.bigcommerce.com")
    assert big.storefront_base == ""  # the API host is not the shop
    big.storefront_url = "https://www.shop.example/"
    assert big.storefront_base == "https://www.shop.example"
    sandbox = StoreFactory(platform=Platform.SANDBOX_BIGCOMMERCE, base_url="http://x/sandbox/b")
    assert sandbox.storefront_base == "http://x/sandbox/b"


def test_the_api_sets_and_returns_the_storefront_url(admin_user, client_for, project):
    api = client_for(admin_user)
    answer = api.post(
        "/api/v1/stores/",
        {
            "name": "New BC",
            "platform": "bigcommerce",
            "base_url": "https://api.bigcommerce.com",
            "storefront_url": "https://www.new-shop.example/",
            "credentials": {"store_hash": "h1", "access_token": "t1"},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["storefront_url"] == "https://www.new-shop.example"
    store = Store.objects.get(pk=answer.json()["id"])
    changed = api.patch(
        f"/api/v1/stores/{store.pk}/", {"storefront_url": "ftp://nope"}, format="json"
    )
    assert changed.status_code == 400
    changed = api.patch(
        f"/api/v1/stores/{store.pk}/", {"storefront_url": "https://b.example/"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["storefront_url"] == "https://b.example"


def test_the_store_page_sets_and_clears_the_storefront_url(admin_user):
    from apps.stores.forms import StoreForm

    store = StoreFactory(platform=Platform.BIGCOMMERCE, storefront_url="https://keep.example")
    data = {
        "name": store.name,
        "platform": store.platform,
        "base_url": store.base_url,
        "requests_per_second": 0,
    }
    form = StoreForm({**data, "storefront_url": "https://new.example/"}, store=store)
    assert form.is_valid(), form.errors
    assert form.settings()["storefront_url"] == "https://new.example"
    # The page always shows the input: an empty one clears the value.
    form = StoreForm({**data, "storefront_url": ""}, store=store)
    assert form.is_valid(), form.errors
    assert form.settings()["storefront_url"] == ""
    form = StoreForm({**data, "storefront_url": "ftp://nope"}, store=store)
    assert not form.is_valid() and "storefront_url" in form.errors
