"""The cutover plan of a project: gates in order (automated checks with their latest evidence,
required approvals), the cutover units (system of record per stage, delta direction, rollback
window and triggers), and outbound notifications (signed webhooks, e-mail) with their
deliveries. The logic is in apps/golive/services.py and notifications.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.crypto import decrypt_json
from apps.golive.choices import (
    Channel,
    CheckKind,
    DeliveryStatus,
    GateStatus,
    PlanState,
)


class CutoverPlan(models.Model):
    """One per project, created with the default stages, checks and units on first access."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="cutover_plan"
    )
    state = models.CharField(max_length=12, choices=PlanState.choices, default=PlanState.PREPARING)
    went_live_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Cutover plan of {self.project}"

    @property
    def is_live(self) -> bool:
        return self.state == PlanState.LIVE


class Gate(models.Model):
    """One stage of the plan: it passes when every enabled check passes, the previous gate has
    passed, and it holds `required_approvals` active approvals."""

    plan = models.ForeignKey(CutoverPlan, on_delete=models.CASCADE, related_name="gates")
    order = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=GateStatus.choices, default=GateStatus.BLOCKED)
    passed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "order"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="gate_unique_key"),
            models.UniqueConstraint(fields=["plan", "order"], name="gate_unique_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class Check(models.Model):
    """An automated check of a gate, with its latest evaluation as evidence."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=30, choices=CheckKind.choices)
    # Its meaning (a maximum or a minimum, the unit) depends on the kind: apps/golive/checks.py.
    threshold = models.FloatField(default=0)
    enabled = models.BooleanField(default=True)
    value = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    # {"summary": "...", "links": [{"label", "url"}], "run_id": …, "available": bool, …}
    evidence = models.JSONField(default=dict, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["gate", "id"]
        constraints = [models.UniqueConstraint(fields=["gate", "kind"], name="check_unique_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.gate}"


class Approval(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    # Null when the system withdrew it (a check regressed).
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["gate", "at", "id"]
        constraints = [
            # One active approval per user and gate, whatever the race.
            models.UniqueConstraint(
                fields=["gate", "user"],
                condition=Q(withdrawn_at__isnull=True),
                name="approval_one_active_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} approved {self.gate}"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class CutoverUnit(models.Model):
    """A domain that moves as one (catalog, customers, orders, redirects …)."""

    plan = models.ForeignKey(CutoverPlan, on_delete=models.CASCADE, related_name="units")
    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    # Project entities the unit covers: a run touching one of them is rolled back under this
    # unit's window.
    entities = models.JSONField(default=list, blank=True)
    # Per gate key: "source" or "target".
    system_of_record = models.JSONField(default=dict, blank=True)
    # Per gate key: "source_to_target", "none" or "target_to_source" (not supported yet).
    delta_direction = models.JSONField(default=dict, blank=True)
    rollback_window_hours = models.PositiveIntegerField(default=72)
    # {"failure_rate_above": 5.0, "mismatches_above": 0, "manual": true}: a trigger that fires
    # recommends a rollback (shown, notified); a person starts it.
    rollback_triggers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["plan", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="unit_unique_key")]

    def __str__(self) -> str:
        return self.name


class WebhookEndpoint(models.Model):
    """Where a project's notifications are POSTed, signed with the endpoint's secret.

    The secret is Fernet-encrypted and write-only: no page, answer or log shows it."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_webhooks"
    )
    url = models.URLField(max_length=500)
    secret_encrypted = models.TextField(editable=False)
    # Event names (choices.Event); empty means every event.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"Notifications to {self.url}"

    def secret(self) -> str:
        return decrypt_json(self.secret_encrypted).get("secret", "")

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class EmailRecipients(models.Model):
    """Who gets e-mail about a project's events: members by role and/or listed addresses."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_email"
    )
    roles = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    # Event names; empty means every event.
    events = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"E-mail recipients of {self.project}"

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class Delivery(models.Model):
    """One notification to one endpoint (or one e-mail): sent by a Celery task with retries;
    a failure is recorded here, never raised into the engine."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipients = models.JSONField(default=list, blank=True)
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return f"{self.event} via {self.channel} ({self.status})"
