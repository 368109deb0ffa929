from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.crypto import decrypt_json, encrypt_json


class Platform(models.TextChoices):
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    BIGCOMMERCE = "bigcommerce", "BigCommerce"
    SANDBOX_WOOCOMMERCE = "sandbox_woocommerce", "Sandbox (WooCommerce API)"
    SANDBOX_BIGCOMMERCE = "sandbox_bigcommerce", "Sandbox (BigCommerce API)"


# The credential fields each platform's API needs; a sandbox speaks its platform's API.
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    Platform.WOOCOMMERCE: ("consumer_key", "consumer_secret"),
    Platform.SANDBOX_WOOCOMMERCE: ("consumer_key", "consumer_secret"),
    Platform.BIGCOMMERCE: ("store_hash", "access_token"),
    Platform.SANDBOX_BIGCOMMERCE: ("store_hash", "access_token"),
}

API_FAMILY: dict[str, str] = {
    Platform.WOOCOMMERCE: "woocommerce",
    Platform.SANDBOX_WOOCOMMERCE: "woocommerce",
    Platform.BIGCOMMERCE: "bigcommerce",
    Platform.SANDBOX_BIGCOMMERCE: "bigcommerce",
}


class Store(models.Model):
    """A connection to one platform. Credentials are Fernet-encrypted and never read back out
    through a form, page or API response: only the connector factory decrypts them."""

    name = models.CharField(max_length=120)
    platform = models.CharField(max_length=32, choices=Platform.choices)
    base_url = models.URLField(max_length=500)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    requests_per_second = models.FloatField(
        default=0, help_text="Client-side cap on request rate; 0 follows the store's headers only."
    )
    # Where shoppers reach the shop (redirects are verified there). Blank: the base URL for a
    # WooCommerce site or a sandbox (both serve their storefront at the site root); a real
    # BigCommerce store's API host is not its storefront, so it must be set there.
    storefront_url = models.URLField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def api_family(self) -> str:
        return API_FAMILY[self.platform]

    @property
    def storefront_base(self) -> str:
        """The storefront's root URL without a trailing slash, or "" when unknown."""
        if self.storefront_url:
            return self.storefront_url.rstrip("/")
        if self.platform == Platform.BIGCOMMERCE:
            return ""
        return self.base_url.rstrip("/")

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    def set_credentials(self, credentials: dict[str, str]) -> None:
        self.credentials_encrypted = encrypt_json(credentials)

    def decrypted_credentials(self) -> dict[str, str]:
        return decrypt_json(self.credentials_encrypted)
