"""SEO redirects: old URL path on the source storefront → new URL on the target, with the last
verification, and the jobs (collect, push, verify, uploads) that the dashboard follows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, Value, When

from apps.redirects.choices import JobKind, JobStatus, MapState, Origin, Problem

# The dashboard lists problems first: loops, chains, errors, …, then unmapped, then not yet
# checked, then the rest. A stored generated column, so the list pages by keyset on an index.
PROBLEM_RANK = Case(
    When(problem=Problem.LOOP, then=Value(0)),
    When(problem=Problem.CHAIN, then=Value(1)),
    When(problem=Problem.ERROR, then=Value(2)),
    When(problem=Problem.BROKEN_DESTINATION, then=Value(3)),
    When(problem=Problem.WRONG_DESTINATION, then=Value(4)),
    When(problem=Problem.NOT_REDIRECTED, then=Value(5)),
    When(new_url="", then=Value(6)),
    When(problem="", then=Value(7)),
    default=Value(8),
)


class Redirect(models.Model):
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="redirects"
    )
    # Path and query on the source storefront, no host ("/product/blue-shirt/").
    old_path = models.CharField(max_length=2000)
    # Absolute URL on the target storefront; blank while unmapped.
    new_url = models.CharField(max_length=2000, blank=True)
    entity = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    state = models.CharField(max_length=10, choices=MapState.choices, default=MapState.UNMAPPED)
    push_error = models.TextField(blank=True)
    target_redirect_id = models.CharField(max_length=64, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    # The last verification: [{"url", "status", "location"}], one per request made.
    hops = models.JSONField(default=list, blank=True)
    final_status = models.PositiveSmallIntegerField(null=True, blank=True)
    problem = models.CharField(max_length=20, choices=Problem.choices, blank=True)
    problem_detail = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    rank = models.GeneratedField(
        expression=PROBLEM_RANK, output_field=models.SmallIntegerField(), db_persist=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["old_path"]
        constraints = [
            models.UniqueConstraint(fields=["project", "old_path"], name="redirect_unique_path")
        ]
        indexes = [
            models.Index(fields=["project", "problem"]),
            models.Index(fields=["project", "state"]),
            models.Index(fields=["project", "entity", "source_id"]),
            models.Index(fields=["project", "rank", "old_path"], name="redirect_problems_first"),
        ]

    def __str__(self) -> str:
        return f"{self.old_path} → {self.new_url or '(unmapped)'}"


class RedirectJob(models.Model):
    """One collect / push / verify pass, or one upload: its status, counts and errors."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="redirect_jobs"
    )
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    # Counts by outcome, e.g. {"collected": 120, "mapped": 118, "unmapped": 2}.
    counts = models.JSONField(default=dict, blank=True)
    # Problems a person should read: [{"row": 3, "value": "...", "reason": "..."}] (uploads) or
    # [{"path": "...", "reason": "..."}] (push); bounded (see services.MAX_JOB_ERRORS).
    errors = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)  # why the whole job failed
    filename = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)
