"""This project's WooCommerce extraction next to established extractors from PyPI, on the same
sandbox catalog in one run: Airbyte's `source-woocommerce` (its declarative manifest, from the
PyPI package airbyte-source-woocommerce) and dlt's generic `rest_api` source configured for
wc/v3 products and their variations.

    .venv/bin/python bench/peers.py [--products 2000] [--rounds 1]
        [--peers airbyte,dlt] [--peer-venv /tmp/migrator-peers]

Peers (`--peers`): `airbyte` runs the manifest on the current CDK's source-declarative-manifest,
as Airbyte runs manifest-only connectors (2 worker threads, the CDK's default concurrency);
`airbyte_cdk4` runs the PyPI package as published, on the CDK 4 it pins, which writes after
every parent product a state message holding every partition so far (O(n²) bytes: about 190 MB
for 2,000 products), counted in state_messages / state_mb; `dlt` is dlt's rest_api source
(Link-header paging, one request per product for its variations), extracted by a pipeline
with no destination.

A WooCommerce sandbox is seeded with the demo catalog (products, 40 % of them variable, with
their variations) on PostgreSQL (`--database-url`, default the `migrator_bench_peers` database,
dropped and re-created) and served by gunicorn over HTTPS on 127.0.0.1 (a self-signed
certificate made for the run: Airbyte's connector only builds https:// URLs). Each extractor
then reads every product and every variation, one after the other, over the same server: ours
in this process with the connector the engine builds (pages of MIGRATOR_SOURCE_PAGE_SIZE, each
variable product's variations embedded), each peer as a subprocess from its own venv under
`--peer-venv` (created with pinned versions, see PEERS, when missing). One untimed pass of ours
warms the server and PostgreSQL first; then `--rounds` rounds of every extractor in turn, and
each extractor's best round is reported.

Prints one JSON object: for each extractor products, variations, records (= products +
variations), seconds (from its first message to its end: a peer's interpreter start-up and
imports are left out and shown as startup_seconds), records_per_s, requests, variation_requests
and errors (from the server's access log), cpu_seconds (the extractor's own CPU: this process
during the read for ours, the whole subprocess, start-up included, for a peer); ratio = ours
records/s ÷ the peer's records/s. The server's time per request dominates: the ratio mostly
measures how many requests each extractor needs, cpu_seconds what each costs on its side.

Not peers: the Singer taps on PyPI read no products (`tap-woocommerce` 0.1.2 reads wc/v2
orders only; `tap-woocommerce-v3` 0.3.4 orders and sales reports, credentials in the query
string). PyAirbyte (`airbyte`) runs the same connector: offline it needs AIRBYTE_OFFLINE_MODE=1
and `local_executable=` (its registry look-up and `source_manifest=True` download from the
internet), and adds its DuckDB cache on top of the connector measured here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support import ROOT, machine, setup_django

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/migrator_bench_peers"

# Pinned peers, each a list of `pip install` steps into its own venv (versions as `pip freeze`
# showed them on the machine that produced the figures). "airbyte" is how Airbyte runs this
# connector today: its manifest (from the PyPI package, installed without its dependencies)
# on the current CDK's source-declarative-manifest; "airbyte_cdk4" is the PyPI package as
# published, on the CDK it pins (<5).
PEERS: dict[str, list[list[str]]] = {
    "airbyte": [
        [
            "airbyte-cdk==7.39.1",
            "airbyte-protocol-models-dataclasses==0.17.1",
            "pydantic==2.14.3",
            "requests==2.34.2",
            "requests-cache==1.3.3",
            "orjson==3.13.0",
        ],
        ["--no-deps", "airbyte-source-woocommerce==0.4.12"],
    ],
    "airbyte_cdk4": [
        [
            "airbyte-source-woocommerce==0.4.12",
            "airbyte-cdk==4.6.2",
            "airbyte-protocol-models-pdv2==0.12.2",
            "pydantic==2.14.3",
            "pendulum==2.1.2",
            "requests==2.34.2",
            "requests-cache==1.3.3",
        ]
    ],
    "dlt": [["dlt==1.31.0", "pendulum==3.3.0", "requests==2.34.2"]],
}
# How each Airbyte variant is started (through the venv's python: a moved venv still works).
AIRBYTE_ENTRY = {
    "airbyte": "from airbyte_cdk.cli.source_declarative_manifest import run; run()",
    "airbyte_cdk4": "from source_woocommerce.run import run; run()",
}
MANIFEST_PATH = (
    "import importlib.util, os; spec = importlib.util.find_spec('source_woocommerce'); "
    "print(os.path.join(spec.submodule_search_locations[0], 'manifest.yaml'))"
)

# Run in the dlt venv: a rest_api source for wc/v3 products and their variations, extracted
# (not normalized or loaded: there is no destination) by a dlt pipeline.
DLT_RUNNER = r"""
import json, sys, time
import dlt
from dlt.sources.rest_api import rest_api_source

cfg = json.loads(sys.argv[1])
counts = {"products": 0, "product_variations": 0}

def counter(name):
    def count(item):
        counts[name] += 1
        return item
    return count

source = rest_api_source({
    "client": {
        "base_url": cfg["base_url"] + "/wp-json/wc/v3/",
        "auth": {"type": "http_basic", "username": cfg["key"], "password": cfg["secret"]},
        "paginator": {"type": "header_link"},
    },
    "resource_defaults": {
        "endpoint": {"params": {"per_page": 100, "orderby": "id", "order": "asc"}},
    },
    "resources": [
        {"name": "products", "endpoint": {"path": "products"}},
        {
            "name": "product_variations",
            "endpoint": {"path": "products/{resources.products.id}/variations"},
        },
    ],
})
for name in counts:
    source.resources[name].add_map(counter(name))
pipeline = dlt.pipeline(pipeline_name="peers_woo", pipelines_dir=cfg["workdir"])
print(json.dumps({"started": True}), flush=True)
started = time.perf_counter()
pipeline.extract(source)
print(json.dumps({**counts, "seconds": time.perf_counter() - started}), flush=True)
"""


# Put in front of a peer's sys.path: requests verifies against certifi's bundle and ignores
# REQUESTS_CA_BUNDLE when a client calls Session.send() (as the Airbyte CDK does), so certifi is
# pointed at a copy of its bundle with the run's certificate added, before requests is imported.
SITECUSTOMIZE = """
import os
bundle = os.environ.get("BENCH_PEERS_CA_BUNDLE")
if bundle:
    import certifi
    certifi.where = lambda: bundle
"""


def peer_env(workdir: Path, venv: Path, cert: Path) -> dict[str, str]:
    """The environment of a peer process: the run's certificate trusted, nothing of ours."""
    site = workdir / "peer-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import certifi; print(certifi.where())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    bundle = workdir / f"ca-bundle-{venv.name}.pem"
    bundle.write_text(Path(where).read_text() + "\n" + cert.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    return {
        **env,
        "PYTHONPATH": str(site),
        "BENCH_PEERS_CA_BUNDLE": str(bundle),
        "REQUESTS_CA_BUNDLE": str(bundle),
    }


def progress(message: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_venv(root: Path, peer: str) -> Path:
    """The peer's venv under root, created (or re-installed when its pins changed)."""
    venv = root / peer
    python = venv / "bin" / "python"
    marker = venv / "peers-pins.txt"
    pins = "".join(" ".join(step) + "\n" for step in PEERS[peer])
    if python.exists() and marker.exists() and marker.read_text() == pins:
        return venv
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for step in PEERS[peer]:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *step],
            check=True,
            stdout=sys.stderr,
        )
    marker.write_text(pins)
    return venv


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost that is its own CA, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def start_server(database_url: str, workdir: Path, cert: Path, key: Path) -> tuple[Any, str]:
    """gunicorn with this project's WSGI app over HTTPS; (process, https base URL)."""
    import httpx

    from tests.support.live import free_port

    port = free_port()
    url = f"https://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "migrator.settings",
        "DJANGO_DEBUG": "false",
        "MIGRATOR_LOG_LEVEL": "WARNING",
        "MIGRATOR_PUBLIC_URL": url,
    }
    log = workdir / "web.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "migrator.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--timeout",
            "120",
            "--certfile",
            str(cert),
            "--keyfile",
            str(key),
            "--access-logfile",
            "-",
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=2, verify=str(cert))
            return server, url
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.3)


class AccessLog:
    """Requests to one sandbox, counted in gunicorn's access log between two marks."""

    def __init__(self, path: Path, slug: str) -> None:
        self.path, self.prefix, self.offset = path, f"/sandbox/{slug}/", 0

    def mark(self) -> None:
        time.sleep(0.3)  # the last access lines reach the file
        self.offset = self.path.stat().st_size

    def since_mark(self) -> dict[str, int]:
        time.sleep(0.3)
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        counts = {"requests": 0, "variation_requests": 0, "errors": 0}
        for path, status in re.findall(r'"[A-Z]+ (\S+) HTTP/1\.[01]" (\d{3}) ', text):
            if path.startswith(self.prefix):
                counts["requests"] += 1
                counts["variation_requests"] += "/variations" in path
                counts["errors"] += status >= "400"
        return counts


def read_ours(store: Any, cert: Path) -> dict[str, Any]:
    """Every product page as the engine reads a full run's source, variations embedded."""
    import httpx
    from django.conf import settings

    from apps.stores.connectors.woocommerce.products import VARIATIONS_KEY
    from apps.stores.services import build_connector

    connector = build_connector(store, transport=httpx.HTTPTransport(verify=str(cert)))
    products = variations = 0
    cursor: dict[str, Any] | None = None
    cpu, started = time.process_time(), time.perf_counter()
    try:
        while True:
            page = connector.read_page("products", cursor, settings.SOURCE_PAGE_SIZE)
            products += len(page.records)
            variations += sum(len(r.get(VARIATIONS_KEY) or []) for r in page.records)
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        connector.close()
    return {
        "products": products,
        "variations": variations,
        "seconds": time.perf_counter() - started,
        "startup_seconds": 0.0,
        "cpu_seconds": time.process_time() - cpu,
    }


def children_cpu() -> float:
    """CPU seconds of this process' waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_airbyte(
    peer: str, venv: Path, workdir: Path, base_url: str, creds: dict, start: str, cert: Path
):
    """The Airbyte source's `read` of the products and product_variations streams."""
    command = [str(venv / "bin" / "python"), "-c", AIRBYTE_ENTRY[peer]]
    manifest: list[str] = []
    if peer == "airbyte":
        found = subprocess.run(
            [str(venv / "bin" / "python"), "-c", MANIFEST_PATH],
            capture_output=True,
            text=True,
            check=True,
        )
        manifest = ["--manifest-path", found.stdout.strip()]
    config = workdir / "airbyte-config.json"
    config.write_text(
        json.dumps(
            {
                "api_key": creds["consumer_key"],
                "api_secret": creds["consumer_secret"],
                # The manifest builds https://{shop}/wp-json/wc/v3.
                "shop": base_url.removeprefix("https://"),
                "start_date": start,
            }
        )
    )
    env = peer_env(workdir, venv, cert)
    discovered = subprocess.run(
        [*command, "discover", "--config", str(config), *manifest],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    streams = {}
    for line in discovered.stdout.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("type") == "CATALOG":
            streams = {s["name"]: s for s in message["catalog"]["streams"]}
    wanted = ("products", "product_variations")
    catalog = workdir / "airbyte-catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "stream": streams[name],
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "overwrite",
                    }
                    for name in wanted
                ]
            }
        )
    )
    counts = dict.fromkeys(wanted, 0)
    state_messages = state_bytes = 0
    errors: list[str] = []
    cpu, launched = children_cpu(), time.perf_counter()
    first = None
    with subprocess.Popen(
        [*command, "read", "--config", str(config), "--catalog", str(catalog), *manifest],
        stdout=subprocess.PIPE,
        stderr=(workdir / "airbyte.stderr").open("wb"),
        env=env,
    ) as process:
        for line in process.stdout:
            first = first or time.perf_counter()
            if line.startswith(b'{"type":"STATE"'):
                # Counted, not parsed: their size grows with every partition read (see notes).
                state_messages += 1
                state_bytes += len(line)
                continue
            message = json.loads(line) if line.startswith(b"{") else {}
            kind = message.get("type")
            if kind == "RECORD":
                counts[message["record"]["stream"]] += 1
            elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
                errors.append(message["trace"]["error"].get("message", ""))
            elif kind == "LOG" and message["log"].get("level") in ("ERROR", "FATAL"):
                errors.append(message["log"].get("message", "")[:300])
    ended = time.perf_counter()
    if process.returncode or errors:
        raise SystemExit(f"{peer} source-woocommerce failed ({process.returncode}): {errors}")
    return {
        "products": counts["products"],
        "variations": counts["product_variations"],
        "seconds": ended - first,
        "cpu_seconds": children_cpu() - cpu,
        "state_messages": state_messages,
        "state_mb": round(state_bytes / 1e6, 1),
        "startup_seconds": first - launched,
    }


def run_dlt(venv: Path, workdir: Path, base_url: str, creds: dict, cert: Path):
    config = {
        "base_url": base_url,
        "key": creds["consumer_key"],
        "secret": creds["consumer_secret"],
        "workdir": str(workdir / "dlt"),
    }
    env = {
        **peer_env(workdir, venv, cert),
        "RUNTIME__LOG_LEVEL": "WARNING",
        "RUNTIME__DLTHUB_TELEMETRY": "false",  # no network but the loopback here
    }
    cpu, launched = children_cpu(), time.perf_counter()
    first = None
    result: dict[str, Any] = {}
    with subprocess.Popen(
        [str(venv / "bin" / "python"), "-c", DLT_RUNNER, json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=(workdir / "dlt.stderr").open("wb"),
        env=env,
        cwd=workdir,
        text=True,
    ) as process:
        for line in process.stdout:
            first = first or time.perf_counter()
            result = json.loads(line)
    ended = time.perf_counter()
    if process.returncode or "seconds" not in result:
        tail = (workdir / "dlt.stderr").read_text()[-3000:]
        raise SystemExit(f"dlt rest_api failed ({process.returncode}):\n{tail}")
    return {
        "products": result["products"],
        "variations": result["product_variations"],
        "seconds": ended - first,
        "cpu_seconds": children_cpu() - cpu,
        "startup_seconds": first - launched,
    }


def summary(result: dict[str, Any], requests: dict[str, int]) -> dict[str, Any]:
    records = result["products"] + result["variations"]
    return {
        "products": result["products"],
        "variations": result["variations"],
        "records": records,
        "seconds": round(result["seconds"], 2),
        "startup_seconds": round(result["startup_seconds"], 2),
        "records_per_s": round(records / result["seconds"], 1),
        "cpu_seconds": round(result["cpu_seconds"], 2),
        **{k: result[k] for k in ("state_messages", "state_mb") if k in result},
        **requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=1, help="best of N rounds per extractor")
    parser.add_argument(
        "--peers", default="airbyte,dlt", help="comma-separated: airbyte, airbyte_cdk4, dlt"
    )
    parser.add_argument(
        "--peer-venv", type=Path, default=Path(tempfile.gettempdir()) / "migrator-peers"
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_PEERS_DATABASE_URL", DATABASE_URL)
    )
    args = parser.parse_args()
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(peers) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    venvs = {peer: ensure_venv(args.peer_venv, peer) for peer in peers}

    setup_django(args.database_url)
    os.chdir(ROOT)

    from django.contrib.auth import get_user_model
    from django.db.models import Min

    from apps.sandbox.demo_catalog import seed_woocommerce
    from apps.sandbox.models import Flavor
    from apps.sandbox.services import create_sandbox_store, sandbox_base_url
    from apps.stores.models import Platform
    from apps.stores.services import create_store

    sandbox, creds = create_sandbox_store(slug="peers", name="Peers", flavor=Flavor.WOOCOMMERCE)
    progress(f"seeding {args.products} products")
    seed_woocommerce(sandbox, args.products)
    earliest = sandbox.records.filter(resource="product").aggregate(Min("date_modified"))
    start_date = (earliest["date_modified__min"] or dt.datetime.now(dt.UTC)).date().isoformat()

    workdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    cert, key = self_signed(workdir)
    server, url = start_server(args.database_url, workdir, cert, key)
    try:
        base_url = sandbox_base_url(sandbox, url)
        user = get_user_model().objects.create(username=f"bench-peers-{os.getpid()}")
        store = create_store(
            user=user,
            name="Peers source",
            platform=Platform.SANDBOX_WOOCOMMERCE,
            base_url=base_url,
            credentials=creds,
        )
        log = AccessLog(workdir / "web.log", sandbox.slug)
        progress(f"serving {base_url}; warm-up read")
        read_ours(store, cert)  # warm-up, untimed
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in ["ours", *peers]}
        for round_number in range(1, args.rounds + 1):
            for name in rounds:
                log.mark()
                if name == "ours":
                    got = read_ours(store, cert)
                elif name.startswith("airbyte"):
                    got = run_airbyte(name, venvs[name], workdir, base_url, creds, start_date, cert)
                else:
                    got = run_dlt(venvs[name], workdir, base_url, creds, cert)
                rounds[name].append(summary(got, log.since_mark()))
                progress(f"round {round_number} {name}: {rounds[name][-1]}")
    finally:
        server.terminate()
        server.wait(timeout=30)

    load = os.getloadavg()
    results = {}
    for name, runs in rounds.items():
        best = min(runs, key=lambda r: r["seconds"])
        results[name] = {**best, "seconds_each_round": [r["seconds"] for r in runs]}
    expected_variations = sandbox.records.filter(resource="variation").count()
    for name, result in results.items():
        if result["products"] != args.products or result["variations"] != expected_variations:
            raise SystemExit(
                f"{name} read {result['products']} products and {result['variations']} "
                f"variations; the store has {args.products} and {expected_variations}"
            )
    ours_rate = results["ours"]["records_per_s"]
    print(
        json.dumps(
            {
                "benchmark": "peers",
                "products": args.products,
                "variations": expected_variations,
                **results,
                "ratio": {p: round(ours_rate / results[p]["records_per_s"], 2) for p in peers},
                "peer_versions": {
                    p: [next(x for x in step if not x.startswith("-")) for step in PEERS[p]]
                    for p in peers
                },
                "load_average": [round(x, 2) for x in load],
                "notes": (
                    "records = products + variations; ours and dlt send one request at a "
                    "time, airbyte (CDK 7) runs 2 worker threads; seconds from the "
                    "extractor's first message (peers) or first request (ours) to its end, "
                    "over HTTPS to gunicorn (2 workers x 2 threads) on the same machine; best "
                    "of the rounds; ours asks only variable products for their variations (a "
                    "product lists its variation ids), the peers ask every product; requests "
                    "- variation_requests = product list pages (airbyte pages by offset and "
                    "may list the products twice: its products stream and the parent of "
                    "product_variations); load_average at the end of the run"
                ),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
