"""The BigCommerce sandbox's `/v3/storefront/redirects` (shapes, limits, errors) and both
sandboxes' storefronts (301 for a redirect, 200 for a page, 404 otherwise)."""

from __future__ import annotations

import httpx
import pytest

from apps.sandbox.models import Flavor
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from tests.support.rehearsal import TESTSERVER

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(sandbox_http):
    sandbox, credentials = create_sandbox_store(slug="bc", name="BC", flavor=Flavor.BIGCOMMERCE)
    base = sandbox_base_url(sandbox, TESTSERVER)
    api = httpx.Client(
        transport=sandbox_http,
        base_url=f"{base}/stores/{credentials['store_hash']}/v3/",
        headers={"X-Auth-Token": credentials["access_token"]},
    )
    shop = httpx.Client(transport=sandbox_http, base_url=base, follow_redirects=False)
    yield api, shop
    api.close()
    shop.close()


def _product(api: httpx.Client, name: str) -> dict:
    answer = api.post(
        "catalog/products", json={"name": name, "type": "physical", "weight": 1, "price": 10}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_upsert_list_and_delete_have_the_platforms_shapes(big):
    api, _ = big
    product = _product(api, "Blue Shirt")
    answer = api.put(
        "storefront/redirects",
        json=[
            {
                "from_path": "/old-shirt/",
                "site_id": 1000,
                "to": {"type": "product", "entity_id": product["id"]},
            },
            {
                "from_path": "/old-page.html",
                "site_id": 1000,
                "to": {"type": "url", "url": "/blue-shirt/"},
            },
        ],
    )
    assert answer.status_code == 201
    data = answer.json()["data"]
    # The stored from_path loses its trailing slash; to_url is the full destination.
    assert data[0]["from_path"] == "/old-shirt" and data[0]["site_id"] == 1000
    assert data[0]["to"] == {"type": "product", "entity_id": product["id"], "url": ""}
    assert data[0]["to_url"] == "http://localhost/sandbox/bc/blue-shirt/"
    first_id = data[0]["id"]

    # Upsert: the same from_path (either form) and site overwrite, keeping the id.
    again = api.put(
        "storefront/redirects",
        json=[{"from_path": "/old-shirt", "site_id": 1000, "to": {"type": "url", "url": "/x/"}}],
    )
    assert again.json()["data"][0]["id"] == first_id

    listed = api.get("storefront/redirects", params={"limit": 1, "page": 2})
    body = listed.json()
    assert listed.status_code == 200
    assert body["meta"]["pagination"]["total"] == 2
    assert body["meta"]["pagination"]["total_pages"] == 2
    assert [r["from_path"] for r in body["data"]] == ["/old-page.html"]
    assert "to_url" not in body["data"][0]
    with_url = api.get("storefront/redirects", params={"include": "to_url", "id:in": first_id})
    assert with_url.json()["data"][0]["to_url"] == "http://localhost/sandbox/bc/x/"

    assert api.delete("storefront/redirects", params={"id:in": first_id}).status_code == 204
    assert api.get("storefront/redirects").json()["meta"]["pagination"]["total"] == 1
    refused = api.delete("storefront/redirects")
    assert refused.status_code == 422 and "id:in" in refused.json()["errors"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"site_id": 1000, "to": {"type": "url", "url": "/x"}}, "0.from_path"),
        (
            {"from_path": "no-slash", "site_id": 1000, "to": {"type": "url", "url": "/x"}},
            "0.from_path",
        ),
        ({"from_path": "/a", "to": {"type": "url", "url": "/x"}}, "0.site_id"),
        ({"from_path": "/a", "site_id": 7, "to": {"type": "url", "url": "/x"}}, "0.site_id"),
        ({"from_path": "/a", "site_id": 1000, "to": {"type": "page_type"}}, "0.to.type"),
        ({"from_path": "/a", "site_id": 1000, "to": {"type": "product"}}, "0.to.entity_id"),
        ({"from_path": "/a", "site_id": 1000, "to": {"type": "url", "url": ""}}, "0.to.url"),
        ({"from_path": "/a", "site_id": 1000}, "0.to"),
    ],
)
def test_invalid_redirects_are_422_per_field_and_nothing_is_stored(big, item, field):
    api, _ = big
    good = {"from_path": "/fine", "site_id": 1000, "to": {"type": "url", "url": "/y"}}
    answer = api.put("storefront/redirects", json=[item, good])
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == 422 and field in body["errors"]
    assert api.get("storefront/redirects").json()["data"] == []


def test_more_than_a_batch_is_413_and_a_body_that_is_not_an_array_422(big):
    api, _ = big
    items = [
        {"from_path": f"/p{i}", "site_id": 1000, "to": {"type": "url", "url": "/y"}}
        for i in range(101)
    ]
    assert api.put("storefront/redirects", json=items).status_code == 413
    assert api.put("storefront/redirects", json={"from_path": "/a"}).status_code == 422
    assert api.put("storefront/redirects", json=items[:100]).status_code == 201


def test_the_api_wants_the_token(big, sandbox_http):
    api, _ = big
    anonymous = httpx.Client(transport=sandbox_http, base_url=str(api.base_url))
    assert anonymous.get("storefront/redirects").status_code == 401


def test_bigcommerce_storefront_answers_redirects_pages_and_404(big):
    api, shop = big
    _product(api, "Green Hat")
    api.put(
        "storefront/redirects",
        json=[
            {
                "from_path": "/hat.html",
                "site_id": 1000,
                "to": {"type": "url", "url": "/green-hat/"},
            },
            # A live page wins over a redirect on its path, as on the platform.
            {
                "from_path": "/green-hat/",
                "site_id": 1000,
                "to": {"type": "url", "url": "/elsewhere/"},
            },
        ],
    )
    moved = shop.get("/hat.html/")
    assert moved.status_code == 301
    assert moved.headers["location"] == "http://localhost/sandbox/bc/green-hat/"
    assert shop.get("/green-hat/").status_code == 200
    assert shop.get("/green-hat").status_code == 200
    assert shop.get("/nothing-here/").status_code == 404
    assert shop.post("/green-hat/").status_code == 405


def test_woocommerce_storefront_serves_permalinks_and_redirection_imports(sandbox_http):
    from apps.sandbox.demo_catalog import seed_woocommerce
    from apps.sandbox.models import SandboxObject

    sandbox, credentials = create_sandbox_store(slug="wc", name="WC", flavor=Flavor.WOOCOMMERCE)
    seed_woocommerce(sandbox, 1, categories=True)
    product = SandboxObject.objects.get(store=sandbox, resource="product")
    category = SandboxObject.objects.filter(store=sandbox, resource="category").first()
    base = sandbox_base_url(sandbox, TESTSERVER)
    with httpx.Client(transport=sandbox_http, base_url=base, follow_redirects=False) as shop:
        assert shop.get(f"/product/{product.data['slug']}/").status_code == 200
        assert shop.get(f"/product-category/{category.unique_name}/").status_code == 200
        assert shop.get("/product/missing/").status_code == 404
        csv_body = (
            "source,target,regex,code,type,hits,title,status\n"
            f'"/old.html","/product/{product.data["slug"]}/",0,301,"url",0,"",active\n'
            '"/same","/same",0,301,"url",0,"",active\n'
        )
        route = "/wp-json/redirection/v1/import/file/1"
        files = {"file": ("r.csv", csv_body.encode(), "text/csv")}
        assert shop.post(route, files=files).status_code == 401
        auth = (credentials["consumer_key"], credentials["consumer_secret"])
        imported = shop.post(route, files=files, auth=auth)
        # The header row and a redirect to itself are skipped, as the plugin's importer does.
        assert imported.json() == {"imported": 1}
        moved = shop.get("/old.html")
        assert moved.status_code == 301
        assert moved.headers["location"] == f"{base}/product/{product.data['slug']}/"
