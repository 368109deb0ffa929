"""A project manager logs in, starts a full run and watches it succeed, in a real browser, with
a real worker process doing the migration."""

from __future__ import annotations

import re

import pytest

from apps.core.roles import Role
from apps.projects.models import Membership
from apps.runs.models import Run
from tests.factories import PASSWORD, UserFactory
from tests.support.live import celery_worker
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/projects/$"))


def test_manager_starts_a_run_and_watches_it_succeed(live_server, page, artifacts, tmp_path):
    rehearsal = make_rehearsal(None, products=150, base=live_server.url)
    manager = UserFactory(username="pm")
    Membership.objects.create(project=rehearsal.project, user=manager, role=Role.PROJECT_MANAGER)

    with celery_worker(tmp_path / "worker.log"):
        log_in(page, live_server.url, "pm")
        page.click(f"text={rehearsal.project.name}")
        page.wait_for_url(re.compile(rf".*/projects/{rehearsal.project.pk}/$"))
        page.click("button:has-text('Start full run')")
        page.wait_for_url(re.compile(r".*/runs/\d+/$"))

        # The progress partial polls until the run ends; the page never reloads.
        page.wait_for_selector("#run-status[data-status=succeeded]", timeout=180_000)
        page.screenshot(path=str(artifacts / "run-succeeded.png"), full_page=True)

    run = Run.objects.get()
    assert run.created_by == manager
    row = page.locator("[data-entity=products]")
    assert "150" in row.inner_text()
    assert len(rehearsal.target_products()) == 150


def test_a_non_member_sees_no_project(live_server, page):
    rehearsal = make_rehearsal(None, products=0, base=live_server.url)
    UserFactory(username="stranger")

    log_in(page, live_server.url, "stranger")
    assert rehearsal.project.name not in page.content()
    response = page.goto(f"{live_server.url}/projects/{rehearsal.project.pk}/")
    assert response.status == 404
