from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.runs.choices import (
    TERMINAL_STATUSES,
    Action,
    BatchStatus,
    JournalOp,
    MapStatus,
    RunKind,
    RunStatus,
)
from apps.runs.reasons import KEY_LENGTH, normalise_reason


class Run(models.Model):
    """One execution of a project. The dashboard and the API read this row (and its batches),
    never Celery's result backend."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="For retry_failed: the run whose failed records this one retries; for "
        "rollback: the run it undoes.",
    )
    # Filled at planning: {"order": [...], "stages": [[...]], "entities": {"products":
    # {"total": 500, "batches": 5, "points": 2500}}, "points": 2600}.
    plan = models.JSONField(default=dict, blank=True)
    points_estimate = models.PositiveIntegerField(default=0)
    budget_override = models.BooleanField(
        default=False, help_text="An admin started this run past the project's points budget."
    )
    # {"deletes": true} to look for records deleted at the source (a final sweep);
    # {"of": "full" | "delta"} for a dry run: which run it rehearses.
    options = models.JSONField(default=dict, blank=True)
    # The window a run reads: a delta reads [since - overlap, until]; until is taken at
    # planning, before reading, and is the next delta's since.
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live run per project: the database refuses a second one even under a race.
            models.UniqueConstraint(
                fields=["project"],
                condition=~Q(status__in=sorted(s.value for s in TERMINAL_STATUSES)),
                name="run_one_live_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.kind} {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status not in TERMINAL_STATUSES


class EntityBatch(models.Model):
    """One page of one entity inside a run: the unit a Celery task processes."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batches")
    entity = models.CharField(max_length=40)
    seq = models.PositiveIntegerField()
    # For full runs: the source page; for retry_failed: the source ids to read.
    cursor = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    # Set when the batch's task is sent; the reaper re-sends tasks a broker lost.
    queued_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0, help_text="HTTP requests sent to the target.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "entity", "seq"], name="batch_unique_seq")
        ]
        indexes = [
            models.Index(fields=["run", "status"]),
            # Batches not yet sent: found at once after every batch of a long run.
            models.Index(
                fields=["run", "entity"],
                condition=Q(status="pending", queued_at__isnull=True),
                name="batch_unsent",
            ),
            # Open batches (pending or running) of a run: the stage checks stop at the first.
            models.Index(
                fields=["run", "entity"],
                condition=Q(status__in=["pending", "running"]),
                name="batch_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} batch {self.seq} of run {self.run_id}"


class RecordMap(models.Model):
    """The durable link source record → target record, and what we last wrote there."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="record_maps"
    )
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    natural_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=MapStatus.choices)
    # When the record was marked pending: a target record with its key created after this is
    # our own create whose answer was lost.
    pending_since = models.DateTimeField(null=True, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    canonical = models.JSONField(default=dict, blank=True)
    target_hash = models.CharField(max_length=64, blank=True)
    # The target's own canonical form of the record right after we wrote it: the base for
    # telling edits made on the target from what a lossy mapping changed on the way.
    target_canonical = models.JSONField(default=dict, blank=True)
    last_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "entity", "source_id"], name="recordmap_unique_source"
            ),
            # One target record per source record and back: the map stays a bijection even when
            # two workers adopt the same target record at once.
            models.UniqueConstraint(
                fields=["project", "entity", "target_id"],
                condition=~Q(target_id=""),
                name="recordmap_unique_target",
            ),
        ]
        indexes = [models.Index(fields=["project", "entity", "natural_key"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id} → {self.target_id or '?'}"


class RecordOutcomeQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for outcome in objs:
            outcome.set_reason_key()
        return super().bulk_create(objs, *args, **kwargs)


class RecordOutcome(models.Model):
    """What happened to one source record in one run: exactly one row per record and run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="outcomes")
    batch = models.ForeignKey(
        EntityBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    natural_key = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    target_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    # A failure's error group (apps.runs.reasons), kept by save() and bulk_create() so the
    # run page groups and filters on a column; "" for an outcome that did not fail.
    reason_key = models.CharField(max_length=KEY_LENGTH, blank=True, default="")
    payload_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    objects = RecordOutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "entity", "source_id"], name="outcome_unique_record"
            )
        ]
        indexes = [
            models.Index(fields=["run", "action", "entity"]),
            # References to excluded duplicates are resolved through their outcomes.
            models.Index(fields=["entity", "source_id"]),
            # A run's failures, newest first (the failures list's keyset), with or without an
            # entity filter: without these the scan walks every later run's outcomes
            # (bench/dashboard.py: 312 ms → 0.15 ms at 1,000,000 outcomes).
            models.Index(
                fields=["run", "-id"], condition=Q(action="failed"), name="outcome_failed"
            ),
            models.Index(
                fields=["run", "entity", "-id"],
                condition=Q(action="failed"),
                name="outcome_failed_entity",
            ),
            # The failures list filtered by error group, newest first; with the entity
            # included, the error groups' GROUP BY reads this index alone (PostgreSQL).
            models.Index(
                fields=["run", "reason_key", "-id"],
                include=["entity"],
                condition=Q(action="failed"),
                name="outcome_failed_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id}: {self.action}"

    def save(self, *args, **kwargs) -> None:
        self.set_reason_key()
        super().save(*args, **kwargs)

    def set_reason_key(self) -> None:
        self.reason_key = normalise_reason(self.reason) if self.action == Action.FAILED else ""


class ChangeEvent(models.Model):
    """A change the source pushed (webhook), waiting for the next delta to pick it up."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="change_events"
    )
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    # created / updated / deleted, as the platform named it.
    action = models.CharField(max_length=20)
    # The platform's delivery id when it sends one, to drop duplicates.
    delivery_id = models.CharField(max_length=120, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="change_events",
        help_text="The delta run that consumed the event.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "run", "entity"])]

    def __str__(self) -> str:
        return f"{self.action} {self.entity} {self.source_id}"


class JournalEntry(models.Model):
    """What a run did to the target, so a rollback can replay it backwards."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="journal")
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    op = models.CharField(max_length=10, choices=JournalOp.choices)
    pre_image = models.JSONField(null=True, blank=True)
    # The record's RecordMap row before this write (apps/runs/journal.py MAP_FIELDS), None when
    # it had none: a rollback puts the row back as it was, so the next delta re-applies the
    # source's changes.
    map_before = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "entity"])]

    def __str__(self) -> str:
        return f"{self.op} {self.entity} {self.target_id} in run {self.run_id}"


class Schedule(models.Model):
    """A project's timed run — a delta (or a dry run) every N minutes or hours, on a crontab, or
    once at a moment (24 hours after go-live, a final sweep with deletes).

    Beat fires the django-celery-beat PeriodicTask that apps/runs/schedules.py keeps in step
    with this row; the row is what the dashboard and the API show, including what the last
    firing did (the run it started, or why it was refused)."""

    class Trigger(models.TextChoices):
        INTERVAL = "interval", "Every N minutes, hours or days"
        CRONTAB = "crontab", "Crontab"
        ONCE = "once", "Once"

    class Period(models.TextChoices):
        # The names django-celery-beat's IntervalSchedule uses.
        MINUTES = "minutes", "minutes"
        HOURS = "hours", "hours"
        DAYS = "days", "days"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="schedules"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    # As Run.options: {"deletes": true} for a final sweep, {"of": "delta"} for a dry run.
    options = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    every = models.PositiveIntegerField(null=True, blank=True)
    period = models.CharField(max_length=10, choices=Period.choices, blank=True)
    # Five fields, "minute hour day-of-month month day-of-week", in UTC.
    crontab = models.CharField(max_length=120, blank=True)
    run_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fires = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "started run #12" or "refused: the project already has run #11 in progress".
    last_outcome = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}) of project {self.project_id}"
