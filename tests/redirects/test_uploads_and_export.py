"""CSV and sitemap uploads (bad rows reported, the rest kept), and the WooCommerce-target export
in the Redirection plugin's format, loaded into a WooCommerce sandbox and verified there."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from apps.projects.services import create_project
from apps.redirects import services
from apps.redirects.choices import MapState, Origin, Problem
from apps.redirects.models import Redirect
from apps.redirects.uploads import UploadRejected
from apps.sandbox.demo_catalog import seed_woocommerce
from apps.sandbox.models import Flavor, SandboxObject
from apps.sandbox.services import create_sandbox_store, sandbox_base_url
from apps.stores.models import Platform
from apps.stores.services import create_store
from tests.factories import UserFactory
from tests.support.rehearsal import TESTSERVER

pytestmark = pytest.mark.django_db

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://old-shop.example/about-us/</loc><lastmod>2024-01-01</lastmod></url>
  <url><lastmod>2024-01-01</lastmod></url>
  <url><loc>ftp://old-shop.example/file</loc></url>
  <url><loc>https://old-shop.example/contact/?ref=nav</loc></url>
</urlset>"""


@pytest.fixture
def project(project):
    """The shared project, its target a store whose storefront is known."""
    project.target_store.storefront_url = "https://new.example"
    project.target_store.save()
    return project


@pytest.fixture
def woo_to_woo(sandbox_http):
    """A project whose target is a WooCommerce sandbox (no redirect API: an export file)."""
    user = UserFactory()
    stores = []
    for slug in ("wsrc", "wdst"):
        sandbox, credentials = create_sandbox_store(slug=slug, name=slug, flavor=Flavor.WOOCOMMERCE)
        store = create_store(
            user=user,
            name=slug,
            platform=Platform.SANDBOX_WOOCOMMERCE,
            base_url=sandbox_base_url(sandbox, TESTSERVER),
            credentials=credentials,
        )
        stores.append((sandbox, store, credentials))
    project = create_project(
        user=user, name="Woo to Woo", source_store=stores[0][1], target_store=stores[1][1]
    )
    return project, stores[1][0], stores[1][2], sandbox_http


def test_csv_upload_keeps_good_rows_and_reports_bad_ones(project):
    body = (
        b"old_url,new_url\n"
        b"https://old-shop.example/shoes/red.html,/red-shoes/\n"
        b"/just-a-path\n"
        b"not a url,/x/\n"
        b"/bad-new,mailto:someone@example.com\n"
        b"/just-a-path,/dup/\n"
        b"/three,/columns,/oops\n"
        b"\n"
        b"http://old-shop.example/category/boots?page=2,https://new.example/boots/\n"
    )
    job = services.upload(project, "csv", body, filename="urls.csv")

    rows = {r.old_path: r for r in Redirect.objects.filter(project=project)}
    assert set(rows) == {"/shoes/red.html", "/just-a-path", "/category/boots?page=2"}
    base = project.target_store.storefront_base
    assert rows["/shoes/red.html"].new_url == base + "/red-shoes/"
    # A full URL on another host is taken as its path on the target storefront.
    assert base == "https://new.example"
    assert rows["/category/boots?page=2"].new_url == base + "/boots/"
    assert rows["/just-a-path"].new_url == "" and rows["/just-a-path"].state == MapState.UNMAPPED
    assert {r.origin for r in rows.values()} == {Origin.CSV}
    assert [(e["row"], e["reason"].split(":")[0]) for e in job.errors] == [
        (4, "old URL"),
        (5, "new URL"),
        (6, "the same old URL as row 3"),
        (7, "expected at most two columns"),
    ]
    assert job.counts["created"] == 3 and job.counts["bad_rows"] == 4
    assert services.coverage(project).unmapped == 1


def test_an_uploaded_url_without_a_new_url_matches_a_collected_one(project):
    Redirect.objects.create(
        project=project,
        old_path="/product/blue-shirt/",
        new_url="https://new.example/blue-shirt/",
        entity="products",
        source_id="7",
        origin=Origin.SOURCE,
        state=MapState.MAPPED,
    )
    job = services.upload(project, "csv", b"/product/blue-shirt/\n/product/gone/\n")
    assert job.counts["matched"] == 1 and job.counts["created"] == 1
    kept = Redirect.objects.get(project=project, old_path="/product/blue-shirt/")
    assert kept.new_url == "https://new.example/blue-shirt/" and kept.origin == Origin.SOURCE
    assert Redirect.objects.get(project=project, old_path="/product/gone/").new_url == ""


def test_sitemap_upload_reports_bad_entries(project):
    job = services.upload(project, "sitemap", SITEMAP, filename="sitemap.xml")
    paths = set(Redirect.objects.filter(project=project).values_list("old_path", flat=True))
    assert paths == {"/about-us/", "/contact/?ref=nav"}
    assert {r.origin for r in Redirect.objects.filter(project=project)} == {Origin.SITEMAP}
    assert [(e["row"], e["reason"]) for e in job.errors] == [
        (2, "<url> without a <loc>"),
        (3, "old URL: not a web URL (scheme 'ftp')"),
    ]


def test_sitemap_index_lists_its_children_instead_of_fetching_them(project):
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://old-shop.example/sitemap-products.xml</loc></sitemap>
    </sitemapindex>"""
    job = services.upload(project, "sitemap", index)
    assert job.counts["rows"] == 0
    assert job.errors[0]["value"] == "https://old-shop.example/sitemap-products.xml"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol2;</loc>'
        b"</url></urlset>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<urlset><url><loc>&xxe;</loc></url></urlset>",
        b"<urlset><url><loc>/a</loc></url>",
        b"<rss><channel/></rss>",
    ],
)
def test_hostile_or_broken_sitemaps_are_refused_whole(project, body):
    with pytest.raises(UploadRejected) as refused:
        services.upload(project, "sitemap", body)
    assert refused.value.status == 400
    assert not Redirect.objects.filter(project=project).exists()


def test_oversized_upload_is_413(project):
    with pytest.raises(UploadRejected) as refused:
        services.upload(project, "csv", b"/a\n" * (2 * 1024 * 1024))
    assert refused.value.status == 413


def test_woocommerce_target_export_imports_into_redirection_and_verifies(woo_to_woo):
    project, target, credentials, transport = woo_to_woo
    seed_woocommerce(target, 2)
    slugs = sorted(
        SandboxObject.objects.filter(store=target, resource="product").values_list(
            "data__slug", flat=True
        )
    )
    upload = (
        f"/old/a.html,/product/{slugs[0]}/\n/old/b.html,/product/{slugs[1]}/\n/old/c,/nowhere/\n"
    )
    services.upload(project, "csv", upload.encode())
    counts, _ = services.push(project)
    assert counts == {"exported": 3}
    assert set(Redirect.objects.filter(project=project).values_list("state", flat=True)) == {
        MapState.EXPORTED
    }

    text = services.redirection_csv(project)
    lines = text.splitlines()
    # The plugin's own export header and cell quoting (numbers bare, text quoted).
    assert lines[0] == "source,target,regex,code,type,hits,title,status"
    base = "http://localhost/sandbox/wdst"
    assert lines[1].startswith(f'"/old/a.html","{base}/product/{slugs[0]}/",0,301,"url",0,')
    assert lines[1].endswith(',"active"')
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["/old/a.html", "/old/b.html", "/old/c"]

    # Load it the way a merchant would (the plugin's REST import), then check the storefront.
    with httpx.Client(transport=transport, base_url=base) as client:
        answer = client.post(
            "/wp-json/redirection/v1/import/file/1",
            files={"file": ("redirects.csv", text.encode(), "text/csv")},
            auth=(credentials["consumer_key"], credentials["consumer_secret"]),
        )
    assert answer.status_code == 200 and answer.json() == {"imported": 3}

    verified = services.verify(project)
    assert (verified[Problem.OK], verified[Problem.BROKEN_DESTINATION]) == (2, 1)
    broken = Redirect.objects.get(project=project, old_path="/old/c")
    assert [h["status"] for h in broken.hops] == [301, 404]
