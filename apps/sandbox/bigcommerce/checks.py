"""Field-by-field request checks shared by the catalog, customers, orders and blog endpoints.

A Checker reads one JSON object; each call checks one field, records a problem under its path
("0.name", "billing_address.zip") and keeps the valid value in `clean`. Unknown and read-only
fields are ignored, as the platform ignores them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

_MISSING = object()


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_moment(value: str) -> datetime | None:
    """RFC 2822 ("Tue, 20 Nov 2012 00:00:00 +0000"), ISO 8601, a date, or a Unix timestamp."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    # An unencoded "+00:00" in a query string arrives as " 00:00".
    iso = text.replace(" ", "+") if "T" in text else text
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Checker:
    def __init__(self, payload: Any, errors: dict[str, str], prefix: str = "") -> None:
        self.ok = isinstance(payload, dict)
        self.payload: dict[str, Any] = payload if self.ok else {}
        self.errors = errors
        self.prefix = prefix
        self.clean: dict[str, Any] = {}
        if not self.ok:
            errors[prefix.rstrip(".") or "body"] = "must be a JSON object"

    def path(self, name: str) -> str:
        return self.prefix + name

    def fail(self, name: str, reason: str) -> None:
        self.errors[self.path(name)] = reason

    def _get(self, name: str, required: bool) -> Any:
        value = self.payload.get(name, _MISSING)
        if value is _MISSING and required and self.ok:
            self.fail(name, "is required")
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
        strip: bool = False,
    ) -> None:
        value = self._get(name, required)
        if value is _MISSING:
            return
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return
        if strip:
            value = value.strip()
        if len(value) < min_length:
            self.fail(name, "must not be empty" if min_length == 1 else f"needs {min_length}+")
        elif max_length is not None and len(value) > max_length:
            self.fail(name, f"must be at most {max_length} characters")
        else:
            self.clean[name] = value

    def integer(self, name: str, *, required: bool = False, minimum: int | None = 0) -> None:
        value = self._get(name, required)
        if value is _MISSING:
            return
        if not is_integer(value):
            self.fail(name, "must be an integer")
        elif minimum is not None and value < minimum:
            self.fail(name, f"must be {minimum} or more")
        else:
            self.clean[name] = value

    def boolean(self, name: str, *, required: bool = False) -> None:
        value = self._get(name, required)
        if value is _MISSING:
            return
        if isinstance(value, bool):
            self.clean[name] = value
        else:
            self.fail(name, "must be a boolean")

    def choice(self, name: str, choices: tuple[str, ...], *, required: bool = False) -> None:
        value = self._get(name, required)
        if value is _MISSING:
            return
        if value in choices:
            self.clean[name] = value
        else:
            self.fail(name, f"must be one of: {', '.join(choices)}")

    def strings(self, name: str) -> None:
        value = self._get(name, False)
        if value is _MISSING:
            return
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            self.clean[name] = value
        else:
            self.fail(name, "must be a list of strings")

    def integers(self, name: str) -> None:
        value = self._get(name, False)
        if value is _MISSING:
            return
        if isinstance(value, list) and all(is_integer(v) and v >= 0 for v in value):
            self.clean[name] = value
        else:
            self.fail(name, "must be a list of integers")

    def url_path(self, name: str, *, required: bool = False) -> None:
        value = self._get(name, required)
        if value is _MISSING:
            return
        if isinstance(value, str) and value.startswith("/"):
            self.clean[name] = value
        else:
            self.fail(name, "must be a path starting with /")

    def web_url(self, name: str) -> None:
        """A fully qualified http(s) URL, or "" for none."""
        value = self._get(name, False)
        if value is _MISSING:
            return
        if isinstance(value, str) and (value == "" or value.startswith(("http://", "https://"))):
            self.clean[name] = value
        else:
            self.fail(name, "must be a fully qualified http(s) URL or an empty string")

    def money(self, name: str, *, required: bool = False) -> None:
        """v2 money: a number or a numeric string ("Float, Float-As-String, Integer"), >= 0."""
        value = self._get(name, required)
        if value is _MISSING:
            return
        amount = to_decimal(value)
        if amount is None:
            self.fail(name, "must be a number")
        elif amount < 0:
            self.fail(name, "can't be negative")
        else:
            self.clean[name] = amount

    def moment(self, name: str) -> None:
        value = self._get(name, False)
        if value is _MISSING:
            return
        moment = parse_moment(value) if isinstance(value, str) else None
        if moment is None:
            self.fail(name, "must be a date in RFC 2822 (Tue, 20 Nov 2012 00:00:00 +0000)")
        else:
            self.clean[name] = moment


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
