"""Fixtures for schedules, lag and dry-run plans: a baseline sync, a clean cache, the
in-process sandboxes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run
from tests.support.rehearsal import Rehearsal, make_rehearsal


@pytest.fixture(autouse=True)
def _clean_cache():
    # The lag is cached per project; ids repeat across tests (rolled-back databases).
    cache.clear()
    yield
    cache.clear()


def make_baseline(project, *, hours_ago: float = 2) -> Run:
    """A finished full run with its window recorded: what a delta starts from."""
    until = timezone.now() - timedelta(hours=hours_ago)
    return Run.objects.create(
        project=project,
        kind=RunKind.FULL,
        status=RunStatus.SUCCEEDED,
        until=until,
        started_at=until,
        finished_at=until + timedelta(minutes=1),
        plan={"order": list(project.entities), "entities": {}},
    )


@pytest.fixture
def baseline(project) -> Run:
    return make_baseline(project)


@pytest.fixture
def rehearsal(sandbox_http) -> Rehearsal:
    return make_rehearsal(sandbox_http, products=12)
