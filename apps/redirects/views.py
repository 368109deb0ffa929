"""The redirects dashboard of one project: coverage, problems first (loops and chains with
their hops), the jobs (a partial that polls while one is live and answers 286 when none is),
upload forms, collect / push / verify buttons and the export download.

Viewing needs VIEW; the buttons and uploads need START_RUN (the same rule as the API, see
apps/redirects/api/views.py). Every page gets its project through apps.projects.access.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import Conflict
from apps.core.roles import Capability
from apps.projects.access import can, get_project
from apps.redirects import services
from apps.redirects.api.views import export_response
from apps.redirects.choices import JobKind, Problem
from apps.redirects.models import RedirectJob
from apps.redirects.uploads import MAX_UPLOAD_BYTES, UploadRejected

HTMX_STOP_POLLING = 286
PAGE_SIZE = 100
RECENT_JOBS = 8


def _jobs_context(project: Any) -> dict[str, Any]:
    jobs = list(
        RedirectJob.objects.filter(project=project).select_related("created_by")[:RECENT_JOBS]
    )
    return {"project": project, "jobs": jobs, "live": any(job.is_live for job in jobs)}


@login_required
@require_GET
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    problem = request.GET.get("problem", "")
    if problem not in Problem.values and problem != "unmapped":
        problem = ""
    after = services.parse_cursor(request.GET.get("after", ""))
    page = services.problems_page(project, problem=problem, after=after, size=PAGE_SIZE)
    next_query = {"problem": problem} if problem else {}
    cover = services.coverage(project)
    context = {
        **_jobs_context(project),
        "coverage": cover,
        "percent": round(cover.ratio * 100, 1),
        "rows": page.rows,
        "paged": after is not None,
        "first_query": urlencode(next_query),
        "next_query": (
            urlencode({**next_query, "after": page.next_cursor}) if page.next_cursor else None
        ),
        "problem": problem,
        "problems": Problem.choices,
        "can_run": can(request.user, project, Capability.START_RUN),
        "has_api": services.target_has_redirect_api(project),
        "target_storefront": project.target_store.storefront_base,
        "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "redirects/dashboard.html", context)


@login_required
@require_GET
def jobs_partial(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    context = _jobs_context(project)
    status = 200 if context["live"] else HTMX_STOP_POLLING
    return render(request, "redirects/htmx/jobs.html", context, status=status)


@login_required
@require_POST
def start(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.START_RUN)
    kind = request.POST.get("kind", "")
    if kind not in (JobKind.COLLECT, JobKind.PUSH, JobKind.VERIFY):
        messages.error(request, "Choose collect, push or verify.")
        return redirect("redirects:dashboard", project.pk)
    try:
        job = services.start_job(project, kind, user=request.user, request=request)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{job.get_kind_display()} started.")
    return redirect("redirects:dashboard", project.pk)


@login_required
@require_POST
def upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id, Capability.START_RUN)
    kind = request.POST.get("kind", "")
    file = request.FILES.get("file")
    problem = ""
    if kind not in ("csv", "sitemap"):
        problem, status = "Choose a CSV or a sitemap upload.", 400
    elif file is None:
        problem, status = "Choose a file to upload.", 400
    elif file.size > MAX_UPLOAD_BYTES:
        problem, status = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", 413
    if not problem:
        try:
            job = services.upload(
                project, kind, file.read(), filename=file.name or "", user=request.user
            )
        except UploadRejected as exc:
            problem, status = str(exc), exc.status
        else:
            bad = len(job.errors)
            note = f" {bad} row(s) could not be used: see the upload below." if bad else ""
            messages.success(request, f"Uploaded {job.counts.get('rows', 0)} URL(s).{note}")
            return redirect("redirects:dashboard", project.pk)
    # A refused upload is a client error: a page with the reason and a 4xx status.
    return render(
        request,
        "redirects/upload_refused.html",
        {"project": project, "problem": problem},
        status=status,
    )


@login_required
@require_GET
def export(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_project(request.user, project_id)
    return export_response(project)
