"""Object-level access: every view and endpoint gets its project through these functions.

A user who is not a member gets 404 (the project's existence is not revealed); a member whose
role lacks the capability gets 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery, Value
from django.http import Http404

from apps.core.roles import Capability, Role, role_allows
from apps.projects.models import Membership, Project
from apps.stores.models import Store


def visible_projects(user: Any) -> QuerySet[Project]:
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def role_of(user: Any, project: Project) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def role_expression(user: Any, project_field: str = "project") -> Subquery | Value:
    """The user's role on the row's project, as an annotation: a page that fetches a row of a
    project anyway learns the role in the same query (the progress partial is polled every two
    seconds), then decides with check_role()."""
    if not getattr(user, "is_authenticated", False):
        return Value(None, output_field=CharField())
    return Subquery(
        Membership.objects.filter(project=OuterRef(project_field), user=user).values("role")[:1]
    )


def require(user: Any, project: Project, capability: str = Capability.VIEW) -> str:
    """The user's role on the project; Http404 for a non-member, PermissionDenied if the role
    lacks the capability."""
    return check_role(role_of(user, project), capability)


def check_role(role: str | None, capability: str = Capability.VIEW) -> str:
    """`role` (from role_of or role_expression) if it allows the capability; Http404 for no
    role (a non-member), PermissionDenied for a role without it."""
    if role is None:
        raise Http404("No such project.")
    if not role_allows(role, capability):
        label = Capability(capability).label if capability in Capability.values else capability
        raise PermissionDenied(f"Your role on this project does not allow this: {label}.")
    return role


def get_project(user: Any, project_id: Any, capability: str = Capability.VIEW) -> Project:
    try:
        project = Project.objects.select_related("source_store", "target_store").get(
            pk=int(project_id)
        )
    except (Project.DoesNotExist, TypeError, ValueError):
        raise Http404("No such project.") from None
    require(user, project, capability)
    return project


def can(user: Any, project: Project, capability: str) -> bool:
    role = role_of(user, project)
    return role is not None and role_allows(role, capability)


# Stores are shared between projects, so access to one follows the projects that use it
# (and the user who created it).
_MANAGING_ROLES = [role for role in Role.values if role_allows(role, Capability.MANAGE)]


def visible_stores(user: Any) -> QuerySet[Store]:
    """Stores the user created, or that a project they are a member of reads or writes."""
    if not getattr(user, "is_authenticated", False):
        return Store.objects.none()
    projects = visible_projects(user)
    return Store.objects.filter(
        Q(created_by=user)
        | Q(pk__in=projects.values("source_store"))
        | Q(pk__in=projects.values("target_store"))
    )


def can_manage_store(user: Any, store: Store) -> bool:
    """The creator, or a member allowed to manage a project that uses the store."""
    if not getattr(user, "is_authenticated", False):
        return False
    if store.created_by_id == user.pk:
        return True
    using = Project.objects.filter(Q(source_store=store) | Q(target_store=store))
    return Membership.objects.filter(
        user=user, role__in=_MANAGING_ROLES, project__in=using
    ).exists()
