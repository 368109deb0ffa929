"""Go-live, walked in a real browser with a real worker: an admin migrates a small shop
(full run), proves it (verify run, reconciliation), moves its URLs (collect, push, verify
redirects), brings the target up to date (final sweep) and proves it again, then approves the
gates in order; a second admin co-signs go-live and the project shows LIVE. A merchandiser sees
the plan read-only.

Only the UI is driven (clicks and forms); the database is read for the final audit assertions
and for better failure messages.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

import pytest

from apps.core.models import AuditEvent
from apps.core.roles import Role
from apps.golive.models import CutoverPlan
from apps.projects.models import Membership
from apps.redirects.models import RedirectJob
from apps.runs.models import Run
from tests.factories import PASSWORD, UserFactory
from tests.support.live import celery_worker
from tests.support.rehearsal import make_rehearsal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRODUCTS = 40
# Bounded, but generous: two shared cores, and a worker job may wait for the target's quota.
RUN_TIMEOUT = 120_000
JOB_TIMEOUT = 90_000
GATES = ["baseline", "clear", "redirects", "final_sweep", "go_live"]
RUN_ENDED = ",".join(
    f"#run-status[data-status={status}]"
    for status in ("succeeded", "partially_failed", "failed", "cancelled")
)


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/projects/$"))


@contextmanager
def logged_in(browser, base_url: str, username: str):
    """A page in a browser context of its own (its own session cookie)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, base_url, username)
        yield page
    finally:
        context.close()


def open_project(page, base_url: str, project) -> None:
    page.goto(f"{base_url}/projects/")
    page.click(f"text={project.name}")
    page.wait_for_url(re.compile(rf".*/projects/{project.pk}/$"))


def wait_for_run(page, what: str, log_path) -> int:
    """On a run page (/runs/<id>/, which polls): wait until the run ends; it must succeed."""
    match = re.search(r"/runs/(\d+)/$", page.url)
    assert match, f"{what}: not on a run page but {page.url}"
    run_id = int(match.group(1))
    page.wait_for_selector(RUN_ENDED, timeout=RUN_TIMEOUT)
    status = page.get_attribute("#run-status", "data-status")
    if status != "succeeded":
        run = Run.objects.get(pk=run_id)
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        raise AssertionError(f"{what} #{run_id} ended {status}: {run.error}\nworker log:\n{tail}")
    return run_id


def add_member(page, username: str, role: str) -> None:
    """On the project page: the admin adds (or changes) a member through the members form."""
    page.fill("#add-member-form input[name=username]", username)
    page.select_option("#add-member-form select[name=role]", role)
    page.click("#add-member")
    page.wait_for_selector(f"#members-table tr[data-username='{username}'][data-role='{role}']")


def redirect_job(page, kind: str) -> None:
    """On the redirects dashboard: start a job and wait (the jobs panel polls) for its end."""
    page.click(f"#start-{kind}")
    page.wait_for_url(re.compile(r".*/redirects/projects/\d+/$"))
    row = f"#redirect-jobs tr[data-kind={kind}]"
    page.wait_for_selector(
        f"{row}[data-status=succeeded], {row}[data-status=failed]", timeout=JOB_TIMEOUT
    )
    status = page.get_attribute(f"{row} >> nth=0", "data-status")
    if status != "succeeded":
        job = RedirectJob.objects.filter(kind=kind).first()
        raise AssertionError(f"redirects {kind} ended {status}: {job and job.error}")


def reload_until(page, selector: str, timeout: float, what: str) -> None:
    """For pages that do not poll: reload until `selector` shows (bounded)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {selector} not shown after {timeout}s")
        time.sleep(1)
        page.reload()


def approve(page, gate: str, *, expect: str) -> None:
    """On the plan: click the gate's approve button (HTMX swaps the plan) and wait for the
    gate's new status; a refusal shows its reason in the notice."""
    section = f"section#gate-{gate}"
    button = page.locator(f"{section} form.approve-form button[type=submit]")
    assert button.is_enabled(), f"{gate}: approve is disabled ({page.inner_text(section)[:600]})"
    button.click()
    try:
        page.wait_for_selector(f"{section}[data-status={expect}] form.withdraw-form")
    except Exception:
        notice = page.locator("#cutover-notice")
        reason = notice.inner_text() if notice.count() else page.inner_text(section)[:800]
        raise AssertionError(f"approving {gate}: {reason}") from None


def test_admins_walk_a_project_from_baseline_to_go_live(
    live_server, page, browser, artifacts, tmp_path
):
    started = time.monotonic()
    base = live_server.url
    rehearsal = make_rehearsal(None, products=PRODUCTS, base=base)
    project = rehearsal.project
    # The first admin is made a member here; it adds the others through the members form.
    admin = UserFactory(username="admin1")
    UserFactory(username="admin2")
    UserFactory(username="merch")
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    log_path = tmp_path / "worker.log"

    with celery_worker(log_path):
        # 1. Baseline: a full run.
        log_in(page, base, "admin1")
        open_project(page, base, project)
        add_member(page, "admin2", Role.ADMIN)
        add_member(page, "merch", Role.MERCHANDISER)
        page.click("#start-run")
        page.wait_for_url(re.compile(r".*/runs/\d+/$"))
        full_id = wait_for_run(page, "full run", log_path)

        # 2. Reconciliation: a verify run, then the report's equation.
        open_project(page, base, project)
        page.click("#link-reconciliation")
        page.wait_for_selector("#recon-title")
        page.click("#start-verify button[type=submit]")
        page.wait_for_url(re.compile(r".*/runs/\d+/$"))
        verify_id = wait_for_run(page, "verify run", log_path)
        open_project(page, base, project)
        page.click("#link-reconciliation")
        reload_until(page, "#recon-summary[data-equation-holds=true]", 60, "reconciliation")
        assert f"#{verify_id}" in page.inner_text("#recon-title")
        assert page.inner_text("#sum-missing").strip() == "0"
        assert page.inner_text("#sum-mismatched").strip() == "0"

        # 3. SEO redirects: collect, push, verify (the sandbox target's storefront is its
        # base URL, so nothing needs setting on the store).
        open_project(page, base, project)
        page.click("#link-redirects")
        page.wait_for_selector("#coverage")
        assert page.locator("#no-storefront").count() == 0
        for kind in ("collect", "push", "verify"):
            redirect_job(page, kind)
        page.reload()
        coverage = page.locator("#coverage")
        assert float(coverage.get_attribute("data-ratio")) == 1.0, page.inner_text("#coverage")
        assert int(coverage.get_attribute("data-total")) >= PRODUCTS
        assert page.inner_text("#coverage-loops").strip() == "0"

        # 4. The final sweep: a delta that also looks for deletes.
        open_project(page, base, project)
        page.check("#delta-deletes")
        page.click("#start-delta")
        page.wait_for_url(re.compile(r".*/runs/\d+/$"))
        delta_id = wait_for_run(page, "final sweep", log_path)
        sweep = Run.objects.get(pk=delta_id)
        assert (sweep.kind, sweep.options.get("deletes")) == ("delta", True)

        # 5. The sweep wrote after the report: the plan calls the report stale until a new
        # verify run proves the target as it is now.
        open_project(page, base, project)
        page.click("#link-cutover")
        stale = page.locator("section#gate-final_sweep tr[data-kind=reconciliation]")
        assert stale.get_attribute("data-passed") == "false"
        assert "verify again" in stale.inner_text()
        open_project(page, base, project)
        page.click("#link-reconciliation")
        page.click("#start-verify button[type=submit]")
        page.wait_for_url(re.compile(r".*/runs/\d+/$"))
        wait_for_run(page, "second verify run", log_path)

    # 6. The gates, approved in order; every check passes on the evidence produced above.
    open_project(page, base, project)
    page.click("#link-cutover")
    page.wait_for_selector("#cutover-title")
    for gate in GATES:
        failing = page.locator(f"section#gate-{gate} tr[data-passed=false]")
        assert failing.count() == 0, f"{gate}: {page.inner_text(f'section#gate-{gate}')[:800]}"
    assert page.get_attribute("section#gate-baseline", "data-status") == "awaiting_approval"
    page.screenshot(path=str(artifacts / "golive-checks-pass.png"), full_page=True)

    for gate in GATES[:-1]:
        approve(page, gate, expect="passed")
    approve(page, "go_live", expect="awaiting_approval")
    assert page.locator("#live-banner").count() == 0
    page.screenshot(path=str(artifacts / "golive-gates-passed.png"), full_page=True)

    # The second admin co-signs go-live.
    with logged_in(browser, base, "admin2") as second:
        open_project(second, base, project)
        second.click("#link-cutover")
        second.wait_for_selector("section#gate-go_live[data-status=awaiting_approval]")
        approve(second, "go_live", expect="passed")
        second.wait_for_selector("#live-banner")
        second.screenshot(path=str(artifacts / "golive-live.png"), full_page=True)

    # 7. LIVE on the plan and on the project page.
    page.reload()
    assert "LIVE" in page.inner_text("#live-banner")
    open_project(page, base, project)
    assert "LIVE" in page.inner_text("#project-live")
    page.screenshot(path=str(artifacts / "golive-project-live.png"), full_page=True)

    # A merchandiser sees the plan, read-only.
    with logged_in(browser, base, "merch") as merch:
        open_project(merch, base, project)
        merch.click("#link-cutover")
        merch.wait_for_selector("#cutover-read-only")
        assert merch.locator("#live-banner").count() == 1
        assert merch.locator("form.approve-form").count() == 0
        assert merch.locator("form.withdraw-form").count() == 0
        merch.screenshot(path=str(artifacts / "golive-read-only.png"), full_page=True)

    plan = CutoverPlan.objects.get(project=project)
    assert plan.is_live and plan.went_live_at is not None
    approvals = AuditEvent.objects.filter(project_id=project.pk, action="gate.approved")
    signed = sorted((e.payload["gate"], e.actor_name) for e in approvals)
    assert signed == sorted([(gate, "admin1") for gate in GATES] + [("go_live", "admin2")]), signed
    assert all(e.via == "session" for e in approvals)
    assert AuditEvent.objects.filter(
        project_id=project.pk, action="cutover.went_live", actor_name="admin2"
    ).exists()
    # No check regressed along the way: nothing was withdrawn.
    assert not AuditEvent.objects.filter(
        project_id=project.pk, action="gate.approval_withdrawn"
    ).exists()
    assert Run.objects.get(pk=full_id).created_by.username == "admin1"
    elapsed = time.monotonic() - started
    print(f"go-live walk: {elapsed:.0f}s")
