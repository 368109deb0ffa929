"""Where a project's source store sends its webhooks, and which deliveries already arrived."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.crypto import decrypt_json


class Platform(models.TextChoices):
    """The webhook format a receiver speaks: the source store's API family."""

    WOOCOMMERCE = "woocommerce", "WooCommerce"
    BIGCOMMERCE = "bigcommerce", "BigCommerce"


class EndpointStatus(models.TextChoices):
    CONNECTING = "connecting", "Connecting"
    CONNECTED = "connected", "Connected"
    FAILED = "failed", "Registration failed"


class WebhookEndpoint(models.Model):
    """A project's receiving endpoint: `/webhooks/<platform>/<token>/`.

    The token only routes a delivery to its project (it appears in URLs, hence in access
    logs); authenticity comes from the secret, which is Fernet-encrypted, sent to the source
    store when webhooks are registered, and never shown in any page or answer."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="webhook_endpoint"
    )
    platform = models.CharField(max_length=20, choices=Platform.choices)
    token = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField(editable=False)
    status = models.CharField(
        max_length=12, choices=EndpointStatus.choices, default=EndpointStatus.CONNECTING
    )
    error = models.TextField(blank=True)
    # What is registered at the source: [{"id": "12", "topic": "product.updated"}, …].
    subscriptions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    connected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_platform_display()} webhooks of {self.project}"

    def secret(self) -> str:
        return decrypt_json(self.secret_encrypted).get("secret", "")


class ReceivedDelivery(models.Model):
    """A delivery id already recorded: the unique key makes a duplicate delivery (the
    platform's retry, or the same message twice) record nothing, however the two race."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    key = models.CharField(max_length=200)
    event = models.ForeignKey(
        "runs.ChangeEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="webhook_delivery_unique_key")
        ]

    def __str__(self) -> str:
        return f"delivery {self.key}"
