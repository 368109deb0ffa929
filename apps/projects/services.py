"""Projects and their members."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core import audit
from apps.core.roles import Role
from apps.projects.models import ENTITY_CHOICES, Membership, Project
from apps.stores.models import Store

SUPPORTED_ENTITIES = {key for key, _ in ENTITY_CHOICES}


@transaction.atomic
def create_project(
    *,
    user: Any,
    name: str,
    source_store: Store,
    target_store: Store,
    entities: list[str] | None = None,
    request: Any = None,
) -> Project:
    """Create a project; its creator becomes its admin."""
    if source_store.pk == target_store.pk:
        raise ValidationError({"target_store": "The target must be a different store."})
    entities = entities or ["products"]
    unknown = sorted(set(entities) - SUPPORTED_ENTITIES)
    if unknown:
        raise ValidationError({"entities": f"Unsupported entities: {', '.join(unknown)}."})
    project = Project.objects.create(
        name=name,
        source_store=source_store,
        target_store=target_store,
        entities=entities,
        created_by=user,
    )
    Membership.objects.create(project=project, user=user, role=Role.ADMIN)
    audit.record(
        action="project.created",
        obj=project,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"name": name, "source_store": source_store.pk, "target_store": target_store.pk},
    )
    return project


@transaction.atomic
def set_member(
    project: Project, *, user: Any, member: Any, role: str, request: Any = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership, _ = Membership.objects.update_or_create(
        project=project, user=member, defaults={"role": role}
    )
    audit.record(
        action="project.member_set",
        obj=membership,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"member": member.get_username(), "role": role},
    )
    return membership
