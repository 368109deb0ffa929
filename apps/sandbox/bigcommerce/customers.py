"""Customers and their addresses (Customers API v3 `customers`, `customers/addresses`).

- resource "customer": name and unique_name hold the casefolded email (filters use the column;
  the unique constraint refuses a second account for one email even when requests race).
- resource "customer-address": parent_id is the customer's id.

Writes are arrays of at most 10 (413 beyond) and all or nothing: one invalid customer or one
email already in use refuses the whole request with 422, as the platform does. PUT does not
touch addresses ("subresource updates are not supported"); they have their own endpoint.
At most 3 requests per store may be in flight on this API: the views pass through the
concurrency gate (concurrency.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from apps.sandbox.bigcommerce import errors as err
from apps.sandbox.bigcommerce.checks import Checker
from apps.sandbox.bigcommerce.errors import ApiError, invalid
from apps.sandbox.bigcommerce.query import int_list, moment, page_of, text_list
from apps.sandbox.models import SandboxObject, SandboxStore
from apps.sandbox.webhooks import notify

CUSTOMER = "customer"
ADDRESS = "customer-address"
MAX_BATCH = 10
ADDRESS_TYPES = ("residential", "commercial")
SORTS = {
    "date_created:asc": ["date_created", "object_id"],
    "date_created:desc": ["-date_created", "-object_id"],
    "date_modified:asc": ["date_modified", "object_id"],
    "date_modified:desc": ["-date_modified", "-object_id"],
    "last_name:asc": ["data__last_name", "object_id"],
    "last_name:desc": ["-data__last_name", "-object_id"],
}
COUNTRIES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "AU": "Australia",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "ES": "Spain",
    "IT": "Italy",
    "IE": "Ireland",
    "NZ": "New Zealand",
}
_CUSTOMER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "phone",
    "notes",
    "tax_exempt_category",
    "customer_group_id",
    "accepts_product_review_abandoned_cart_emails",
    "origin_channel_id",
    "channel_ids",
)
_ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state_or_province",
    "postal_code",
    "country_code",
    "phone",
    "address_type",
)


def _now() -> datetime:
    return timezone.now().replace(microsecond=0)


def _iso(moment_: datetime) -> str:
    return moment_.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _customers(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=CUSTOMER)


def _addresses(store: SandboxStore) -> QuerySet[SandboxObject]:
    return SandboxObject.objects.filter(store=store, resource=ADDRESS)


def address_json(row: SandboxObject) -> dict[str, Any]:
    data = row.data
    code = data.get("country_code", "")
    return {
        "id": row.object_id,
        "customer_id": row.parent_id,
        **{key: data.get(key, "") for key in _ADDRESS_FIELDS},
        "address_type": data.get("address_type", "residential"),
        "country": COUNTRIES.get(code, code),
    }


def customer_json(
    row: SandboxObject, addresses: list[SandboxObject], *, with_addresses: bool
) -> dict[str, Any]:
    data = row.data
    body: dict[str, Any] = {
        "id": row.object_id,
        "email": data.get("email", row.name),
        "first_name": data.get("first_name", ""),
        "last_name": data.get("last_name", ""),
        "company": data.get("company", ""),
        "phone": data.get("phone", ""),
        "registration_ip_address": "",
        "notes": data.get("notes", ""),
        "tax_exempt_category": data.get("tax_exempt_category", ""),
        "customer_group_id": data.get("customer_group_id", 0),
        "date_created": _iso(row.date_created),
        "date_modified": _iso(row.date_modified),
        "address_count": len(addresses),
        "attribute_count": 0,
        "authentication": {"force_password_reset": data.get("force_password_reset", False)},
        "accepts_product_review_abandoned_cart_emails": data.get(
            "accepts_product_review_abandoned_cart_emails", False
        ),
        "store_credit_amounts": [{"amount": 0}],
        "origin_channel_id": data.get("origin_channel_id", 1),
        "channel_ids": data.get("channel_ids"),
    }
    if with_addresses:
        body["addresses"] = [address_json(address) for address in addresses]
    return body


def _addresses_by_customer(
    store: SandboxStore, customer_ids: Iterable[int]
) -> dict[int, list[SandboxObject]]:
    grouped: dict[int, list[SandboxObject]] = defaultdict(list)
    rows = _addresses(store).filter(parent_id__in=list(customer_ids)).order_by("object_id")
    for row in rows:
        grouped[row.parent_id].append(row)
    return grouped


def _serialize(
    store: SandboxStore, rows: list[SandboxObject], *, with_addresses: bool
) -> list[dict[str, Any]]:
    addresses = _addresses_by_customer(store, [row.object_id for row in rows])
    return [
        customer_json(row, addresses.get(row.object_id, []), with_addresses=with_addresses)
        for row in rows
    ]


# --- checks --------------------------------------------------------------------------------


def _check_address(item: Any, prefix: str, errors: dict[str, str], *, creating: bool) -> Checker:
    check = Checker(item, errors, prefix)
    for name in ("first_name", "last_name", "city", "address1"):
        check.text(name, required=creating, min_length=1, max_length=255)
    for name in ("company", "address2", "state_or_province", "postal_code", "phone"):
        check.text(name, max_length=255)
    check.choice("address_type", ADDRESS_TYPES)
    code = check.payload.get("country_code")
    if code is not None or creating:
        if isinstance(code, str) and len(code) == 2 and code.isalpha():
            check.clean["country_code"] = code.upper()
        else:
            check.fail("country_code", "must be an ISO 3166-1 alpha-2 country code")
    return check


def _check_customer(item: Any, prefix: str, errors: dict[str, str], *, creating: bool) -> Checker:
    check = Checker(item, errors, prefix)
    if not creating:
        check.integer("id", required=True, minimum=1)
    check.text("email", required=creating, min_length=3, max_length=250, strip=True)
    email = check.clean.get("email")
    if email is not None:
        local, _, domain = email.partition("@")
        if not local or not domain:
            check.fail("email", "must be a valid email address")
            del check.clean["email"]
    check.text("first_name", required=creating, min_length=1, max_length=100)
    check.text("last_name", required=creating, min_length=1, max_length=100)
    check.text("company", max_length=255)
    check.text("phone", max_length=50)
    check.text("notes")
    check.text("tax_exempt_category")
    check.integer("customer_group_id")
    check.integer("origin_channel_id")
    check.boolean("accepts_product_review_abandoned_cart_emails")
    if check.payload.get("channel_ids") is not None:
        check.integers("channel_ids")
    auth = check.payload.get("authentication")
    if isinstance(auth, dict) and isinstance(auth.get("force_password_reset"), bool):
        check.clean["force_password_reset"] = auth["force_password_reset"]
    addresses = check.payload.get("addresses")
    if creating and addresses is not None:
        if not isinstance(addresses, list):
            check.fail("addresses", "must be a list")
        else:
            check.clean["addresses"] = [
                _check_address(a, f"{prefix}addresses.{i}.", errors, creating=True).clean
                for i, a in enumerate(addresses)
            ]
    return check


def _batch(payload: Any) -> list[Any]:
    if not isinstance(payload, list) or not payload:
        raise invalid({"body": "must be a non-empty list"})
    if len(payload) > MAX_BATCH:
        raise ApiError(413, err.CUSTOMERS_TOO_LARGE)
    return payload


def _in_use(title: str, key: str, email: str) -> ApiError:
    return ApiError(422, title, {key: f"Error creating customers : email {email} already in use"})


# --- customer writes -----------------------------------------------------------------------


def create_customers(store: SandboxStore, payload: Any) -> list[dict[str, Any]]:
    problems: dict[str, str] = {}
    cleans = [
        _check_customer(item, f"{i}.", problems, creating=True).clean
        for i, item in enumerate(_batch(payload))
    ]
    if problems:
        raise invalid(problems)
    seen: set[str] = set()
    for clean in cleans:
        email = clean["email"].casefold()
        if email in seen:
            raise _in_use(err.CREATE_CUSTOMERS_FAILED, ".customer_create", clean["email"])
        seen.add(email)
    taken = set(
        _customers(store).filter(unique_name__in=seen).values_list("unique_name", flat=True)
    )
    for clean in cleans:
        if clean["email"].casefold() in taken:
            raise _in_use(err.CREATE_CUSTOMERS_FAILED, ".customer_create", clean["email"])
    address_count = sum(len(clean.get("addresses", [])) for clean in cleans)
    ids = iter(store.allocate_ids(len(cleans) + address_count))
    now = _now()
    customers: list[SandboxObject] = []
    addresses: list[SandboxObject] = []
    for clean in cleans:
        customer_id = next(ids)
        data = {
            key: clean[key] for key in (*_CUSTOMER_FIELDS, "force_password_reset") if key in clean
        }
        customers.append(
            SandboxObject(
                store=store,
                resource=CUSTOMER,
                object_id=customer_id,
                name=clean["email"].casefold(),
                unique_name=clean["email"].casefold(),
                data=data,
                date_created=now,
                date_modified=now,
            )
        )
        addresses += [
            _address_row(store, next(ids), customer_id, address, now)
            for address in clean.get("addresses", [])
        ]
    try:
        with transaction.atomic():
            SandboxObject.objects.bulk_create(customers + addresses)
            notify(store, CUSTOMER, "created", [row.object_id for row in customers])
    except IntegrityError:
        # A racing request took one of the emails between the check and the insert.
        raise _in_use(err.CREATE_CUSTOMERS_FAILED, ".customer_create", cleans[0]["email"]) from None
    return _serialize(store, customers, with_addresses=True)


def _address_row(
    store: SandboxStore, address_id: int, customer_id: int, clean: dict[str, Any], now: datetime
) -> SandboxObject:
    data = {"address_type": "residential", **{k: clean[k] for k in _ADDRESS_FIELDS if k in clean}}
    return SandboxObject(
        store=store,
        resource=ADDRESS,
        object_id=address_id,
        parent_id=customer_id,
        data=data,
        date_created=now,
        date_modified=now,
    )


def update_customers(store: SandboxStore, payload: Any) -> list[dict[str, Any]]:
    problems: dict[str, str] = {}
    cleans = [
        _check_customer(item, f"{i}.", problems, creating=False).clean
        for i, item in enumerate(_batch(payload))
    ]
    if problems:
        raise invalid(problems)
    wanted = [clean["id"] for clean in cleans]
    if len(set(wanted)) != len(wanted):
        raise invalid({"body": "a customer appears twice in the batch"})
    now = _now()
    try:
        with transaction.atomic():
            rows = {
                row.object_id: row
                for row in _customers(store).filter(object_id__in=wanted).select_for_update()
            }
            for index, customer_id in enumerate(wanted):
                if customer_id not in rows:
                    problems[f"{index}.id"] = f"Customer {customer_id} does not exist"
            if problems:
                raise invalid(problems)
            for clean in cleans:
                row = rows[clean["id"]]
                if "email" in clean:
                    email = clean["email"].casefold()
                    clash = _customers(store).filter(unique_name=email).exclude(pk=row.pk)
                    if clash.exists():
                        raise _in_use(
                            err.UPDATE_CUSTOMERS_FAILED, ".customer_update", clean["email"]
                        )
                    row.name = row.unique_name = email
                fields = (*_CUSTOMER_FIELDS, "force_password_reset")
                row.data = {**row.data, **{key: clean[key] for key in fields if key in clean}}
                row.date_modified = now
                row.save(update_fields=["name", "unique_name", "data", "date_modified"])
            notify(store, CUSTOMER, "updated", wanted)
    except IntegrityError:
        raise _in_use(err.UPDATE_CUSTOMERS_FAILED, ".customer_update", "") from None
    return _serialize(store, [rows[i] for i in wanted], with_addresses=False)


def delete_customers(store: SandboxStore, query: QueryDict) -> None:
    if "id:in" not in query:
        return  # the platform answers 204 and deletes nothing without the filter
    problems: dict[str, str] = {}
    ids = int_list(query["id:in"], "id:in", problems)
    if problems:
        raise invalid(problems)
    with transaction.atomic():
        _addresses(store).filter(parent_id__in=ids).delete()
        _customers(store).filter(object_id__in=ids).delete()
        notify(store, CUSTOMER, "deleted", ids)


# --- customer reads ------------------------------------------------------------------------


def list_customers(
    store: SandboxStore, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    problems: dict[str, str] = {}
    qs = _customers(store)
    if "id:in" in query:
        qs = qs.filter(object_id__in=int_list(query["id:in"], "id:in", problems))
    if "email:in" in query:
        qs = qs.filter(name__in=[e.casefold() for e in text_list(query["email:in"])])
    if "name:like" in query:
        words = text_list(query["name:like"])
        match = Q()
        for word in words:
            match |= Q(data__first_name__icontains=word) | Q(data__last_name__icontains=word)
        qs = qs.filter(match)
    for name, lookup in (
        ("date_created", "date_created__date"),
        ("date_created:min", "date_created__gte"),
        ("date_created:max", "date_created__lte"),
        ("date_modified", "date_modified__date"),
        ("date_modified:min", "date_modified__gte"),
        ("date_modified:max", "date_modified__lte"),
    ):
        if name in query:
            at = moment(query[name], name, problems)
            if at is not None:
                value = at.date() if lookup.endswith("__date") else at
                qs = qs.filter(**{lookup: value})
    sort = query.get("sort")
    if sort is not None and sort not in SORTS:
        problems["sort"] = f"must be one of: {', '.join(SORTS)}"
    if problems:
        raise invalid(problems)
    rows, meta = page_of(qs, query, SORTS.get(sort or "", ["object_id"]))
    with_addresses = "addresses" in text_list(query.get("include", ""))
    return _serialize(store, rows, with_addresses=with_addresses), meta


# --- addresses -----------------------------------------------------------------------------


def list_addresses(
    store: SandboxStore, query: QueryDict
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    problems: dict[str, str] = {}
    qs = _addresses(store)
    if "id:in" in query:
        qs = qs.filter(object_id__in=int_list(query["id:in"], "id:in", problems))
    if "customer_id:in" in query:
        qs = qs.filter(parent_id__in=int_list(query["customer_id:in"], "customer_id:in", problems))
    if problems:
        raise invalid(problems)
    rows, meta = page_of(qs, query, ["object_id"])
    return [address_json(row) for row in rows], meta


def create_addresses(store: SandboxStore, payload: Any) -> list[dict[str, Any]]:
    problems: dict[str, str] = {}
    checks = [
        _check_address(item, f"{i}.", problems, creating=True)
        for i, item in enumerate(_batch(payload))
    ]
    for check in checks:
        check.integer("customer_id", required=True, minimum=1)
    if problems:
        raise invalid(problems)
    owners = {c.clean["customer_id"] for c in checks}
    known = set(_customers(store).filter(object_id__in=owners).values_list("object_id", flat=True))
    for index, check in enumerate(checks):
        if check.clean["customer_id"] not in known:
            problems[f"{index}.customer_id"] = (
                f"Customer {check.clean['customer_id']} does not exist"
            )
    if problems:
        raise invalid(problems)
    now = _now()
    ids = store.allocate_ids(len(checks))
    rows = [
        _address_row(store, address_id, check.clean["customer_id"], check.clean, now)
        for address_id, check in zip(ids, checks, strict=True)
    ]
    with transaction.atomic():
        SandboxObject.objects.bulk_create(rows)
        _customers(store).filter(object_id__in=owners).update(date_modified=now)
    return [address_json(row) for row in rows]


def update_addresses(store: SandboxStore, payload: Any) -> list[dict[str, Any]]:
    problems: dict[str, str] = {}
    checks = [
        _check_address(item, f"{i}.", problems, creating=False)
        for i, item in enumerate(_batch(payload))
    ]
    for check in checks:
        check.integer("id", required=True, minimum=1)
    if problems:
        raise invalid(problems)
    now = _now()
    with transaction.atomic():
        wanted = [check.clean["id"] for check in checks]
        rows = {
            row.object_id: row
            for row in _addresses(store).filter(object_id__in=wanted).select_for_update()
        }
        for index, address_id in enumerate(wanted):
            if address_id not in rows:
                problems[f"{index}.id"] = f"Address {address_id} does not exist"
        if problems:
            raise invalid(problems)
        for check in checks:
            row = rows[check.clean["id"]]
            row.data = {
                **row.data,
                **{k: check.clean[k] for k in _ADDRESS_FIELDS if k in check.clean},
            }
            row.date_modified = now
            row.save(update_fields=["data", "date_modified"])
        owners = {row.parent_id for row in rows.values()}
        _customers(store).filter(object_id__in=owners).update(date_modified=now)
    return [address_json(rows[i]) for i in wanted]


def delete_addresses(store: SandboxStore, query: QueryDict) -> None:
    problems: dict[str, str] = {}
    if "id:in" not in query:
        raise invalid({"id:in": "is required"})
    ids = int_list(query["id:in"], "id:in", problems)
    if problems:
        raise invalid(problems)
    with transaction.atomic():
        rows = _addresses(store).filter(object_id__in=ids)
        owners = set(rows.values_list("parent_id", flat=True))
        rows.delete()
        _customers(store).filter(object_id__in=owners).update(date_modified=_now())


def existing_ids(store: SandboxStore, ids: list[int]) -> set[int]:
    return set(_customers(store).filter(object_id__in=ids).values_list("object_id", flat=True))
