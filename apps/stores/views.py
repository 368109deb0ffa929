"""Dashboard pages for store connections: list, create, edit.

A user sees the stores their projects use and the stores they created; they may edit a store
they created or one used by a project they administer. A store outside that set is a 404 (its
existence is not revealed), a visible store they may not edit is a 403. The rule itself lives in
apps/projects/access.py, shared with the REST API so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.core.roles import Capability, Role, role_allows
from apps.projects.access import can_manage_store, visible_stores
from apps.projects.models import Project
from apps.stores import services
from apps.stores.forms import StoreForm, add_service_errors
from apps.stores.models import Store

_MANAGE_ROLES = [role for role in Role.values if role_allows(role, Capability.MANAGE)]


def _editable_q(user: Any) -> Q:
    """The set form of can_manage_store, to mark a whole list in one query. Display only:
    the edit view itself decides with can_manage_store."""
    managed = Project.objects.filter(memberships__user=user, memberships__role__in=_MANAGE_ROLES)
    return (
        Q(created_by=user)
        | Q(pk__in=managed.values("source_store"))
        | Q(pk__in=managed.values("target_store"))
    )


def get_store(user: Any, store_id: Any, *, edit: bool = False) -> Store:
    """A store the user can see (else 404); with edit=True also one they may edit (else 403)."""
    try:
        pk = int(store_id)
    except (TypeError, ValueError):
        raise Http404("No such store.") from None
    store = visible_stores(user).filter(pk=pk).first()
    if store is None:
        raise Http404("No such store.")
    if edit and not can_manage_store(user, store):
        raise PermissionDenied(
            "Only the store's creator or an admin of a project using it may edit it."
        )
    return store


@login_required
def store_list(request: HttpRequest) -> HttpResponse:
    stores = (
        visible_stores(request.user)
        # The ciphertext is not needed to say whether credentials are set: keep it off the page.
        .defer("credentials_encrypted")
        .annotate(
            can_edit=ExpressionWrapper(_editable_q(request.user), output_field=BooleanField()),
            credentials_set=ExpressionWrapper(
                ~Q(credentials_encrypted=""), output_field=BooleanField()
            ),
        )
        .order_by("name", "id")
    )
    return render(request, "stores/list.html", {"stores": stores})


@login_required
@require_http_methods(["GET", "POST"])
def store_create(request: HttpRequest) -> HttpResponse:
    form = StoreForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            store = services.create_store(
                user=request.user,
                request=request,
                credentials=form.cleaned_data["credentials"],
                **form.settings(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Store “{store.name}” created.")
            return redirect("stores:list")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "stores/form.html",
        {"form": form, "store": None, "title": "New store"},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def store_edit(request: HttpRequest, pk: int) -> HttpResponse:
    store = get_store(request.user, pk, edit=True)
    title = store.name  # the service assigns fields before validating; keep the saved name
    form = StoreForm(request.POST if request.method == "POST" else None, store=store)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_store(
                store,
                user=request.user,
                request=request,
                # Empty means "keep the stored credentials" (the service replaces only if given).
                credentials=form.cleaned_data["credentials"] or None,
                **form.settings(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Store “{store.name}” saved.")
            return redirect("stores:list")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "stores/form.html",
        {"form": form, "store": store, "title": f"Edit store “{title}”"},
        status=status,
    )
