import pytest

from apps.projects.cleansing import cleanse, normalise_phone, rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 123-4567", "5551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("555.123.4567 ext. 12", "5551234567"),
        ("call me maybe", None),
        ("12", None),
        ("", ""),
    ],
)
def test_phone_numbers_are_normalised_or_refused(raw, expected):
    assert normalise_phone(raw) == expected


def test_cleansing_trims_lowercases_emails_and_drops_bad_phones_with_a_note():
    record = {
        "email": "  Jane.Doe@Example.COM ",
        "first_name": " Jane ",
        "phone": "not a phone",
        "addresses": [{"type": "billing", "city": " Leeds ", "phone": "+44 113 496 0000"}],
    }
    cleansed, notes = cleanse("customers", record, rules(None))
    assert cleansed["email"] == "jane.doe@example.com"
    assert cleansed["first_name"] == "Jane"
    assert cleansed["phone"] == ""
    assert cleansed["addresses"][0] == {
        "type": "billing",
        "city": "Leeds",
        "phone": "+441134960000",
    }
    assert notes == ["phone 'not a phone' dropped: not a phone number"]
    assert record["email"] == "  Jane.Doe@Example.COM "  # the input is left alone


def test_rules_can_be_switched_off_per_project():
    active = rules({"trim": False, "normalise_phones": False, "unknown": True})
    cleansed, notes = cleanse("customers", {"email": "A@B.CO", "phone": "x", "x": " y "}, active)
    assert cleansed == {"email": "a@b.co", "phone": "x", "x": " y "}
    assert notes == []
    assert "unknown" not in active
