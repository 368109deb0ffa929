"""What every WooCommerce entity shares: batch answers, per-item errors, and readers of raw
fields that raise RecordInvalid with the record named."""

from __future__ import annotations

import html
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from apps.stores.connectors.base import ConnectorError, RecordInvalid, WriteResult
from apps.stores.connectors.canonical import money

BATCH_LIMIT = 100


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def header_int(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


# --- batch answers -------------------------------------------------------------------------


def answers(body: Any, op: str, expected: int) -> list[dict[str, Any]]:
    found = body.get(op) if isinstance(body, dict) else None
    if not isinstance(found, list) or len(found) != expected:
        got = len(found) if isinstance(found, list) else 0
        raise ConnectorError(f"batch {op}: expected {expected} answers, got {got}")
    return [a if isinstance(a, dict) else {"error": {"message": "not an object"}} for a in found]


def error_code(error: Any) -> str:
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "error")
    return str(error)


def error_status(error: Any) -> int | None:
    data = error.get("data") if isinstance(error, dict) else None
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, int) else None


def item_failed(ref: str, error: Any) -> WriteResult:
    """A per-item error of a batch (or a refused single request) as a failed WriteResult. The
    status and code stay as the platform gave them, so the engine can tell a duplicate (400
    product_invalid_sku, term_exists, registration-error-email-exists) and adopt the holder."""
    status = error_status(error)
    extra: dict[str, Any] = {"code": error_code(error)}
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, dict):
        # Who holds the duplicated SKU / term (WooCommerce: resource_id; WordPress: term_id).
        holder = data.get("resource_id") or data.get("term_id")
        if holder:
            extra["resource_id"] = str(holder)
    return WriteResult(
        ref=ref,
        ok=False,
        error=error_message(error),
        status=status,
        retryable=bool(status and status >= 500),
        extra=extra,
    )


def failed(ref: str, exc: ConnectorError) -> WriteResult:
    return WriteResult(
        ref=ref, ok=False, error=str(exc), status=exc.status, retryable=exc.retryable
    )


def response_error(response: httpx.Response) -> dict[str, Any]:
    """A refused single request's body as a batch-style error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        return {**body, "data": {**data, "status": response.status_code}}
    reason = response.reason_phrase or "error"
    return {"code": "", "message": reason, "data": {"status": response.status_code}}


# --- raw field readers ---------------------------------------------------------------------


def record(raw: Any, kind: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RecordInvalid(f"the {kind} record is not a JSON object")
    return raw


def text(raw: dict[str, Any], field: str, who: str) -> str:
    value = raw.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordInvalid(f"{who}: {field} is a {type(value).__name__}, not text")
    return value


def unescaped(raw: dict[str, Any], field: str, who: str) -> str:
    """A term name as WordPress answers it ("Home &amp; Garden") → the text it stands for."""
    return html.unescape(text(raw, field, who))


def amount(value: Any, field: str, who: str) -> str | None:
    try:
        return money(value)
    except ValueError:
        raise RecordInvalid(f"{who}: {field} {value!r} is not a number") from None


def required_amount(value: Any, field: str, who: str) -> str:
    return amount(value, field, who) or "0.00"


def whole(value: Any, field: str, who: str) -> int:
    if isinstance(value, bool):
        raise RecordInvalid(f"{who}: {field} {value!r} is not a whole number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RecordInvalid(f"{who}: {field} {value!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RecordInvalid(f"{who}: {field} {value!r} is not a whole number")
    return int(number)


def listed(raw: dict[str, Any], field: str, who: str) -> list[Any]:
    value = raw.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordInvalid(f"{who}: {field} is not a list")
    return value


def mapping(raw: dict[str, Any], field: str, who: str) -> dict[str, Any]:
    value = raw.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordInvalid(f"{who}: {field} is not an object")
    return value


def ref(value: Any, field: str, who: str) -> str | None:
    """A WooCommerce id as a canonical reference: 0 / None / "" mean none."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool) or not str(value).isdigit():
        raise RecordInvalid(f"{who}: {field} {value!r} is not an id")
    return str(int(value))


def target_id(value: Any) -> int:
    """A canonical reference (a target id as a string) → the integer WooCommerce takes; 0 for
    none."""
    return int(value) if value not in (None, "") and str(value).isdigit() else 0


def utc(value: Any, field: str, who: str) -> str | None:
    """A WordPress GMT date ("2026-05-01T10:00:00") → canonical ISO UTC ("…Z")."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) < 19 or value[10] not in "T ":
        raise RecordInvalid(f"{who}: {field} {value!r} is not a date")
    return value[:10] + "T" + value[11:19] + "Z"


def wp_gmt(value: str | None) -> str | None:
    """A canonical UTC timestamp → what WordPress's *_gmt fields take."""
    if not value:
        return None
    return value.replace("Z", "").replace("+00:00", "")[:19]
