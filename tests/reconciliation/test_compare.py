from apps.reconciliation.compare import diff, flatten


def test_lists_of_objects_are_keyed_by_what_names_an_element():
    record = {
        "variants": [{"sku": "B", "price": "2.00"}, {"sku": "A", "price": "1.00"}],
        "addresses": [{"type": "billing", "city": "Leeds"}],
        "tags": ["a", "b"],
    }
    assert flatten(record) == {
        "variants[B].sku": "B",
        "variants[B].price": "2.00",
        "variants[A].sku": "A",
        "variants[A].price": "1.00",
        "addresses[billing].type": "billing",
        "addresses[billing].city": "Leeds",
        "tags": ["a", "b"],
    }


def test_duplicate_element_names_fall_back_to_positions():
    assert flatten({"lines": [{"sku": "X", "q": 1}, {"sku": "X", "q": 2}]}) == {
        "lines[0].sku": "X",
        "lines[0].q": 1,
        "lines[1].sku": "X",
        "lines[1].q": 2,
    }


def test_order_of_variants_does_not_matter_but_a_missing_variant_does():
    expected = {"variants": [{"sku": "A", "price": "1.00"}, {"sku": "B", "price": "2.00"}]}
    assert diff(expected, {"variants": list(reversed(expected["variants"]))}) == []
    assert diff(expected, {"variants": expected["variants"][:1]}) == [
        {"field": "variants[B].price", "source": "2.00", "target": None},
        {"field": "variants[B].sku", "source": "B", "target": None},
    ]


def test_fields_the_target_cannot_hold_are_not_compared():
    assert diff({"name": "A", "weight": "2"}, {"name": "A"}) == []


def test_a_difference_the_last_write_made_is_excused_only_while_neither_side_moved():
    base = {"v": [{"sku": "A", "stock": None}]}
    became = {"v": [{"sku": "A", "stock": 0}]}
    lossy = {"source": base, "base": base, "base_target": became}
    assert diff(base, became) == [{"field": "v[A].stock", "source": None, "target": 0}]
    assert diff(base, became, **lossy) == []
    # The target changed it since (5): reported.
    edited = {"v": [{"sku": "A", "stock": 5}]}
    assert diff(base, edited, **lossy) == [{"field": "v[A].stock", "source": None, "target": 5}]
    # The source changed it since (now tracked, 3): reported.
    source = {"v": [{"sku": "A", "stock": 3}]}
    assert diff(source, became, **{**lossy, "source": source}) == [
        {"field": "v[A].stock", "source": 3, "target": 0}
    ]
