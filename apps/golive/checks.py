"""The automated checks of the go-live gates: plain functions, one per kind, each measuring a
value and the evidence behind it (ids and links a person can follow).

A measurement is independent of any threshold, so one evaluation of the plan measures each kind
once (`Measurer` memoises) and every gate compares it with its own check's threshold.

`reconciliation` and `redirects` are imported lazily, inside the check: when their services are
not importable (not installed, not written yet, or broken) the check reports "not available" and
fails — a gate never passes on evidence nobody produced.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.conflicts.choices import ConflictStatus
from apps.conflicts.models import Conflict
from apps.golive.choices import CheckKind
from apps.projects.models import Project
from apps.runs.choices import SYNC_KINDS, Action, RunKind, RunStatus
from apps.runs.models import RecordOutcome, Run

log = logging.getLogger(__name__)

NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class Spec:
    label: str
    unit: str
    # "max": passes when value <= threshold; "min": passes when value >= threshold.
    direction: str
    default: float
    help: str


SPECS: dict[str, Spec] = {
    CheckKind.BASELINE_VERIFIED: Spec(
        "Baseline verified", "", "min", 1, "A succeeded full run and a verify report after it."
    ),
    CheckKind.FAILURE_RATE: Spec(
        "Failure rate", "%", "max", 1.0, "Failed records / processed records of the last sync."
    ),
    CheckKind.RECONCILIATION: Spec(
        "Reconciliation mismatches",
        "records",
        "max",
        0,
        "Mismatched + missing records of the latest report; its equation must hold.",
    ),
    CheckKind.OPEN_CONFLICTS: Spec("Open conflicts", "conflicts", "max", 0, "The review queue."),
    CheckKind.REDIRECT_COVERAGE: Spec(
        "Redirect coverage",
        "%",
        "min",
        95.0,
        "Verified redirects / old URLs; no loops.",
    ),
    CheckKind.DELTA_AGE: Spec(
        "Age of the last delta", "min", "max", 60, "Minutes since the last delta finished."
    ),
    CheckKind.SWEEP_AGE: Spec(
        "Age of the last final sweep",
        "min",
        "max",
        60,
        "Minutes since the last delta that also looked for deletes finished.",
    ),
}


@dataclass
class Measurement:
    value: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    # False when the data behind the check cannot be read: the check fails whatever the
    # threshold.
    available: bool = True
    # Extra conditions beyond the threshold (the reconciliation equation, no redirect loops).
    holds: bool = True


def passes(kind: str, threshold: float, measurement: Measurement) -> bool:
    if not measurement.available or measurement.value is None or not measurement.holds:
        return False
    if SPECS[kind].direction == "max":
        return measurement.value <= threshold
    return measurement.value >= threshold


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _links(*pairs: tuple[str, str | None]) -> list[dict[str, str]]:
    return [{"label": label, "url": url} for label, url in pairs if url]


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _not_available(what: str, exc: BaseException | None = None) -> Measurement:
    detail = f"{what}: {NOT_AVAILABLE}"
    if exc is not None:
        detail += f" ({type(exc).__name__})"
    return Measurement(None, {"summary": detail, "available": False}, available=False)


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """A function of an app being written alongside this one, or None."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# --- measurements ----------------------------------------------------------------------------


def failure_rate(project: Project) -> Measurement:
    run = (
        Run.objects.filter(
            project=project,
            kind__in=SYNC_KINDS,
            status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED, RunStatus.FAILED],
        )
        .order_by("-finished_at", "-id")
        .first()
    )
    if run is None:
        return Measurement(None, {"summary": "No finished sync run yet."}, available=False)
    outcomes = RecordOutcome.objects.filter(run=run)
    processed = outcomes.count()
    failed = outcomes.filter(action=Action.FAILED).count()
    rate = round(100.0 * failed / processed, 3) if processed else 0.0
    summary = f"{failed} failed of {processed} processed in run #{run.pk} ({run.kind})."
    if run.status == RunStatus.FAILED:
        # A run that failed as a whole may have few outcomes: it is no evidence of health.
        rate = 100.0
        summary = f"Run #{run.pk} ({run.kind}) failed: {(run.error or 'no reason')[:200]}"
    return Measurement(
        rate,
        {
            "summary": summary,
            "run_id": run.pk,
            "failed": failed,
            "processed": processed,
            "links": _links((f"Run #{run.pk}", _url("runs:detail", run.pk))),
        },
    )


def reconciliation(project: Project) -> Measurement:
    latest_report = _optional("apps.reconciliation.services", "latest_report")
    if latest_report is None:
        return _not_available("Reconciliation")
    try:
        report = latest_report(project)
        summary = report.summary() if report is not None else None
    except Exception as exc:  # another app's failure must not break the plan page
        log.exception("reconciliation check failed for project %s", project.pk)
        return _not_available("Reconciliation", exc)
    if not summary:
        return Measurement(None, {"summary": "No reconciliation report yet."}, available=False)
    mismatched = int(summary.get("mismatched") or 0)
    missing = int(summary.get("missing") or 0)
    holds = bool(summary.get("equation_holds"))
    finished = summary.get("finished_at")
    report_id = getattr(report, "pk", None)
    text = (
        f"{mismatched} mismatched, {missing} missing; source = target + failed + "
        f"excluded {'holds' if holds else 'does NOT hold'}."
    )
    # A report older than the last write proves nothing about the target as it is now.
    later = _last_write(project)
    stale = bool(later and isinstance(finished, datetime) and finished < later.finished_at)
    if stale:
        text = f"Stale: run #{later.pk} wrote to the target after this report; verify again. {text}"
    evidence = {
        "summary": text,
        "stale": stale,
        "report_id": report_id,
        "finished_at": finished.isoformat() if hasattr(finished, "isoformat") else finished,
        "equation_holds": holds,
        **{
            key: summary.get(key)
            for key in (
                "mismatched",
                "missing",
                "orphans",
                "failed",
                "excluded",
                "source",
                "target",
                "spot_checks_failed",
            )
        },
        "links": _links(
            ("Report", _url("reconciliation:report", report_id) if report_id else None),
            ("Reconciliation", _url("reconciliation:project", project.pk)),
        ),
    }
    return Measurement(float(mismatched + missing), evidence, holds=holds and not stale)


def _last_write(project: Project) -> Run | None:
    """The last run that wrote to the target (a sync or a rollback)."""
    return (
        Run.objects.filter(
            project=project,
            kind__in=[*SYNC_KINDS, RunKind.RETRY_FAILED, RunKind.ROLLBACK],
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .first()
    )


def open_conflicts(project: Project) -> Measurement:
    count = Conflict.objects.filter(project=project, status=ConflictStatus.OPEN).count()
    return Measurement(
        float(count),
        {
            "summary": f"{count} open in the review queue.",
            "open": count,
            "links": _links(("Review queue", _url("conflicts:queue", project.pk))),
        },
    )


def redirect_coverage(project: Project) -> Measurement:
    coverage = _optional("apps.redirects.services", "coverage")
    if coverage is None:
        return _not_available("Redirects")
    try:
        result = coverage(project)
    except Exception as exc:
        log.exception("redirect coverage check failed for project %s", project.pk)
        return _not_available("Redirects", exc)
    ratio = float(getattr(result, "ratio", 0) or 0)
    loops = int(getattr(result, "loops", 0) or 0)
    checked_at = getattr(result, "checked_at", None)
    evidence = {
        "summary": f"{result.verified_ok} of {result.total} verified; {result.chains} chains, "
        f"{loops} loops, {result.unmapped} unmapped, {result.not_verified} not verified.",
        "total": result.total,
        "verified_ok": result.verified_ok,
        "chains": result.chains,
        "loops": loops,
        "unmapped": result.unmapped,
        "not_verified": result.not_verified,
        "checked_at": _stamp(checked_at) if isinstance(checked_at, datetime) else checked_at,
        "links": _links(("Redirects", _url("redirects:dashboard", project.pk))),
    }
    return Measurement(round(100.0 * ratio, 2), evidence, holds=loops == 0)


def delta_age(project: Project, *, sweep: bool = False) -> Measurement:
    runs = Run.objects.filter(
        project=project,
        kind=RunKind.DELTA,
        status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED],
        finished_at__isnull=False,
    )
    if sweep:  # a final sweep also looked for records deleted at the source
        runs = runs.filter(options__deletes=True)
    run = runs.order_by("-finished_at").first()
    what = "final sweep (a delta with deletes)" if sweep else "delta"
    if run is None:
        return Measurement(None, {"summary": f"No {what} has finished yet."}, available=False)
    minutes = round((timezone.now() - run.finished_at).total_seconds() / 60, 1)
    return Measurement(
        minutes,
        {
            "summary": f"{what.capitalize()} run #{run.pk} finished {minutes} min ago.",
            "run_id": run.pk,
            "finished_at": _stamp(run.finished_at),
            "links": _links((f"Run #{run.pk}", _url("runs:detail", run.pk))),
        },
    )


def _verified_after(project: Project, moment: datetime) -> dict[str, Any] | None:
    """The verify report (or succeeded verify run) finished after `moment`, as evidence."""
    latest_report = _optional("apps.reconciliation.services", "latest_report")
    if latest_report is not None:
        try:
            report = latest_report(project)
            summary = report.summary() if report is not None else None
        except Exception:
            log.exception("reconciliation report unreadable for project %s", project.pk)
            summary = None
        finished = (summary or {}).get("finished_at")
        if isinstance(finished, datetime) and finished >= moment:
            return {"report_id": getattr(report, "pk", None), "verified_at": _stamp(finished)}
    verify = (
        Run.objects.filter(
            project=project,
            kind=RunKind.VERIFY,
            status=RunStatus.SUCCEEDED,
            finished_at__gte=moment,
        )
        .order_by("-finished_at")
        .first()
    )
    if verify is not None:
        return {"verify_run_id": verify.pk, "verified_at": _stamp(verify.finished_at)}
    return None


def baseline_verified(project: Project) -> Measurement:
    full = (
        Run.objects.filter(
            project=project,
            kind=RunKind.FULL,
            status=RunStatus.SUCCEEDED,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .first()
    )
    if full is None:
        return Measurement(0.0, {"summary": "No succeeded full run yet."})
    links = [(f"Full run #{full.pk}", _url("runs:detail", full.pk))]
    verified = _verified_after(project, full.finished_at)
    if verified is None:
        return Measurement(
            0.0,
            {
                "summary": f"Full run #{full.pk} succeeded; no verify report after it.",
                "run_id": full.pk,
                "links": _links(*links),
            },
        )
    return Measurement(
        1.0,
        {
            "summary": f"Full run #{full.pk} succeeded and was verified after it.",
            "run_id": full.pk,
            **verified,
            "links": _links(*links),
        },
    )


MEASURES: dict[str, Callable[[Project], Measurement]] = {
    CheckKind.BASELINE_VERIFIED: baseline_verified,
    CheckKind.FAILURE_RATE: failure_rate,
    CheckKind.RECONCILIATION: reconciliation,
    CheckKind.OPEN_CONFLICTS: open_conflicts,
    CheckKind.REDIRECT_COVERAGE: redirect_coverage,
    CheckKind.DELTA_AGE: delta_age,
    CheckKind.SWEEP_AGE: partial(delta_age, sweep=True),
}


class Measurer:
    """Measures each kind at most once per evaluation."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._cache: dict[str, Measurement] = {}

    def __call__(self, kind: str) -> Measurement:
        if kind not in self._cache:
            self._cache[kind] = MEASURES[kind](self.project)
        return self._cache[kind]
