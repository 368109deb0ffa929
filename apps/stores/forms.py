"""Dashboard forms for store connections.

Credential inputs are write-only: they are password inputs that never render a value, and a
blank set on edit means "keep what is stored". The form never reads the stored credentials.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.stores.models import CREDENTIAL_FIELDS, Platform

# Every credential field any platform needs, in a stable order for the template.
ALL_CREDENTIAL_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(name for fields in CREDENTIAL_FIELDS.values() for name in fields)
)
CREDENTIAL_LABELS = {
    "consumer_key": "Consumer key (WooCommerce)",
    "consumer_secret": "Consumer secret (WooCommerce)",
    "store_hash": "Store hash (BigCommerce)",
    "access_token": "Access token (BigCommerce)",
}


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: keys the form knows go to their field,
    the rest (e.g. "credentials", "entities") become non-field errors instead of a 500."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _secret_input() -> forms.PasswordInput:
    # render_value=False is the default, spelled out because it is the whole point;
    # new-password stops browsers from auto-filling a saved login into these fields.
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class StoreForm(forms.Form):
    name = forms.CharField(max_length=120)
    platform = forms.ChoiceField(choices=Platform.choices)
    base_url = forms.URLField(max_length=500, label="Base URL", assume_scheme="https")
    requests_per_second = forms.FloatField(
        min_value=0,
        initial=0,
        label="Rate limit (requests/s)",
        help_text="Client-side cap; 0 follows the store's rate-limit headers only.",
    )
    storefront_url = forms.URLField(
        max_length=500,
        required=False,
        label="Storefront URL",
        assume_scheme="https",
        help_text="Where shoppers reach the shop (redirects are checked there); blank uses the "
        "base URL, except for BigCommerce.",
    )

    def __init__(self, *args: Any, store: Any = None, **kwargs: Any) -> None:
        self.store = store
        if store is not None and "initial" not in kwargs:
            # Only plain settings are pre-filled; credentials are never read back.
            kwargs["initial"] = {
                "name": store.name,
                "platform": store.platform,
                "base_url": store.base_url,
                "requests_per_second": store.requests_per_second,
                "storefront_url": store.storefront_url,
            }
        super().__init__(*args, **kwargs)
        for name in ALL_CREDENTIAL_FIELDS:
            self.fields[name] = forms.CharField(
                required=False,
                strip=True,
                max_length=500,
                label=CREDENTIAL_LABELS.get(name, name.replace("_", " ").capitalize()),
                widget=_secret_input(),
            )

    @property
    def credential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ALL_CREDENTIAL_FIELDS]

    @property
    def is_edit(self) -> bool:
        return self.store is not None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        platform = cleaned.get("platform")
        if not platform:
            return cleaned
        wanted = CREDENTIAL_FIELDS[platform]
        given = {name: cleaned.get(name) or "" for name in ALL_CREDENTIAL_FIELDS}
        label = Platform(platform).label
        for name, value in given.items():
            if value and name not in wanted:
                self.add_error(name, f"{label} does not use this field; leave it blank.")
        entered = {name: given[name] for name in wanted if given[name]}
        keep_old = self.is_edit and not entered
        if keep_old and CREDENTIAL_FIELDS[self.store.platform] != wanted:
            # The stored credentials belong to another API: they cannot be kept.
            for name in wanted:
                self.add_error(name, f"Changing the platform to {label} needs its credentials.")
        elif not keep_old:
            for name in wanted:
                if not given[name]:
                    self.add_error(
                        name,
                        "Required."
                        if not self.is_edit
                        else "To replace the credentials, fill in every field.",
                    )
        cleaned["credentials"] = entered
        return cleaned

    def settings(self) -> dict[str, Any]:
        """The non-secret fields, as the services take them."""
        fields = {
            key: self.cleaned_data[key]
            for key in ("name", "platform", "base_url", "requests_per_second")
        }
        fields["storefront_url"] = (self.cleaned_data.get("storefront_url") or "").rstrip("/")
        return fields
