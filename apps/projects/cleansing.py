"""Cleansing rules applied to canonical records before validation.

Each rule can be switched off per project (`Project.cleansing`, e.g. {"trim": false}); every
change a rule makes that a merchant would want to know about is returned as a note and kept in
the record's outcome. Dropping duplicates (same natural key) is done by the engine, which lists
each dropped record as a documented exclusion.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULTS = {
    "trim": True,  # strip surrounding white space from every text value
    "normalise_emails": True,  # lower-case and trim email addresses
    "normalise_phones": True,  # keep digits and a leading +; drop values that are not phones
    "dedupe_by_natural_key": True,  # a second record with the same key is excluded
    # Remove control characters (NUL, BEL …; tab and line breaks stay): PostgreSQL cannot
    # store NUL and targets refuse the rest.
    "strip_control_characters": True,
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_PHONE_KEEP = re.compile(r"[^\d+]")
_PHONE_EXTENSION = re.compile(r"\s*(?:ext\.?|x|#)\s*\d+\s*$", re.IGNORECASE)
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 6, 15  # E.164 allows at most 15 digits


def rules(project_cleansing: dict[str, Any] | None) -> dict[str, bool]:
    merged = dict(DEFAULTS)
    for key, value in (project_cleansing or {}).items():
        if key in merged:
            merged[key] = bool(value)
    return merged


def _trim(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_trim(item) for item in value]
    if isinstance(value, dict):
        return {key: _trim(item) for key, item in value.items()}
    return value


def normalise_phone(raw: str) -> str | None:
    """A phone number reduced to digits with an optional leading +, or None if it is not one."""
    text = _PHONE_EXTENSION.sub("", raw.strip())
    if not text:
        return ""
    if re.search(r"[A-Za-z]", text):
        return None
    plus = text.startswith("+") or text.startswith("00")
    digits = _PHONE_KEEP.sub("", text).replace("+", "")
    if text.startswith("00"):
        digits = digits[2:]
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return None
    return f"+{digits}" if plus else digits


def _phones(record: dict[str, Any], notes: list[str]) -> None:
    holders = [record, *(record.get("addresses") or [])]
    holders += [record[k] for k in ("billing", "shipping") if isinstance(record.get(k), dict)]
    for holder in holders:
        value = holder.get("phone")
        if not isinstance(value, str) or not value:
            continue
        cleaned = normalise_phone(value)
        if cleaned is None:
            notes.append(f"phone {value!r} dropped: not a phone number")
            holder["phone"] = ""
        else:
            holder["phone"] = cleaned


def cleanse(
    entity: str, record: dict[str, Any], active: dict[str, bool]
) -> tuple[dict[str, Any], list[str]]:
    """The cleansed record and notes on what changed (the input is not modified)."""
    notes: list[str] = []
    if active["strip_control_characters"]:
        record = _strip_controls(record, "", notes)
    record = _trim(record) if active["trim"] else _copy(record)
    if active["normalise_emails"]:
        for holder in (record, record.get("billing")):
            if isinstance(holder, dict) and isinstance(holder.get("email"), str):
                holder["email"] = holder["email"].strip().lower()
    if active["normalise_phones"] and entity in ("customers", "orders"):
        _phones(record, notes)
    return record, notes


def _strip_controls(value: Any, where: str, notes: list[str]) -> Any:
    if isinstance(value, str):
        cleaned, removed = _CONTROL.subn("", value)
        if removed:
            notes.append(f"removed {removed} control character(s) from {where or 'a value'}")
        return cleaned
    if isinstance(value, list):
        return [_strip_controls(v, f"{where}[{i}]", notes) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            k: _strip_controls(v, f"{where}.{k}" if where else str(k), notes)
            for k, v in value.items()
        }
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value
