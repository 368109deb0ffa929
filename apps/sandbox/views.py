"""Dashboard page for a sandbox store's faults: /stores/<id>/sandbox/ (`stores:sandbox`).

Reached from the store's edit page. Anyone who can see the store sees the settings; changing
them takes can_manage_store (apps/projects/access.py), as editing the store does.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.projects.access import can_manage_store
from apps.sandbox import fault_settings
from apps.sandbox.faults import describe
from apps.sandbox.forms import FaultSettingsForm
from apps.stores.forms import add_service_errors
from apps.stores.views import get_store


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_faults(request: HttpRequest, pk: int) -> HttpResponse:
    store = get_store(request.user, pk, edit=request.method == "POST")
    try:
        sandbox = fault_settings.sandbox_for_store(store)
    except fault_settings.NotASandbox as exc:
        raise Http404(str(exc)) from None
    can_edit = can_manage_store(request.user, store)
    form = FaultSettingsForm(
        request.POST if request.method == "POST" else None,
        initial=fault_settings.current(sandbox),
        read_only=not can_edit,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = fault_settings.update_faults(
                store, sandbox, user=request.user, request=request, **form.changes()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if changed:
                messages.success(request, f"Sandbox faults saved: {describe(sandbox)}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("stores:sandbox", pk=store.pk)
    return render(
        request,
        "sandbox/faults.html",
        {
            "form": form,
            "store": store,
            "sandbox": sandbox,
            "can_edit": can_edit,
            "summary": describe(sandbox),
        },
        status=400 if request.method == "POST" else 200,
    )
