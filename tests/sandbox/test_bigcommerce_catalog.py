"""The BigCommerce sandbox's catalog beside products: category trees, brands, and products'
categories, brand, images and custom fields."""

from __future__ import annotations

from typing import Any

import pytest

from apps.sandbox.models import Flavor, SandboxObject
from tests.sandbox.test_bigcommerce_api import Api, create_sandbox_store, product, shirt


@pytest.fixture
def api(client, db) -> Api:
    store, credentials = create_sandbox_store(slug="bc-catalog", flavor=Flavor.BIGCOMMERCE)
    return Api(client, store.slug, credentials["store_hash"], credentials["access_token"])


def category(name: str, parent_id: int | None = None, **fields: Any) -> dict[str, Any]:
    placement = {"parent_id": parent_id} if parent_id is not None else {"tree_id": 1}
    return {
        "name": name,
        "url": {"path": f"/{name.lower()}/", "is_customized": True},
        **placement,
        **fields,
    }


def create_categories(api: Api, *items: dict[str, Any]) -> list[dict[str, Any]]:
    response = api("POST", "catalog/trees/categories", list(items))
    assert response.status_code == 201, response.content
    return response.json()["data"]


# --- trees and categories ------------------------------------------------------------------


def test_the_default_tree_exists(api):
    body = api("GET", "catalog/trees").json()

    assert body["data"] == [{"id": 1, "name": "Default", "channels": [1]}]
    assert body["meta"]["pagination"]["total"] == 1


def test_create_categories_in_one_array_and_read_them_back(api):
    [shoes] = create_categories(api, category("Shoes", description="<p>Feet</p>"))
    runners, boots = create_categories(
        api, category("Runners", shoes["category_id"]), category("Boots", shoes["category_id"])
    )

    assert shoes["parent_id"] == 0
    assert shoes["tree_id"] == 1
    assert shoes["description"] == "<p>Feet</p>"
    assert shoes["url"] == {"path": "/shoes/", "is_customized": True}
    assert isinstance(shoes["category_uuid"], str)
    assert runners["tree_id"] == 1 and runners["parent_id"] == shoes["category_id"]
    listed = api("GET", "catalog/trees/categories", params={"tree_id:in": "1"}).json()
    assert [c["name"] for c in listed["data"]] == ["Shoes", "Runners", "Boots"]
    assert listed["meta"]["pagination"]["total"] == 3
    children = api(
        "GET", "catalog/trees/categories", params={"parent_id:in": shoes["category_id"]}
    ).json()["data"]
    assert {c["category_id"] for c in children} == {runners["category_id"], boots["category_id"]}


def test_post_answers_201_with_counts(api):
    response = api("POST", "catalog/trees/categories", [category("A"), category("B")])

    assert response.status_code == 201
    assert response.json()["meta"] == {"total": 2, "success": 2, "failed": 0}


def test_filters_by_id_and_name(api):
    first, second = create_categories(api, category("Bath"), category("Kitchen"))

    def names(**params: Any) -> list[str]:
        body = api("GET", "catalog/trees/categories", params=params).json()
        return [c["name"] for c in body["data"]]

    assert names(**{"category_id:in": str(second["category_id"])}) == ["Kitchen"]
    assert names(name="bath") == ["Bath"]  # names compare without case, as on the platform
    assert names(**{"name:like": "itch"}) == ["Kitchen"]
    assert names(**{"tree_id:in": "7"}) == []
    assert first["category_id"] != second["category_id"]


def test_a_sibling_with_the_same_name_fails_alone_with_207(api):
    [shoes] = create_categories(api, category("Shoes"))

    response = api(
        "POST",
        "catalog/trees/categories",
        [category("Socks"), category("shoes"), category("Shoes", shoes["category_id"])],
    )

    assert response.status_code == 207
    body = response.json()
    assert [c["name"] for c in body["data"]] == ["Socks", "Shoes"]
    assert body["meta"] == {"total": 3, "success": 2, "failed": 1}
    assert body["errors"]["status"] == 409
    assert "already exists" in body["errors"]["title"]
    assert set(body["errors"]["errors"]) == {"1.name"}


def test_only_duplicates_is_409(api):
    create_categories(api, category("Shoes"))

    response = api("POST", "catalog/trees/categories", [category("Shoes")])

    assert response.status_code == 409
    assert response.json()["status"] == 409
    assert "0.name" in response.json()["errors"]


def test_invalid_categories_refuse_the_whole_request_with_422(api):
    response = api(
        "POST",
        "catalog/trees/categories",
        [
            category("Fine"),
            {"name": "No url", "tree_id": 1},
            category("x" * 51),
            category("Orphan", 999),
        ],
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["1.url"] == "Url is required and can't be empty"
    assert "2.name" in errors
    assert "does not exist" in errors["3.parent_id"]
    assert not SandboxObject.objects.filter(resource="category").exists()


def test_put_updates_and_answers_with_counts_only(api):
    shoes, socks = create_categories(api, category("Shoes"), category("Socks"))

    response = api(
        "PUT",
        "catalog/trees/categories",
        [
            {"category_id": shoes["category_id"], "name": "Footwear", "sort_order": 3},
            {"category_id": socks["category_id"], "parent_id": shoes["category_id"]},
        ],
    )

    assert response.status_code == 200
    assert response.json() == {"meta": {"total": 2, "success": 2, "failed": 0}}
    rows = {c["category_id"]: c for c in api("GET", "catalog/trees/categories").json()["data"]}
    assert rows[shoes["category_id"]]["name"] == "Footwear"
    assert rows[shoes["category_id"]]["sort_order"] == 3
    assert rows[socks["category_id"]]["parent_id"] == shoes["category_id"]


def test_put_renaming_onto_a_sibling_fails_that_category(api):
    shoes, socks, hats = create_categories(
        api, category("Shoes"), category("Socks"), category("Hats")
    )

    response = api(
        "PUT",
        "catalog/trees/categories",
        [
            {"category_id": socks["category_id"], "name": "Shoes"},
            {"category_id": hats["category_id"], "description": "warm"},
        ],
    )

    assert response.status_code == 207
    assert set(response.json()["errors"]["errors"]) == {"0.name"}
    assert response.json()["meta"]["failed"] == 1
    assert shoes["name"] == "Shoes"


def test_put_cannot_move_a_category_under_its_own_child(api):
    [shoes] = create_categories(api, category("Shoes"))
    [runners] = create_categories(api, category("Runners", shoes["category_id"]))

    response = api(
        "PUT",
        "catalog/trees/categories",
        [{"category_id": shoes["category_id"], "parent_id": runners["category_id"]}],
    )

    assert response.status_code == 422
    assert "0.parent_id" in response.json()["errors"]


def test_delete_takes_the_subtree_and_needs_a_filter(api):
    [shoes] = create_categories(api, category("Shoes"))
    [runners] = create_categories(api, category("Runners", shoes["category_id"]))
    create_categories(api, category("Trail", runners["category_id"]), category("Hats"))

    assert api("DELETE", "catalog/trees/categories").status_code == 422
    response = api(
        "DELETE", "catalog/trees/categories", params={"category_id:in": shoes["category_id"]}
    )

    assert response.status_code == 204
    left = api("GET", "catalog/trees/categories").json()["data"]
    assert [c["name"] for c in left] == ["Hats"]


def test_nested_tree(api):
    [shoes] = create_categories(api, category("Shoes"))
    [runners] = create_categories(api, category("Runners", shoes["category_id"]))

    body = api("GET", "catalog/trees/1/categories").json()

    [node] = body["data"]
    assert node["id"] == shoes["category_id"]
    assert node["depth"] == 1
    [child] = node["children"]
    assert child["path"] == [shoes["category_id"], runners["category_id"]]
    assert api("GET", "catalog/trees/9/categories").status_code == 404


def test_page_size_is_capped_at_250(api):
    body = api("GET", "catalog/trees/categories", params={"limit": 1000}).json()

    assert body["meta"]["pagination"]["per_page"] == 250


# --- brands --------------------------------------------------------------------------------


def test_brand_create_read_update_delete(api):
    response = api("POST", "catalog/brands", {"name": "Acme", "image_url": "https://img/a.png"})
    assert response.status_code == 200
    brand = response.json()["data"]
    assert brand["custom_url"] == {"url": "/acme/", "is_customized": False}
    assert brand["image_url"] == "https://img/a.png"

    changed = api(
        "PUT",
        f"catalog/brands/{brand['id']}",
        {"name": "Acme Co", "custom_url": {"url": "/acme-co/", "is_customized": True}},
    ).json()["data"]
    assert changed["name"] == "Acme Co"
    assert (
        api("GET", "catalog/brands", params={"name": "acme co"}).json()["data"][0]["id"]
        == (brand["id"])
    )
    assert api("DELETE", f"catalog/brands/{brand['id']}").status_code == 204
    assert api("GET", f"catalog/brands/{brand['id']}").status_code == 404


def test_duplicate_brand_name_is_409(api):
    api("POST", "catalog/brands", {"name": "Acme"})

    response = api("POST", "catalog/brands", {"name": "ACME"})

    assert response.status_code == 409
    assert response.json()["status"] == 409
    assert "conflict" in response.json()["title"]


def test_brand_without_a_name_is_422(api):
    response = api("POST", "catalog/brands", {"page_title": "x"})

    assert response.status_code == 422
    assert "name" in response.json()["errors"]


def test_brand_filters_by_id_in(api):
    ids = [api("POST", "catalog/brands", {"name": f"B{n}"}).json()["data"]["id"] for n in range(3)]

    body = api("GET", "catalog/brands", params={"id:in": f"{ids[0]},{ids[2]}"}).json()

    assert [b["name"] for b in body["data"]] == ["B0", "B2"]


# --- products: categories, brand, images, custom fields ------------------------------------


def test_product_with_categories_brand_images_and_custom_fields(api):
    [shoes] = create_categories(api, category("Shoes"))
    brand = api("POST", "catalog/brands", {"name": "Acme"}).json()["data"]
    body = product(
        categories=[shoes["category_id"]],
        brand_id=brand["id"],
        custom_url={"url": "/mug-one/", "is_customized": True},
        images=[
            {"image_url": "https://img/b.jpg", "sort_order": 2, "description": "back"},
            {"image_url": "https://img/f.jpg", "sort_order": 1, "description": "front"},
        ],
        custom_fields=[{"name": "Material", "value": "Stoneware"}],
    )

    created = api("POST", "catalog/products", body).json()["data"]
    fetched = api(
        "GET", f"catalog/products/{created['id']}", params={"include": "images,custom_fields"}
    ).json()["data"]
    plain = api("GET", f"catalog/products/{created['id']}").json()["data"]

    assert fetched["categories"] == [shoes["category_id"]]
    assert fetched["brand_id"] == brand["id"]
    assert fetched["custom_url"] == {"url": "/mug-one/", "is_customized": True}
    assert [i["description"] for i in fetched["images"]] == ["front", "back"]
    assert [i["is_thumbnail"] for i in fetched["images"]] == [True, False]
    assert fetched["images"][0]["url_standard"] == "https://img/f.jpg"
    assert fetched["custom_fields"][0]["name"] == "Material"
    assert isinstance(fetched["custom_fields"][0]["id"], int)
    assert "images" not in plain and "custom_fields" not in plain


def test_unknown_category_or_brand_is_422(api):
    response = api("POST", "catalog/products", product(categories=[424242], brand_id=777))

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "424242" in errors["categories"]
    assert "777" in errors["brand_id"]


def test_invalid_images_and_custom_fields_are_422(api):
    response = api(
        "POST",
        "catalog/products",
        product(images=[{"image_url": "ftp://x"}], custom_fields=[{"name": "", "value": "v"}]),
    )

    assert response.status_code == 422
    assert {"images.0.image_url", "custom_fields.0.name"} <= set(response.json()["errors"])


def test_put_changes_images_and_fields_by_id_and_adds_new_ones(api):
    created = api(
        "POST",
        "catalog/products",
        product(
            images=[{"image_url": "https://img/1.jpg"}],
            custom_fields=[{"name": "A", "value": "1"}],
        ),
    ).json()["data"]
    image_id = created["images"][0]["id"]
    field_id = created["custom_fields"][0]["id"]

    response = api(
        "PUT",
        f"catalog/products/{created['id']}",
        {
            "images": [
                {"id": image_id, "description": "changed"},
                {"image_url": "https://img/2.jpg", "sort_order": 5},
            ],
            "custom_fields": [{"id": field_id, "value": "2"}, {"name": "B", "value": "3"}],
        },
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [(i["id"] == image_id, i["description"]) for i in data["images"]] == [
        (True, "changed"),
        (False, ""),
    ]
    assert [(f["name"], f["value"]) for f in data["custom_fields"]] == [("A", "2"), ("B", "3")]


def test_image_and_custom_field_sub_resources(api):
    created = api(
        "POST", "catalog/products", product(custom_fields=[{"name": "A", "value": "1"}])
    ).json()["data"]
    base = f"catalog/products/{created['id']}"

    image = api("POST", f"{base}/images", {"image_url": "https://img/x.jpg"}).json()["data"]
    listed = api("GET", f"{base}/images").json()
    assert [i["id"] for i in listed["data"]] == [image["id"]]
    assert listed["meta"]["pagination"]["total"] == 1
    assert api("DELETE", f"{base}/images/{image['id']}").status_code == 204
    assert api("GET", f"{base}/images").json()["data"] == []

    [field] = api("GET", f"{base}/custom-fields").json()["data"]
    assert api("DELETE", f"{base}/custom-fields/{field['id']}").status_code == 204
    assert api("DELETE", f"{base}/custom-fields/{field['id']}").status_code == 404


def test_variant_option_value_and_option_deletes(api):
    """What a PUT cannot take away: a variant, then the option value or option only it used;
    values and options still in use are refused with 422, the base variant cannot go, and a
    product whose last option variant goes gets its base variant back."""
    created = api("POST", "catalog/products?include=variants", shirt()).json()["data"]
    base = f"catalog/products/{created['id']}"
    by_sku = {v["sku"]: v for v in created["variants"]}
    blue = by_sku["SH-S-Blue"]
    [blue_value] = [v for v in blue["option_values"] if v["label"] == "Blue"]
    colour = blue_value["option_id"]
    in_use = api("DELETE", f"{base}/options/{colour}/values/{blue_value['id']}")
    assert in_use.status_code == 422 and "delete the variant first" in in_use.text

    assert api("DELETE", f"{base}/variants/{blue['id']}").status_code == 204
    assert api("DELETE", f"{base}/variants/{blue['id']}").status_code == 404
    left = api("GET", f"{base}/variants").json()["data"]
    assert sorted(v["sku"] for v in left) == ["SH-M-Red", "SH-S-Red"]
    assert api("GET", base).json()["data"]["inventory_level"] == 1 + 2

    assert api("DELETE", f"{base}/options/{colour}/values/{blue_value['id']}").status_code == 204
    assert api("DELETE", f"{base}/options/{colour}/values/{blue_value['id']}").status_code == 404
    options = api("GET", f"{base}?include=options").json()["data"]["options"]
    assert {v["label"] for o in options for v in o["option_values"]} == {"S", "M", "Red"}
    assert api("DELETE", f"{base}/options/{colour}").status_code == 422

    for variant in left:
        assert api("DELETE", f"{base}/variants/{variant['id']}").status_code == 204
    [base_variant] = api("GET", f"{base}/variants").json()["data"]
    assert base_variant["option_values"] == []
    assert api("DELETE", f"{base}/variants/{base_variant['id']}").status_code == 422
    assert api("DELETE", f"{base}/options/{colour}").status_code == 204
    assert api("DELETE", f"{base}/options/{colour}").status_code == 404
