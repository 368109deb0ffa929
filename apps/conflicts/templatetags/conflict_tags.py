"""Template helpers for the review queue: values shown as people read them, and the open
count the project page links to. Output is plain text; templates escape it as usual."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.conflicts.services import open_count

register = template.Library()


@register.filter
def show_value(value: Any) -> str:
    """None as an em dash, text as is, lists and objects as indented JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value if value != "" else "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    indent = 2 if isinstance(value, list | dict) else None
    return json.dumps(value, ensure_ascii=False, indent=indent)


@register.filter
def age(moment: datetime | None) -> str:
    """ "3d 4h" / "2h 05m" / "12m" since a moment."""
    if moment is None:
        return "—"
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _reverse(name: str, *args: Any) -> str:
    # Pages outside this app link to the queue only once its URLs are mounted.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag
def review_index_url() -> str:
    return _reverse("conflicts:index")


@register.inclusion_tag("conflicts/_queue_link.html")
def review_queue_link(project: Any) -> dict[str, Any]:
    """The project page's "Review queue (N open)" link."""
    return {"url": _reverse("conflicts:queue", project.pk), "count": open_count(project)}
