from django.db import models


class PlanState(models.TextChoices):
    PREPARING = "preparing", "Preparing"
    LIVE = "live", "Live"


class GateStatus(models.TextChoices):
    # Computed by services.evaluate / approve, in this order of precedence.
    BLOCKED = "blocked", "Blocked by a failing check"
    WAITING = "waiting", "Waiting for the previous stage"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    PASSED = "passed", "Passed"


class CheckKind(models.TextChoices):
    BASELINE_VERIFIED = "baseline_verified", "Baseline verified"
    FAILURE_RATE = "failure_rate", "Failure rate of the last sync"
    RECONCILIATION = "reconciliation", "Reconciliation mismatches"
    OPEN_CONFLICTS = "open_conflicts", "Open conflicts"
    REDIRECT_COVERAGE = "redirect_coverage", "Redirect coverage"
    DELTA_AGE = "delta_age", "Age of the last delta"
    SWEEP_AGE = "sweep_age", "Age of the last final sweep"


class Side(models.TextChoices):
    SOURCE = "source", "Old store (source)"
    TARGET = "target", "New store (target)"


class Direction(models.TextChoices):
    SOURCE_TO_TARGET = "source_to_target", "Source → target"
    NONE = "none", "No deltas"
    # Stored when chosen, shown as "not supported": the engine only writes to the target.
    TARGET_TO_SOURCE = "target_to_source", "Target → source"


# Directions the engine can run today.
SUPPORTED_DIRECTIONS = frozenset({Direction.SOURCE_TO_TARGET, Direction.NONE})


class Event(models.TextChoices):
    RUN_FINISHED = "run.finished", "Run finished"
    GATE_CHANGED = "gate.changed", "Gate changed"
    CONFLICT_OPENED = "conflict.opened", "Conflict opened"
    ROLLBACK_STARTED = "rollback.started", "Rollback started"


class Channel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "E-mail"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
