"""wc/v3 customers: WordPress users with the customer role and their billing / shipping data.

Rows: resource "customer", `name` = the email trimmed and lower-cased (the `email` filter and
`search` use it), `unique_name` = the same for customers created through the API, so two
requests racing with one email cannot both win (WordPress compares emails case-insensitively
through MySQL's collation). Legacy rows seeded with duplicate or odd emails (see
demo_catalog.generate_customers(messy=True)) keep `unique_name` NULL: real shops hold such data
from imports and old plugins, and the API must still refuse new duplicates of them.

As WooCommerce does: a duplicate email on create is `registration-error-email-exists` (400);
on update `woocommerce_rest_customer_invalid_email`; the username is derived from the email when
not given and cannot change; a password is accepted and never stored or answered. Real
WooCommerce has no `modified_after` filter on customers (WordPress ignores the parameter and
answers every customer) — the sandbox keeps it that way on purpose.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower

from apps.sandbox.models import SandboxObject
from apps.sandbox.woocommerce import schema
from apps.sandbox.woocommerce.errors import WCError, invalid_params
from apps.sandbox.woocommerce.listing import ListSpec
from apps.sandbox.woocommerce.resources import (
    Checked,
    ResourceStore,
    Result,
    merge_meta,
    missing_params,
    stamp_dates,
)
from apps.sandbox.woocommerce.store import IdPool

CUSTOMER = "customer"
ROLES = (
    "all",
    "administrator",
    "editor",
    "author",
    "contributor",
    "subscriber",
    "customer",
    "shop_manager",
)

CUSTOMER_SPEC: dict[str, schema.FieldCheck] = {
    "email": schema.email,
    "first_name": schema.STRING,
    "last_name": schema.STRING,
    "username": schema.STRING,
    "password": schema.STRING,
    "billing": schema.obj(schema.BILLING),
    "shipping": schema.obj(schema.SHIPPING),
    "meta_data": schema.list_of(schema.META, schema.needs_key),
}


def email_key(value: str) -> str:
    return value.strip().lower()


def _customer_filters(params: Any, errors: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    email = params.get("email")
    if email:
        filters["email"] = email_key(str(email))
    role = params.get("role", "customer")
    if role not in ROLES:
        errors["role"] = f"role is not one of {', '.join(ROLES)}."
    filters["role"] = role
    return filters


def _customer_apply(qs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    if "email" in filters:
        qs = qs.filter(name=filters["email"])
    if filters.get("role") not in ("all", "customer"):
        qs = qs.none()  # every sandbox user of wc/v3 customers is a customer
    return qs


CUSTOMER_LIST = ListSpec(
    orderby=("id", "include", "name", "registered_date"),
    default_orderby="name",
    default_order="asc",
    order_columns={
        "id": lambda: F("object_id"),
        # WordPress sorts by display name, which defaults to the login derived from the email.
        "name": lambda: Lower("name"),
        "registered_date": lambda: F("date_created"),
    },
    dates=False,
    search=lambda term: (
        Q(name__icontains=term)
        | Q(data__username__icontains=term)
        | Q(data__first_name__icontains=term)
        | Q(data__last_name__icontains=term)
    ),
    parse=_customer_filters,
    apply=_customer_apply,
)


def empty_address(*, billing: bool) -> dict[str, str]:
    address = dict.fromkeys(schema.ADDRESS_FIELDS, "")
    if billing:
        address["email"] = ""
    return address


def avatar_url(email: str) -> str:
    digest = hashlib.md5(email_key(email).encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}?s=96&d=mm&r=g"


def sanitize_username(value: str) -> str:
    # sanitize_user( $login, true ): letters, digits, space, _ . - @ only.
    return re.sub(r"[^A-Za-z0-9 _.\-@]", "", value).strip()


def email_exists() -> WCError:
    return WCError(
        "registration-error-email-exists",
        "An account is already registered with your email address. "
        '<a href="#" class="showlogin">Please log in.</a>',
        400,
    )


class CustomerStore(ResourceStore):
    resource = CUSTOMER
    spec = CUSTOMER_SPEC
    rest_base = "customers"

    def invalid_id(self, status: int = 404) -> WCError:
        return WCError("woocommerce_rest_invalid_id", "Invalid resource ID.", status)

    def exists_error(self) -> WCError:
        return WCError("woocommerce_rest_customer_exists", "Cannot create existing resource.", 400)

    def _emails_taken(self, keys: set[str]) -> set[str]:
        return set(self.objects().filter(name__in=keys).values_list("name", flat=True))

    def _usernames_like(self, bases: set[str]) -> set[str]:
        """Usernames in use that start with one of `bases` (to pick a free one)."""
        if not bases:
            return set()
        query = Q()
        for base in bases:
            query |= Q(data__username__istartswith=base)
        found = self.objects().filter(query).values_list("data__username", flat=True)
        return {str(name).lower() for name in found}

    def check_creates(self, checked: Checked, results: list[Result | None]) -> Checked:
        kept: Checked = []
        for index, fields in checked:
            if not fields.get("email"):
                results[index] = missing_params("email")
            else:
                kept.append((index, fields))
        taken = self._emails_taken({email_key(f["email"]) for _, f in kept})
        wanted = {sanitize_username(f.get("username") or f["email"].split("@")[0]) for _, f in kept}
        usernames = self._usernames_like({w.lower() for w in wanted if w})
        first_in_list: dict[str, int] = {}
        checked, kept = kept, []
        for index, fields in checked:
            key = email_key(fields["email"])
            if key in taken:
                results[index] = email_exists()
                continue
            if key in first_in_list:
                self.pending[index] = first_in_list[key]
                continue
            if fields.get("username"):
                username = sanitize_username(fields["username"])
                if not username or username.lower() in usernames:
                    results[index] = WCError(
                        "registration-error-username-exists"
                        if username
                        else "registration-error-invalid-username",
                        "An account is already registered with that username. "
                        "Please choose another."
                        if username
                        else "Please enter a valid account username.",
                        400,
                    )
                    continue
            else:
                # wc_create_new_username(): the email's local part, made unique.
                base = sanitize_username(key.split("@")[0]) or "customer"
                username, number = base, 1
                while username.lower() in usernames:
                    number += 1
                    username = f"{base}{number}"
            fields["username"] = username
            usernames.add(username.lower())
            first_in_list[key] = index
            kept.append((index, fields))
        return kept

    def duplicate_of(self, first: Result) -> WCError:
        return email_exists()

    def check_updates(
        self, checked: Checked, rows: dict[int, SandboxObject], results: list[Result | None]
    ) -> Checked:
        keys = {email_key(f["email"]) for _, f in checked if f.get("email")}
        holders = dict(self.objects().filter(name__in=keys).values_list("name", "object_id"))
        kept: Checked = []
        for index, fields in checked:
            row = rows[index]
            if "username" in fields and fields["username"] != row.data["username"]:
                results[index] = WCError(
                    "woocommerce_rest_customer_invalid_argument", "Username isn't editable.", 400
                )
                continue
            if "email" in fields:
                key = email_key(fields["email"])
                if holders.get(key, row.object_id) != row.object_id:
                    results[index] = WCError(
                        "woocommerce_rest_customer_invalid_email", "Email address is invalid.", 400
                    )
                    continue
                holders[key] = row.object_id
            kept.append((index, fields))
        return kept

    def conflict(self, row: SandboxObject) -> WCError:
        return email_exists()

    def refuse_delete(self, data: dict[str, Any], force: bool) -> WCError | None:
        if not force:
            return WCError(
                "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
            )
        return None

    def build(self, object_id: int, fields: dict[str, Any], pool: IdPool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": object_id,
            "date_created": "",
            "date_created_gmt": "",
            "date_modified": "",
            "date_modified_gmt": "",
            "email": "",
            "first_name": "",
            "last_name": "",
            "role": "customer",
            "username": "",
            "billing": empty_address(billing=True),
            "shipping": empty_address(billing=False),
            "is_paying_customer": False,
            "avatar_url": "",
            "meta_data": [],
        }
        stamp_dates(data, self.now, created=True)
        return self.change(data, fields, pool)

    def change(
        self, current: dict[str, Any], fields: dict[str, Any], pool: IdPool
    ) -> dict[str, Any]:
        data = dict(current)
        for name, value in fields.items():
            if name == "password":
                continue  # hashed by WordPress, never answered
            if name in ("billing", "shipping"):
                # update_address(): only the given keys change.
                data[name] = {**data[name], **value}
            elif name == "meta_data":
                data[name] = merge_meta(data.get("meta_data") or [], value)
            else:
                data[name] = value
        data["avatar_url"] = avatar_url(data["email"])
        stamp_dates(data, self.now, created=False)
        data["_links"] = self.links(data["id"])
        return data

    def columns(self, data: dict[str, Any]) -> dict[str, Any]:
        key = email_key(data["email"])[:500]
        return {"name": key, "unique_name": key}

    def seed(self, payloads: list[dict[str, Any]]) -> int:
        """Insert customers as an import from an older system would: no email checks, so
        duplicates (by case or whitespace) and invalid addresses stay as given. The first row
        of each email claims it (`unique_name`); later ones are legacy rows without the claim.
        """
        taken = {
            key for key in self.objects().exclude(unique_name=None).values_list("name", flat=True)
        }
        pool = IdPool(self.sandbox, len(payloads))
        rows = []
        usernames: set[str] = set()
        for payload in payloads:
            fields = {k: v for k, v in payload.items() if k not in ("date_created",)}
            username = sanitize_username(fields.get("username") or "")
            if not username or username.lower() in usernames:
                base = sanitize_username(email_key(fields["email"]).split("@")[0]) or "customer"
                username, number = base, 1
                while username.lower() in usernames:
                    number += 1
                    username = f"{base}{number}"
            usernames.add(username.lower())
            fields["username"] = username
            data = self.build(pool.take(), fields, pool)
            data["email"] = payload["email"]  # exactly as the old system held it
            created = payload.get("date_created")
            row = self.row(data)
            if created is not None:
                stamp = created.strftime("%Y-%m-%dT%H:%M:%S")
                data["date_created"] = data["date_created_gmt"] = stamp
                row.date_created = created
            key = email_key(payload["email"])
            row.unique_name = None if key in taken else key
            taken.add(key)
            rows.append(row)
        SandboxObject.objects.bulk_create(rows, batch_size=500)
        return len(rows)


def mark_paying(store: ResourceStore, customer_ids: set[int]) -> None:
    """A customer with a paid order becomes a paying customer (and the user row changes)."""
    if not customer_ids:
        return
    rows = list(
        SandboxObject.objects.filter(
            store=store.sandbox, resource=CUSTOMER, object_id__in=customer_ids
        )
    )
    changed = [row for row in rows if not row.data.get("is_paying_customer")]
    for row in changed:
        row.data = {**row.data, "is_paying_customer": True}
        stamp_dates(row.data, store.now, created=False)
        row.date_modified = store.now
    if changed:
        SandboxObject.objects.bulk_update(changed, ["data", "date_modified"])


def unknown_customer() -> WCError:
    return invalid_params({"customer_id": "Customer ID is invalid."})
