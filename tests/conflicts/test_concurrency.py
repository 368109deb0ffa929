"""Two people resolving one conflict at the same moment, in two threads with their own
database connections: exactly one write reaches the target, the other person is told who is
resolving it, and then who resolved it and when."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from apps.conflicts import services
from apps.conflicts.models import Conflict
from apps.core.errors import Conflict as StateConflict
from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.runs.models import JournalEntry, RecordMap, Run
from apps.stores.connectors.base import WriteResult
from apps.stores.connectors.canonical import content_hash
from tests.conflicts.conftest import member, plain_conflict
from tests.factories import ProjectFactory

TARGET = {"sku": "SKU-1", "name": "Target", "price": "10.00"}


class SlowTarget:
    """A target store whose update takes a while, so a second request lands mid-write."""

    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []
        self.writing = threading.Event()
        self.may_finish = threading.Event()
        self.record = {"id": 101, **TARGET}

    def read_by_ids(self, entity: str, ids: list[str]) -> list[dict[str, Any]]:
        return [dict(self.record)]

    @staticmethod
    def record_id(raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def to_canonical(self, entity: str, raw: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k != "id"}

    def from_canonical(self, entity: str, canonical: dict[str, Any]) -> dict[str, Any]:
        return dict(canonical)

    def update(self, entity: str, items: list[Any]) -> list[WriteResult]:
        self.writes.append(items[0].payload)
        self.writing.set()
        assert self.may_finish.wait(10)
        self.record = {"id": 101, **items[0].payload}
        return [WriteResult(ref=items[0].ref, ok=True, target_id="101", record=self.record)]

    def close(self) -> None:
        return None


@pytest.mark.django_db(transaction=True)
def test_concurrent_resolutions_make_one_write():
    project = ProjectFactory()
    run = Run.objects.create(project=project, kind="delta", status="succeeded")
    RecordMap.objects.create(
        project=project, entity="products", source_id="1", target_id="101", status="synced"
    )
    conflict = plain_conflict(project, 1, run=run, target=TARGET, target_hash=content_hash(TARGET))
    first = member(project, Role.MERCHANDISER)
    second = member(project, Role.ADMIN)
    target = SlowTarget()
    outcome: dict[str, Any] = {}

    def attempt(name: str, user: Any, side: str) -> None:
        try:
            services.resolve(
                Conflict.objects.select_related("project__target_store").get(pk=conflict.pk),
                user=user,
                choices={"name": {"side": side}},
            )
            outcome[name] = "resolved"
        except StateConflict as exc:
            outcome[name] = str(exc)
        finally:
            connection.close()

    with mock.patch.object(services, "build_connector", return_value=target):
        one = threading.Thread(target=attempt, args=("first", first, "source"))
        one.start()
        assert target.writing.wait(10), "the first resolution never reached the target"
        two = threading.Thread(target=attempt, args=("second", second, "target"))
        two.start()
        two.join(10)
        target.may_finish.set()
        one.join(10)
        attempt("third", second, "target")

    assert outcome["first"] == "resolved"
    assert outcome["second"].startswith(f"{first.get_username()} is resolving this conflict")
    assert outcome["third"].startswith(f"Already resolved by {first.get_username()} at ")
    assert len(target.writes) == 1 and target.writes[0]["name"] == "Source"
    conflict.refresh_from_db()
    assert conflict.status == "resolved" and conflict.resolved_by == first
    assert AuditEvent.objects.filter(action="conflict.resolved").count() == 1
    assert JournalEntry.objects.filter(op="updated").count() == 1
