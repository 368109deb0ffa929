import pytest
from django.core.exceptions import ValidationError

from apps.projects.mapping import apply, check_mapping, effective_mapping


def test_platform_pair_defaults_cut_names_to_the_targets_limits():
    mapping = effective_mapping("woocommerce", "bigcommerce", None)
    mapped = apply("products", {"name": "x" * 300, "sku": "A"}, mapping)
    assert len(mapped["name"]) == 250 and mapped["sku"] == "A"


def test_a_project_overrides_a_field_and_keeps_the_other_defaults():
    mapping = effective_mapping(
        "woocommerce",
        "bigcommerce",
        {
            "products": {
                "description": {"from": "name", "transforms": ["upper", "prefix:New: "]},
                "status": {"value": "draft"},
            }
        },
    )
    mapped = apply("products", {"name": "Blue shirt", "description": "<p>x</p>"}, mapping)
    assert mapped == {"name": "Blue shirt", "description": "New: BLUE SHIRT", "status": "draft"}


def test_strip_html_and_default_transforms():
    mapping = {"posts": {"summary": {"transforms": ["strip_html", "default:(none)"]}}}
    assert apply("posts", {"summary": "<p>Fish &amp; chips</p>"}, mapping)["summary"] == (
        "Fish & chips"
    )
    assert apply("posts", {"summary": "<br>"}, mapping)["summary"] == "(none)"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"products": {"name": {"transforms": ["explode"]}}}, "Unknown transform 'explode'"),
        ({"products": {"name": {"rename": "x"}}}, "products.name"),
        ({"products": ["name"]}, "products: expected an object"),
        ([], "object of entities"),
    ],
)
def test_malformed_mappings_are_refused_with_a_message(mapping, message):
    with pytest.raises(ValidationError, match=message):
        check_mapping(mapping)
