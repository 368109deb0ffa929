"""Roles a project member can hold and what each may do.

One table decides every permission check, in views and API alike.
"""

from django.db import models


class Role(models.TextChoices):
    PROJECT_MANAGER = "project_manager", "Project manager"
    MERCHANDISER = "merchandiser", "Merchandiser"
    ADMIN = "admin", "Admin"


class Capability(models.TextChoices):
    VIEW = "view", "View the project"
    START_RUN = "start_run", "Start and cancel runs"
    RESOLVE_CONFLICT = "resolve_conflict", "Resolve conflicts"
    APPROVE_GATE = "approve_gate", "Approve go-live gates"
    MANAGE = "manage", "Configure stores, policies and members"


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.PROJECT_MANAGER: frozenset({Capability.VIEW, Capability.START_RUN}),
    Role.MERCHANDISER: frozenset({Capability.VIEW, Capability.RESOLVE_CONFLICT}),
    Role.ADMIN: frozenset(Capability.values),
}


def role_allows(role: str, capability: str) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())
