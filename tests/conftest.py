"""Fixtures shared by every test package.

`sandbox_http` mounts this server's own WSGI app as the httpx transport of every connector:
the connectors speak real HTTP requests and responses to the real sandbox views, without a
socket. Integration tests use a live server and worker processes instead.
"""

from __future__ import annotations

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from apps.core.roles import Role
from apps.sandbox.wsgi import SandboxFaultsApp
from apps.stores.services import transport_override
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


class InProcessTransport(httpx.WSGITransport):
    """Real HTTP requests and responses to this server's app, in the test's own transaction.

    As Django's test client does, a request must not close the test's open connection; the
    client reconnects that signal after each of its own requests, so it is taken off again
    before every request here."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return super().handle_request(request)


@pytest.fixture
def sandbox_http(db):
    """Route connector traffic to the in-process sandbox (http://localhost/sandbox/…)."""
    transport = InProcessTransport(app=SandboxFaultsApp(WSGIHandler(), in_process=True))
    try:
        with transport_override(transport):
            yield transport
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def project(db):
    return ProjectFactory()


def _member(project, role):
    return MembershipFactory(project=project, role=role).user


@pytest.fixture
def admin_user(project):
    return _member(project, Role.ADMIN)


@pytest.fixture
def manager_user(project):
    return _member(project, Role.PROJECT_MANAGER)


@pytest.fixture
def merchandiser_user(project):
    return _member(project, Role.MERCHANDISER)


@pytest.fixture
def outsider(db):
    """A user who is a member of a different project only."""
    other = ProjectFactory()
    return MembershipFactory(project=other, role=Role.ADMIN).user


@pytest.fixture
def user(db):
    return UserFactory()
