import pytest
from django.core.exceptions import ImproperlyConfigured

from migrator.env import env_bool, env_float, env_int, env_list, env_str


def test_readers_parse_good_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_FLOAT", "2.5")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 42
    assert env_float("X_FLOAT", 0.0) == 2.5
    assert env_list("X_LIST", []) == ["a", "b", "c"]


def test_unset_or_blank_values_take_the_default(monkeypatch):
    monkeypatch.setenv("X_INT", "  ")
    monkeypatch.delenv("X_BOOL", raising=False)
    assert env_int("X_INT", 7) == 7
    assert env_bool("X_BOOL", True) is True
    assert env_str("X_BOOL", "fallback") == "fallback"


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: env_bool("X", False), "maybe", "is not a boolean"),
        (lambda: env_int("X", 1), "ten", "is not an integer"),
        (lambda: env_int("X", 1, minimum=5), "3", "below the minimum"),
        (lambda: env_float("X", 1.0), "fast", "is not a number"),
    ],
)
def test_bad_values_fail_loudly(monkeypatch, reader, value, message):
    monkeypatch.setenv("X", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_a_required_value_that_is_missing_names_itself(monkeypatch):
    monkeypatch.delenv("DJANGO_SECRET_KEY_X", raising=False)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY_X is required"):
        env_str("DJANGO_SECRET_KEY_X")


def test_production_settings_refuse_to_start_without_secrets(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "MIGRATOR_ENV": "production",
        "MIGRATOR_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "migrator.settings",
    }
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr
