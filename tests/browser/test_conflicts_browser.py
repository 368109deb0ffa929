"""A merchandiser clears the review queue in a real browser: resolve in place (HTMX shows the
next conflict without a page load), then dismiss the last one."""

from __future__ import annotations

import re

import pytest

from apps.conflicts.models import Conflict
from apps.core.roles import Role
from apps.projects.models import Membership
from apps.runs.engine import run_inline
from apps.runs.services import start_run

# The browser fixtures (Debian's chromium, skipped without it) live with the browser tests.
from tests.conflicts.conftest import edit_conflict, read_target, record_maps
from tests.factories import PASSWORD, UserFactory
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merchandiser_clears_the_queue(live_server, page, artifacts):
    rehearsal = make_rehearsal(None, products=3, base=live_server.url)
    rehearsal.run = run_inline(start_run(rehearsal.project, kind="full").pk)
    first, second, _ = record_maps(rehearsal)
    one = edit_conflict(
        rehearsal,
        first,
        source={"name": "Source <b>one</b>", "price": "11.00"},
        target={"name": "Target one", "price": "12.00", "weight": "4"},
    )
    two = edit_conflict(rehearsal, second, source={"name": "S two"}, target={"name": "T two"})
    merch = UserFactory(username="merch")
    Membership.objects.create(project=rehearsal.project, user=merch, role=Role.MERCHANDISER)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "merch")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/projects/{rehearsal.project.pk}/")
    page.click("#review-queue-link")
    page.wait_for_selector("#conflicts-table")
    page.screenshot(path=str(artifacts / "conflicts-queue.png"), full_page=True)
    page.click(f"tr[data-conflict-id='{one.pk}'] a.review-link")
    page.wait_for_selector(f"#conflict-panel[data-conflict-id='{one.pk}']")
    page.screenshot(path=str(artifacts / "conflict-detail.png"), full_page=True)

    page.check("input[name='side:name'][value=target]")
    page.fill("input[name='value:price']", "13.5")
    page.check("input[name='side:price'][value=custom]")
    page.click("#resolve-submit")
    page.wait_for_selector(f"#conflict-panel[data-conflict-id='{two.pk}']")
    assert re.search(rf"/conflicts/{two.pk}/$", page.url)
    assert "Resolved products" in page.inner_text("#panel-notice")
    page.screenshot(path=str(artifacts / "conflict-next.png"), full_page=True)

    page.fill("#dismiss-reason", "checked by phone with the shop")
    page.click("#dismiss-submit")
    page.wait_for_selector("#queue-clear")

    after = read_target(rehearsal, one.target_id)
    assert (after["name"], after["price"]) == ("Target one", "13.50")
    assert Conflict.objects.get(pk=two.pk).status == "dismissed"
