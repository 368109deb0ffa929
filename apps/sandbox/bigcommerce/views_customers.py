"""Customers API v3 endpoints. Every one passes the per-store concurrency gate (at most 3
requests in flight, as on the platform)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.sandbox.bigcommerce import customers
from apps.sandbox.bigcommerce.endpoint import endpoint, many
from apps.sandbox.bigcommerce.validation import parse_json
from apps.sandbox.models import SandboxStore

GATE = "customers"


@endpoint(("GET", "POST", "PUT", "DELETE"), gate=GATE)
def customer_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return many(*customers.list_customers(sandbox, request.GET))
    if request.method == "POST":
        return many(customers.create_customers(sandbox, parse_json(request)), {})
    if request.method == "PUT":
        return many(customers.update_customers(sandbox, parse_json(request)), {})
    customers.delete_customers(sandbox, request.GET)
    return HttpResponse(status=204)


@endpoint(("GET", "POST", "PUT", "DELETE"), gate=GATE)
def address_list(request: HttpRequest, sandbox: SandboxStore) -> HttpResponse:
    if request.method == "GET":
        return many(*customers.list_addresses(sandbox, request.GET))
    if request.method == "POST":
        return many(customers.create_addresses(sandbox, parse_json(request)), {})
    if request.method == "PUT":
        return many(customers.update_addresses(sandbox, parse_json(request)), {})
    customers.delete_addresses(sandbox, request.GET)
    return HttpResponse(status=204)
