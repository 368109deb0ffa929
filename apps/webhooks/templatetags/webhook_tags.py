"""The project page's webhooks section: `{% load webhook_tags %}{% webhooks_section project %}`
renders apps/webhooks/templates/webhooks/_section.html (status, delivery URL, pending
changes, and "Connect webhooks" for admins)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.core.roles import Capability
from apps.projects.access import can
from apps.webhooks import services

register = template.Library()


@register.inclusion_tag("webhooks/_section.html", takes_context=True)
def webhooks_section(context: template.Context, project: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "project": project,
        "hooks": services.summary(project),
        "can_manage": can(user, project, Capability.MANAGE),
        "csrf_token": context.get("csrf_token"),
    }
