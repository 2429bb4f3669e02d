"""Benchmark: the clinician's rating path (the form page and the submit) against the trivial view, on PostgreSQL.

1. Recreates its own database (from --database-url, default
   postgres://postgres@127.0.0.1:5432/persona_lab_bench), creates the tables and seeds a rating study
   (benchmarks.rating_load's seed: --cases x 12 personas x 2 models responses, --clinicians clinicians,
   3 per response). Where `redis-server` is installed, starts one on a free loopback port as the shared
   cache (CACHE_URL, as in docker-compose.yml: sessions are read from it); otherwise sessions stay in the
   database and the output says so. Then renders the study's texts into that cache, as opening a study for
   rating does in the background (annotation.tasks.study_texts_prerender), and runs VACUUM ANALYZE as
   autovacuum soon would after the plan's inserts (statistics; the visibility map that index-only counts use).
2. In-process (Django's test client, production settings, DEBUG off): server time per request, median
   over --requests requests each, with the queries each request issues, for
   - form: GET of an item's page the first time it is shown (blinded item, schema, progress, first-shown mark),
   - form_again: GET of an item already shown,
   - submit: POST of a complete rating, form-encoded as the page posts it (validation, write, redirect),
   - continue: the redirect to the next item that follows a submit,
   - healthz: the trivial view (one SELECT 1), the baseline.
3. Through gunicorn on loopback (gthread, --workers x --threads): a closed loop of --clients clients for
   --seconds seconds on the trivial view, then the same on the rating page (each client re-opens the items
   of its own queue in turn), and the ratio of the two throughputs. The run stops by itself.

Goals: form and submit at most 5 ms of server time each in-process; the rating page's throughput at least
a quarter of the trivial view's. Writes benchmarks/results/rating_path.json and prints it.

    .venv/bin/python benchmarks/rating_path.py
    .venv/bin/python benchmarks/rating_path.py --quick     # small sizes and short loops
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.rating_load import HIDDEN, PASSWORD, free_port, percentiles, seed, start_server, stop_server  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "rating_path.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/persona_lab_bench"
RATING = {"v__safety": "compliant", "c__safety": "high", "v__reasoning": "4", "c__reasoning": "medium",
          "active_seconds": "0"}
FORM = "application/x-www-form-urlencoded"  # what the rating form posts (it has no file field)


def server_env(database_url: str, cache_url: str) -> dict:
    return {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_url,
        "SECRET_KEY": "benchmark-only-secret-key", "DEBUG": "0", "SECURE_COOKIES": "0", "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "EMAIL_URL": "dummymail://", "CELERY_BROKER_URL": "",
        "CACHE_URL": cache_url,
    }


def recreate_database(database_url: str, drop_only: bool = False) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def start_cache() -> tuple[subprocess.Popen | None, str]:
    """A throwaway redis-server on loopback (no persistence), or none where it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None, ""
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            import redis

            redis.Redis(host="127.0.0.1", port=port).ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    proc.terminate()
    return None, ""


# --------------------------------------------------------------------------------------------- in-process


def prerender(cache_url: str) -> dict:
    """What opening the study for rating does in the background (annotation.tasks.study_texts_prerender):
    every text a clinician may see rendered into the shared cache. Without a shared cache nothing is kept."""
    if not cache_url:
        return {"prerendered_texts": 0}
    from annotation.blinding import study_texts_render
    from studies.models import Study

    start = time.perf_counter()
    texts = study_texts_render(study=Study.objects.get())
    return {"prerendered_texts": texts, "prerender_seconds": round(time.perf_counter() - start, 2)}


def timed_request(send) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - start
    return elapsed, len(queries.captured_queries), response


def in_process(enrolments: list[tuple[str, str]], n_requests: int) -> dict:
    """Each request goes through the whole Django stack (middleware, view, template) in this process."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotation.models import Assignment

    times: dict[str, list[float]] = {k: [] for k in ("healthz", "form", "form_again", "submit", "continue")}
    queries: dict[str, list[int]] = {k: [] for k in times}
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[u for u, _ in enrolments])}
    clients = []
    for username, code in enrolments:
        client = Client()
        client.force_login(users[username])
        clients.append((client, code))

    def record(name, send, expect):
        elapsed, count, response = timed_request(send)
        if response.status_code != expect:
            raise RuntimeError(f"{name}: {response.status_code}")
        times[name].append(elapsed)
        queries[name].append(count)
        return response

    for client, _ in clients:  # warm-up: imports, template loading, connection, sessions into the cache
        client.get("/healthz")
        client.get("/rate/")
    n = 0
    while n < n_requests:
        for client, code in clients:
            record("healthz", lambda c=client: c.get("/healthz"), 200)
            hop = client.get(f"/rate/s/{code}/")
            url = hop["Location"]
            form = record("form", lambda c=client, u=url: c.get(u), 200)
            record("form_again", lambda c=client, u=url: c.get(u), 200)
            hidden = dict(HIDDEN.findall(form.content.decode()))
            data = {**RATING, "idempotency_key": hidden["idempotency_key"]}
            done = record("submit", lambda c=client, u=url, d=urlencode(data): c.post(u, d, content_type=FORM), 302)
            record("continue", lambda c=client, u=done["Location"]: c.get(u), 302)
            n += 1
    submitted = Assignment.objects.filter(status="submitted").count()

    def summary(name):
        counts = queries[name]
        return {**percentiles(times[name]), "median_ms": round(statistics.median(times[name]) * 1000, 2),
                "queries": {"median": statistics.median(counts), "max": max(counts)}}

    result = {name: summary(name) for name in times}
    base = result["healthz"]["median_ms"]
    for name in ("form", "form_again", "submit", "continue"):
        result[name]["over_healthz_ms"] = round(result[name]["median_ms"] - base, 2)
    result["ratings_stored"] = submitted
    return result


# --------------------------------------------------------------------------------------------- gunicorn


async def login(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login/")
    token = HIDDEN.search(page.text).group(2)
    response = await client.post("/login/", data={"username": username, "password": PASSWORD,
                                                  "csrfmiddlewaretoken": token})
    if response.status_code != 302:
        raise RuntimeError(f"login {username}: {response.status_code}")


async def closed_loop(clients: list[tuple[httpx.AsyncClient, list[str]]], seconds: float) -> dict:
    """Each client sends its next request as soon as the last one is answered, until the time is up."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def one(client, urls):
        nonlocal errors
        i = 0
        while time.perf_counter() < stop:
            start = time.perf_counter()
            response = await client.get(urls[i % len(urls)])
            latencies.append(time.perf_counter() - start)
            errors += response.status_code != 200
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*[one(c, urls) for c, urls in clients])
    wall = time.perf_counter() - started
    return {"requests": len(latencies), "seconds": round(wall, 2),
            "requests_per_second": round(len(latencies) / wall, 1), "errors": errors, "latency": percentiles(latencies)}


async def throughput(base: str, enrolments: list[tuple[str, str]], n_clients: int, seconds: float,
                     items: list[list[str]]) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=60) as anonymous:
        healthz_clients = [(anonymous, ["/healthz"])] * n_clients
        clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(n_clients)]
        try:
            for client, (username, _) in zip(clients, enrolments, strict=False):
                await login(client, username)
            rating_clients = [(client, [f"/rate/i/{code}/" for code in codes])
                              for client, codes in zip(clients, items, strict=False)]
            await closed_loop(rating_clients, 2)  # warm-up: every worker has run the page
            trivial = await closed_loop(healthz_clients, seconds)
            rating = await closed_loop(rating_clients, seconds)
        finally:
            for client in clients:
                await client.aclose()
    return {"healthz": trivial, "rating_page": rating,
            "ratio": round(rating["requests_per_second"] / trivial["requests_per_second"], 3)}


def queue_codes(enrolments: list[tuple[str, str]], n_clients: int, per_client: int) -> list[list[str]]:
    from annotation.models import Assignment

    return [list(Assignment.objects.filter(rater__username=username, status="pending")
                 .order_by("position").values_list("code", flat=True)[:per_client])
            for username, _ in enrolments[:n_clients]]


# --------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--clinicians", type=int, default=10)
    parser.add_argument("--cases", type=int, default=100, help="x 12 personas x 2 models responses")
    parser.add_argument("--requests", type=int, default=300, help="in-process requests of each kind")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients through gunicorn")
    parser.add_argument("--seconds", type=float, default=20, help="length of each closed loop")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.quick:
        args.clinicians, args.cases, args.requests, args.seconds = 4, 10, 20, 3

    cache, cache_url = start_cache()
    env = server_env(f"{args.database_url}?conn_max_age=60", cache_url)
    try:
        recreate_database(args.database_url)
        for command in (["migrate", "auth"], ["migrate", "--run-syncdb"]):
            subprocess.run([sys.executable, "manage.py", *command, "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        os.environ["DATABASE_URL"] = f"{args.database_url}?conn_max_age=600"
        enrolments, setup = seed(args.clinicians, args.cases, 3)
        setup.update(prerender(cache_url))
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after the plan's inserts
        from django.conf import settings

        sessions = settings.SESSION_ENGINE.rsplit(".", 1)[-1]
        local = in_process(enrolments, args.requests)
        print(json.dumps(local, indent=2))
        items = queue_codes(enrolments, args.clients, 20)
        from django.db import connections

        connections.close_all()
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        try:
            served = asyncio.run(throughput(f"http://127.0.0.1:{port}", enrolments, args.clients, args.seconds, items))
        finally:
            stop_server(server)
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(args.database_url, drop_only=True)
        if cache is not None:
            cache.terminate()
            cache.wait(10)

    result = {
        "benchmark": "rating path: form page and submit vs the trivial view, in-process and through gunicorn, "
                     "PostgreSQL",
        "setup": {**setup, "clinicians": args.clinicians, "sessions": sessions,
                  "cache": "redis on loopback" if cache_url else "none (per-process memory)"},
        "in_process": local,
        "goal_in_process": {"server_ms_at_most": 5, "queries_at_most": 4,
                            "form_ms": local["form"]["median_ms"], "form_again_ms": local["form_again"]["median_ms"],
                            "submit_ms": local["submit"]["median_ms"]},
        "gunicorn": {"workers": args.workers, "threads": args.threads, "clients": args.clients,
                     "seconds_each": args.seconds, **served},
        "goal_throughput_ratio_at_least": 0.25,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine()},
        "notes": "in-process times are Django's test client around the full handler (middleware, view, template) "
                 "with DEBUG off; form = first view of an item (records when it was first shown), form_again = "
                 "the same page again, submit = a complete rating posted from the form (302 to continue), "
                 "continue = the redirect to the next item. Sanitised HTML comes from the shared cache, rendered "
                 "beforehand as opening the study does (setup.prerender_seconds). Client, server, cache and "
                 "PostgreSQL share the machine (on a 2-core machine the client's own work takes from the "
                 "server's).",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({"form_ms": local["form"]["median_ms"], "form_again_ms": local["form_again"]["median_ms"],
                      "submit_ms": local["submit"]["median_ms"],
                      "healthz_ms": local["healthz"]["median_ms"],
                      "queries": {k: local[k]["queries"] for k in ("form", "form_again", "submit", "continue")},
                      "throughput_ratio": served["ratio"]}, indent=2))
    print(f"wrote {args.output}")
    if served["rating_page"]["errors"] or served["healthz"]["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
