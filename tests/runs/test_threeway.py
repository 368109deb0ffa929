"""The field-by-field merge itself, on plain dicts."""

from datetime import UTC, datetime

from apps.runs.threeway import merge, policy_for

BASE = {"name": "Shirt", "price": "10.00", "categories": ["1"], "stock": None}
TARGET_BASE = {"name": "Shirt", "price": "10.00", "categories": ["7"], "stock": 0}


def run_merge(source, target, policies=None, **times):
    return merge(
        "products",
        base=BASE,
        source=source,
        source_resolved={
            **source,
            "categories": ["7" if c == "1" else "8" for c in source["categories"]],
        },
        base_target=TARGET_BASE,
        target=target,
        policies=policies,
        **times,
    )


def test_one_sided_changes_merge_by_themselves():
    result = run_merge({**BASE, "price": "12.00"}, {**TARGET_BASE, "name": "Shirt (new store)"})
    assert result.merged["price"] == "12.00" and result.merged["name"] == "Shirt (new store)"
    assert result.unresolved == [] and result.source_changed == ["price"]


def test_a_lossy_mapping_is_not_a_target_edit():
    # stock None on the source is 0 on the target: unchanged since our write, not a conflict.
    result = run_merge({**BASE, "stock": None, "price": "9.00"}, dict(TARGET_BASE))
    assert result.target_changed == [] and result.merged["stock"] == 0


def test_both_sides_to_the_same_value_is_no_conflict():
    result = run_merge({**BASE, "price": "11.00"}, {**TARGET_BASE, "price": "11.00"})
    assert result.unresolved == [] and result.merged["price"] == "11.00"


def test_both_sides_to_different_values_is_manual_by_default():
    result = run_merge({**BASE, "price": "11.00"}, {**TARGET_BASE, "price": "13.00"})
    assert result.unresolved == ["price"] and result.merged["price"] == "13.00"


def test_latest_needs_both_timestamps_and_takes_the_later():
    policies = {"products": {"default": "latest"}}
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    args = ({**BASE, "price": "11.00"}, {**TARGET_BASE, "price": "13.00"}, policies)
    assert run_merge(*args, source_time=late, target_time=early).merged["price"] == "11.00"
    assert run_merge(*args, source_time=early, target_time=late).merged["price"] == "13.00"
    assert run_merge(*args).unresolved == ["price"]  # no timestamps: a person decides


def test_merge_unions_lists_and_leaves_scalars_to_a_person():
    policies = {"products": {"default": "merge"}}
    result = run_merge(
        {**BASE, "categories": ["1", "2"], "price": "11.00"},
        {**TARGET_BASE, "categories": ["7", "9"], "price": "13.00"},
        policies,
    )
    assert result.merged["categories"] == ["7", "8", "9"]
    assert result.unresolved == ["price"]


def test_policy_lookup_falls_back_to_manual():
    policies = {"products": {"default": "target_wins", "fields": {"price": "source_wins"}}}
    assert policy_for(policies, "products", "price") == "source_wins"
    assert policy_for(policies, "products", "name") == "target_wins"
    assert policy_for(policies, "orders", "total") == "manual"
    assert policy_for({"products": {"default": "bogus"}}, "products", "x") == "manual"
