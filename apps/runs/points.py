"""Entity Points: the cost of a run, estimated at planning from the source's counts.

A weight per entity (records that fan out into many target writes weigh more); a project may
override weights and cap the points its runs spend.
"""

from __future__ import annotations

from django.db.models import Sum

from apps.projects.models import Project
from apps.runs.choices import RunStatus

DEFAULT_WEIGHTS: dict[str, int] = {
    "categories": 1,
    "brands": 1,
    "products": 5,  # a product carries variants, options, images and custom fields
    "customers": 2,  # a customer carries addresses
    "orders": 3,  # an order carries lines and addresses
    "posts": 1,
}


def weights(project: Project) -> dict[str, int]:
    merged = dict(DEFAULT_WEIGHTS)
    for entity, weight in (project.entity_weights or {}).items():
        merged[entity] = max(0, int(weight))
    return merged


def estimate(project: Project, counts: dict[str, int]) -> dict[str, int]:
    table = weights(project)
    return {entity: count * table.get(entity, 1) for entity, count in counts.items()}


def spent(project: Project, *, excluding_run_id: int | None = None) -> int:
    """Points of the project's runs so far (cancelled runs that never ran count nothing)."""
    runs = project.runs.exclude(status=RunStatus.CANCELLED, started_at__isnull=True)
    if excluding_run_id is not None:
        runs = runs.exclude(pk=excluding_run_id)
    return runs.aggregate(total=Sum("points_estimate"))["total"] or 0


def over_budget(project: Project, points: int, *, excluding_run_id: int | None = None) -> str:
    """Why a run of `points` would exceed the budget, or "" when it fits."""
    if project.points_budget is None:
        return ""
    used = spent(project, excluding_run_id=excluding_run_id)
    if used + points <= project.points_budget:
        return ""
    return (
        f"This run is estimated at {points:,} Entity Points; the project has spent {used:,} "
        f"of its budget of {project.points_budget:,}. An admin can start it with an override."
    )
