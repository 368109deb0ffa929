"""The WSGI side of sandbox fault injection: making a "dropped connection" real.

SandboxFaultMiddleware (apps/sandbox/faults.py) decides the faults; a Django response cannot
express "no response at all" or "the client gave up waiting", so the middleware marks such a
response with FAULT_HEADER and this wrapper, which sits between the server and Django, acts on
the mark. How depends on who serves the request:

- gunicorn (production, `make run`): the client socket is `environ["gunicorn.socket"]`. It is
  shut down (SHUT_RDWR sends a FIN, so the client reads end-of-file before any status line),
  then ConnectionDropped is raised: an ECONNRESET OSError, which gunicorn's workers log at
  debug level and answer by closing the connection without writing anything.
- Django's wsgiref server (runserver, the live test server): wsgiref does not expose the
  socket, so `install_dev_server_support()` patches Django's ServerHandler.run to put it in the
  environ and to run the app behind this wrapper (the live server builds its own app chain and
  never reads WSGI_APPLICATION). wsgiref's BaseHandler.run treats ConnectionResetError as a
  client that went away: it returns without writing, and the next read of the shut-down socket
  ends the keep-alive loop.
- In-process (tests' httpx.WSGITransport, built with `in_process=True`): there is no socket, so
  the wrapper raises the transport error httpx itself raises for a real drop, and for a timeout
  the ReadTimeout a client with a timeout would see (without the wait: tests stay fast).

The wrapper announces itself in environ[MODE_KEY]; the middleware marks responses only when it
is there, and degrades otherwise (see faults.py). Nothing here touches models: migrator/wsgi.py
imports this module before Django is set up.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx

MODE_KEY = "migrator.sandbox_faults"
IN_PROCESS = "in_process"
SERVER = "server"
# Django's wsgiref server does not put the client socket in the environ; the patch below does.
CLIENT_SOCKET_KEY = "migrator.client_socket"

# Set by the middleware on a response the wrapper must not deliver; never reaches a client.
FAULT_HEADER = "X-Migrator-Sandbox-Fault"
DROP = "drop"
TIMEOUT = "timeout"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ConnectionDropped(ConnectionResetError):
    """Raised out of the WSGI app after the client socket was shut down.

    A ConnectionResetError with errno ECONNRESET because that is what both gunicorn and wsgiref
    already treat as "the connection is gone": no 500 is written, no traceback is logged."""

    def __init__(self) -> None:
        super().__init__(errno.ECONNRESET, "sandbox fault: connection dropped after the write")


def _discard_writes(data: bytes) -> None:
    # The write() callable of a response that is never delivered; Django does not call it.
    return None


class SandboxFaultsApp:
    """Wrap a WSGI app so responses marked by SandboxFaultMiddleware are dropped or time out.

    `in_process=True` is for httpx.WSGITransport only: a fault then raises the httpx exception
    a real network would have produced."""

    def __init__(self, app: WSGIApp, *, in_process: bool = False) -> None:
        self.app = app
        self.mode = IN_PROCESS if in_process else SERVER

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if MODE_KEY in environ:
            # runserver wraps twice (its patched handler and migrator.wsgi); the outer one acts.
            return self.app(environ, start_response)
        environ[MODE_KEY] = self.mode
        marked: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            fault = next((v for k, v in headers if k.lower() == FAULT_HEADER.lower()), None)
            if fault is None:
                return start_response(status, headers, exc_info)
            # Hold the status line back: a dropped or timed-out response must send nothing.
            marked.append(fault)
            return _discard_writes

        result = self.app(environ, start)
        if not marked:
            return result
        # Closing the response fires request_finished (database connections are released) now,
        # since the server will never iterate or close it.
        close = getattr(result, "close", None)
        if close is not None:
            close()
        if marked[0] == TIMEOUT and self.mode == IN_PROCESS:
            raise httpx.ReadTimeout("timed out")
        if self.mode == IN_PROCESS:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        client = environ.get("gunicorn.socket") or environ.get(CLIENT_SOCKET_KEY)
        if client is not None:
            # An OSError means the client left first: the connection is gone either way.
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        raise ConnectionDropped()


_install_lock = threading.Lock()


def install_dev_server_support() -> None:
    """Let Django's own server (runserver, the live test server) drop a connection.

    Idempotent; called by SandboxFaultMiddleware when a handler loads it, which both servers do
    before they serve their first request."""
    from django.core.servers import basehttp

    with _install_lock:
        if getattr(basehttp.ServerHandler.run, "_sandbox_faults", False):
            return
        original = basehttp.ServerHandler.run

        def run(self: Any, application: WSGIApp) -> None:
            # base_env becomes the request's environ in setup_environ(); request_handler is the
            # WSGIRequestHandler that owns the connection (set right after __init__).
            self.base_env[CLIENT_SOCKET_KEY] = self.request_handler.connection
            return original(self, SandboxFaultsApp(application))

        run._sandbox_faults = True  # type: ignore[attr-defined]
        basehttp.ServerHandler.run = run  # type: ignore[method-assign]
