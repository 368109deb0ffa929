"""Redirects over REST and on the dashboard: roles (non-member 404, wrong role 403), jobs,
uploads, export, and the page with problems first."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.redirects import services
from apps.redirects.choices import JobStatus, MapState, Origin, Problem
from apps.redirects.models import Redirect, RedirectJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue", sent.append)
    return sent


@pytest.fixture
def rows(project):
    common = {"project": project, "origin": Origin.SOURCE, "state": MapState.PUSHED}
    ok = Redirect.objects.create(
        old_path="/a-fine/", new_url="https://new.example/a/", problem=Problem.OK, **common
    )
    loop = Redirect.objects.create(
        old_path="/z-loop/",
        new_url="https://new.example/z/",
        problem=Problem.LOOP,
        problem_detail="https://new.example/z-loop comes back",
        hops=[
            {"url": "https://new.example/z-loop/", "status": 301, "location": "/y/"},
            {"url": "https://new.example/y/", "status": 301, "location": "/z-loop/"},
        ],
        **common,
    )
    return ok, loop


def url(name: str, project, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"project_id": project.pk, **kwargs})


def test_non_members_get_404_everywhere(project, outsider, client_for, client, rows):
    api = client_for(outsider)
    for name in (
        "project-redirects",
        "project-redirects-coverage",
        "project-redirect-jobs",
        "project-redirects-export",
    ):
        assert api.get(url(name, project)).status_code == 404, name
    assert api.post(url("project-redirect-jobs", project), {"kind": "verify"}).status_code == 404
    job = RedirectJob.objects.create(project=project, kind="verify")
    assert api.get(reverse("api:redirect-job-detail", args=[job.pk])).status_code == 404
    client.force_login(outsider)
    assert client.get(reverse("redirects:dashboard", args=[project.pk])).status_code == 404
    assert (
        client.post(reverse("redirects:start", args=[project.pk]), {"kind": "verify"}).status_code
        == 404
    )


def test_merchandisers_read_but_cannot_start_or_upload(
    project, merchandiser_user, client_for, rows
):
    api = client_for(merchandiser_user)
    listed = api.get(url("project-redirects", project))
    assert listed.status_code == 200 and len(listed.json()["results"]) == 2
    assert api.get(url("project-redirects-coverage", project)).json()["loops"] == 1
    assert api.post(url("project-redirect-jobs", project), {"kind": "collect"}).status_code == 403
    upload = SimpleUploadedFile("u.csv", b"/a\n", content_type="text/csv")
    answer = api.post(url("project-redirect-uploads", project), {"kind": "csv", "file": upload})
    assert answer.status_code == 403
    assert not RedirectJob.objects.exists()


def test_a_project_manager_starts_a_job_once_and_its_failure_is_recorded(
    project, manager_user, client_for, enqueued, django_capture_on_commit_callbacks
):
    api = client_for(manager_user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(url("project-redirect-jobs", project), {"kind": "verify"})
    assert answer.status_code == 202
    job_id = answer.json()["id"]
    assert answer.json()["status"] == JobStatus.QUEUED and enqueued == [job_id]
    busy = api.post(url("project-redirect-jobs", project), {"kind": "collect"})
    assert busy.status_code == 409 and "under way" in busy.json()["detail"]
    assert api.post(url("project-redirect-jobs", project), {"kind": "dance"}).status_code == 400

    # The factory's target is a BigCommerce store without a storefront URL: a clear failure.
    job = services.run_job(job_id)
    assert job.status == JobStatus.FAILED and "storefront URL" in job.error
    detail = api.get(reverse("api:redirect-job-detail", args=[job_id])).json()
    assert detail["status"] == "failed" and detail["error"] == job.error
    assert services.run_job(job_id).status == JobStatus.FAILED  # a redelivery does nothing


def test_api_upload_reports_bad_rows_and_refuses_bad_files(project, manager_user, client_for):
    project.target_store.storefront_url = "https://new.example"
    project.target_store.save()
    api = client_for(manager_user)
    good = SimpleUploadedFile("u.csv", b"/old-a,/new-a/\nftp://x/y,/b/\n")
    answer = api.post(url("project-redirect-uploads", project), {"kind": "csv", "file": good})
    assert answer.status_code == 201
    assert answer.json()["counts"]["created"] == 1
    assert answer.json()["errors"][0]["row"] == 2

    broken = SimpleUploadedFile("s.xml", b"<urlset><url>")
    answer = api.post(url("project-redirect-uploads", project), {"kind": "sitemap", "file": broken})
    assert answer.status_code == 400 and "not well-formed" in answer.json()["detail"]
    huge = SimpleUploadedFile("big.csv", b"/a\n" * (2 * 1024 * 1024))
    answer = api.post(url("project-redirect-uploads", project), {"kind": "csv", "file": huge})
    assert answer.status_code == 413
    assert api.post(url("project-redirect-uploads", project), {"kind": "csv"}).status_code == 400
    listed = api.get(url("project-redirects", project), {"problem": "bogus"})
    assert listed.status_code == 400


def test_export_is_the_redirection_csv(project, merchandiser_user, client_for, rows):
    answer = client_for(merchandiser_user).get(url("project-redirects-export", project))
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv"
    lines = answer.content.decode().splitlines()
    assert lines[0] == "source,target,regex,code,type,hits,title,status"
    assert lines[1].startswith('"/a-fine/","https://new.example/a/",0,301,"url",0,')


def test_dashboard_shows_problems_first_with_hops(project, merchandiser_user, client, rows):
    client.force_login(merchandiser_user)
    page = client.get(reverse("redirects:dashboard", args=[project.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index('data-problem="loop"') < html.index('data-problem="ok"')
    assert "https://new.example/y/" in html  # a hop of the loop
    assert 'id="redirect-actions"' not in html and 'id="upload-form"' not in html
    assert client.get(reverse("redirects:jobs", args=[project.pk])).status_code == 286


def test_dashboard_pages_by_keyset_problems_first(project, merchandiser_user, client, monkeypatch):
    """Following "Next" visits every redirect once, in rank then path order, and a cursor
    stays right when rows are added before it (no offset to shift)."""
    common = {"project": project, "origin": Origin.SOURCE}
    shapes = [
        {"problem": Problem.OK, "new_url": "https://new.example/x/"},
        {"problem": "", "new_url": "https://new.example/x/"},
        {"problem": "", "new_url": ""},
        {"problem": Problem.CHAIN, "new_url": "https://new.example/x/"},
        {"problem": Problem.LOOP, "new_url": "https://new.example/x/"},
        {"problem": Problem.NOT_REDIRECTED, "new_url": "https://new.example/x/"},
    ]
    for n in range(23):
        Redirect.objects.create(old_path=f"/p{n:02d}/", **shapes[n % len(shapes)], **common)
    expected = list(
        Redirect.objects.filter(project=project)
        .order_by("rank", "old_path")
        .values_list("old_path", flat=True)
    )
    assert Redirect.objects.get(old_path="/p04/").rank == 0  # loop
    assert Redirect.objects.get(old_path="/p02/").rank == 6  # unmapped
    assert Redirect.objects.get(old_path="/p00/").rank == 8  # ok

    from apps.redirects import views

    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    client.force_login(merchandiser_user)
    base = reverse("redirects:dashboard", args=[project.pk])
    seen, query, pages = [], "", 0
    while query is not None:
        html = client.get(f"{base}?{query}").content.decode()
        seen += re.findall(r"<td><code>(/p\d\d/)</code>", html)
        found = re.search(r'href="\?([^"]*)" id="redirects-next"', html)
        query = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
        if pages == 2:
            # A new loop sorts before the cursor: it does not push a row off into a gap.
            Redirect.objects.create(old_path="/a-new-loop/", problem=Problem.LOOP, **common)
    assert seen == expected and pages == 5

    chains = client.get(f"{base}?problem=chain").content.decode()
    assert re.findall(r"<td><code>(/p\d\d/)</code>", chains) == ["/p03/", "/p09/", "/p15/", "/p21/"]
    for junk in ("x", "99:/", "1", "-1:/", ":" * 3000):
        answer = client.get(base, {"after": junk})
        assert answer.status_code == 200, junk


def test_dashboard_buttons_and_upload_for_managers(project, manager_user, client, enqueued, rows):
    client.force_login(manager_user)
    page = client.get(reverse("redirects:dashboard", args=[project.pk])).content.decode()
    assert 'id="redirect-actions"' in page and 'id="upload-form"' in page
    started = client.post(reverse("redirects:start", args=[project.pk]), {"kind": "collect"})
    assert started.status_code == 302
    assert RedirectJob.objects.get().status == JobStatus.QUEUED
    assert client.get(reverse("redirects:jobs", args=[project.pk])).status_code == 200
    refused = client.post(
        reverse("redirects:upload", args=[project.pk]),
        {"kind": "sitemap", "file": SimpleUploadedFile("s.xml", b"not xml")},
    )
    assert refused.status_code == 400 and "not well-formed" in refused.content.decode()


def test_dashboard_upload_and_a_stale_job_does_not_block(project, manager_user, client, enqueued):
    from datetime import timedelta

    from django.utils import timezone

    project.target_store.storefront_url = "https://new.example"
    project.target_store.save()
    client.force_login(manager_user)
    done = client.post(
        reverse("redirects:upload", args=[project.pk]),
        {"kind": "csv", "file": SimpleUploadedFile("u.csv", b"/old,/new/\n")},
    )
    assert done.status_code == 302
    assert Redirect.objects.get(project=project).new_url == "https://new.example/new/"

    stuck = RedirectJob.objects.create(
        project=project,
        kind="collect",
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(hours=3),
    )
    job = services.start_job(project, "verify", user=manager_user)
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.FAILED and job.status == JobStatus.QUEUED
