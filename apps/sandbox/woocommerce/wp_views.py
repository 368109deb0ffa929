"""HTTP endpoints of WordPress's wp/v2 in a WooCommerce sandbox: posts, tags, users, media.

Authentication is Basic, as with application passwords; the sandbox accepts the store's
consumer key and secret as user and application password. Without credentials WordPress still
answers public reads (published posts in view context, tags, media); writes and private reads
need them. Errors have WordPress's shape and codes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.models import SandboxStore
from apps.sandbox.woocommerce.auth import _basic_credentials, find_store
from apps.sandbox.woocommerce.errors import WCError, invalid_params, no_route
from apps.sandbox.woocommerce.listing import ListSpec, filtered, page_of, parse_query
from apps.sandbox.woocommerce.views import _forced, _listing_response, _one, _payload
from apps.sandbox.woocommerce.wordpress import (
    MEDIA,
    MEDIA_LIST,
    POST,
    TAG,
    TAG_LIST,
    USER,
    USER_LIST,
    MediaStore,
    TagStore,
    UserStore,
    WPStore,
)
from apps.sandbox.woocommerce.wp_posts import (
    POST_LIST,
    PostStore,
    forbidden_context,
    invalid_status_for_guests,
)

Handler = Callable[..., HttpResponse]

# (kind of object, action) → (code, message) WordPress answers a visitor without credentials.
_DENIED = {
    "create": ("rest_cannot_create", "Sorry, you are not allowed to create {what} as this user."),
    "edit": ("rest_cannot_edit", "Sorry, you are not allowed to edit this {one}."),
    "delete": ("rest_cannot_delete", "Sorry, you are not allowed to delete this {one}."),
    "private": ("rest_forbidden", "Sorry, you are not allowed to do that."),
}
_WHAT = {POST: ("posts", "post"), TAG: ("terms in this taxonomy", "term"), USER: ("users", "user")}


def wp_authenticate(request: HttpRequest, slug: str) -> tuple[SandboxStore, bool]:
    """The store and whether the request carries its credentials; wrong ones are a 401."""
    store = find_store(slug)
    credentials = _basic_credentials(request)
    if credentials is None:
        return store, False
    user, password = credentials
    if not secrets.compare_digest(user.encode(), store.key_id.encode()):
        raise WCError(
            "invalid_username", "Unknown username. Check again or try your email address.", 401
        )
    if not store.check_secret(password):
        raise WCError(
            "incorrect_password", "The provided password is an invalid application password.", 401
        )
    return store, True


def denied(resource: str, action: str) -> WCError:
    code, message = _DENIED[action]
    what, one = _WHAT.get(resource, ("items", "item"))
    return WCError(code, message.format(what=what, one=one), 401)


def wp_endpoint(methods: tuple[str, ...]) -> Callable[[Handler], Handler]:
    def decorate(view: Handler) -> Handler:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    find_store(slug)
                    raise no_route()
                store, authed = wp_authenticate(request, slug)
                ids = {k: int(v) for k, v in kwargs.items()}
                return view(request, store, authed, **ids)
            except WCError as exc:
                return exc.response()

        return wrapper

    return decorate


def _context(request: HttpRequest, authed: bool) -> str:
    context = request.GET.get("context", "view")
    if context not in ("view", "embed", "edit"):
        raise invalid_params({"context": "context is not one of view, embed, edit."})
    if context == "edit" and not authed:
        raise forbidden_context()
    return context


def _present(
    request: HttpRequest, writer: WPStore, items: list[dict[str, Any]], context: str
) -> list[dict[str, Any]]:
    shown = [writer.view(item, context) for item in items]
    if "_embed" in request.GET and isinstance(writer, PostStore):
        writer.embed(shown)
    return shown


def wp_resource_views(
    resource: str, factory: Callable[[SandboxStore], WPStore], spec: ListSpec, *, writable: bool
) -> tuple[Handler, Handler]:
    """(collection, item) views of one wp/v2 resource."""
    collection_methods = ("GET", "POST") if writable else ("GET",)
    item_methods = ("GET", "POST", "PUT", "PATCH", "DELETE") if writable else ("GET",)

    @wp_endpoint(collection_methods)
    def collection(request: HttpRequest, store: SandboxStore, authed: bool) -> HttpResponse:
        writer = factory(store)
        if request.method == "GET":
            context = _context(request, authed)
            query = parse_query(request.GET, spec)
            statuses = query.filters.get("statuses")
            if statuses and statuses != ["publish"] and not authed:
                raise invalid_status_for_guests()
            if resource == USER and not authed:
                raise denied(USER, "private")
            listing = page_of(filtered(store, [resource], query), query)
            return _listing_response(
                request, listing, _present(request, writer, listing.items, context)
            )
        if not authed:
            raise denied(resource, "create")
        record = _one(writer.create([_payload(request)]))
        return JsonResponse(writer.view(record, "edit"), status=201)

    @wp_endpoint(item_methods)
    def item(
        request: HttpRequest, store: SandboxStore, authed: bool, object_id: int
    ) -> HttpResponse:
        writer = factory(store)
        if request.method == "GET":
            context = _context(request, authed)
            data = writer.get(object_id)
            private = resource == POST and data["status"] != "publish"
            if (private or resource == USER) and not authed:
                raise denied(resource, "private")
            return JsonResponse(_present(request, writer, [data], context)[0])
        if not authed:
            raise denied(resource, "delete" if request.method == "DELETE" else "edit")
        if request.method == "DELETE":
            return JsonResponse(_one(writer.delete([object_id], force=_forced(request))))
        record = _one(writer.update([{**_payload(request), "id": object_id}]))
        return JsonResponse(writer.view(record, "edit"))

    return collection, item


posts, post = wp_resource_views(POST, PostStore, POST_LIST, writable=True)
tags, tag = wp_resource_views(TAG, TagStore, TAG_LIST, writable=True)
users, user = wp_resource_views(USER, UserStore, USER_LIST, writable=True)
media, media_item = wp_resource_views(MEDIA, MediaStore, MEDIA_LIST, writable=False)


@wp_endpoint(("GET",))
def me(request: HttpRequest, store: SandboxStore, authed: bool) -> HttpResponse:
    if not authed:
        raise WCError("rest_not_logged_in", "You are not currently logged in.", 401)
    users_store = UserStore(store)
    return JsonResponse(users_store.view(users_store.admin(), _context(request, authed)))


@csrf_exempt
def unknown_route(request: HttpRequest, slug: str, rest: str = "") -> HttpResponse:
    try:
        find_store(slug)
        raise no_route()
    except WCError as exc:
        return exc.response()
