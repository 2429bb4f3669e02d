"""Load benchmark: 100 concurrent clinicians rating through a real server on loopback, on PostgreSQL.

1. Recreates its own database (`bench_rating`), creates the tables (`migrate`, with --run-syncdb for
   apps without migrations), and seeds a
   study of 100,800 responses (4,200 cases x 12 personas x 2 models; synthetic filler text) with 100
   clinicians, 3 per response. Planning it (`assignment_plan_for_study`: the planner plus 302,400 rows
   written) is timed here too, end to end on PostgreSQL.
2. Starts gunicorn (gthread) on a free 127.0.0.1 port with production settings (DEBUG off).
3. 100 simulated clinicians (asyncio + httpx, one session each) log in through the login page, wait
   until all are in (logins hash passwords, deliberately slow), then all at once each rates --items
   items: open "continue" (redirect to the next item), load the form, submit it (a share of
   the submits is sent twice at once, like a double click, with the same idempotency key), and call
   /healthz, the trivial view measured in the same run as the baseline. The run stops by itself.
4. Checks the database: exactly the acknowledged submissions (302 back to the queue) are stored, one
   rating and one revision each.

Writes benchmarks/results/rating_load.json and prints it.

    .venv/bin/python benchmarks/rating_load.py                    # full size
    .venv/bin/python benchmarks/rating_load.py --quick            # 20 clinicians, 2,400 responses
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "rating_load.json"
PG = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-1"
PERSONAS, MODELS = 12, 2
FILLER = ("synthetic benchmark filler text assessment plan review escalate monitor observe advise follow "
          "up dose symptom history examination").split()


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {"n": len(values), "p50_ms": round(pct(50) * 1000, 1), "p95_ms": round(pct(95) * 1000, 1),
            "p99_ms": round(pct(99) * 1000, 1), "mean_ms": round(statistics.fmean(values) * 1000, 1)}


def server_env(database: str, conn_max_age: int) -> dict:
    return {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG}/{database}?conn_max_age={conn_max_age}", "SECRET_KEY": "benchmark-only-secret-key",
        "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_COOKIES": "0", "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "dummymail://", "CELERY_BROKER_URL": "",
    }


def recreate_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(n_clinicians: int, n_cases: int, raters_per_response: int) -> tuple[list[tuple[str, str]], dict]:
    """Runs in this process against the benchmark database; returns (username, enrolment code) pairs."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.models import RaterProfile
    from accounts.roles import CLINICIAN, roles_ensure
    from annotation.models import StudyRater
    from annotation.services.assignments import assignment_plan_for_study
    from studies.models import Case, CaseSet, ModelSpec, Persona, Response, Study, StudyStatus

    timings = {}
    start = time.perf_counter()
    roles_ensure()
    User = get_user_model()
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create([User(username=f"clin{i:03d}", password=hashed) for i in range(n_clinicians)])
    group = Group.objects.get(name=CLINICIAN)
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=group.pk) for u in users])
    RaterProfile.objects.bulk_create([RaterProfile(user=u, specialty="emergency", years_in_practice=5) for u in users])
    personas = Persona.objects.bulk_create([Persona(slug=f"p{i:02d}", name=f"Persona {i}", role=f"role {i}")
                                            for i in range(PERSONAS)])
    models = ModelSpec.objects.bulk_create([ModelSpec(name=f"m{i}", backend="imported", model_path=f"org/m{i}")
                                            for i in range(MODELS)])
    case_set = CaseSet.objects.create(name="bench", content_hash="0" * 64)
    rng = random.Random(1)
    cases = Case.objects.bulk_create([
        Case(case_set=case_set, external_id=f"C{n:05d}", vignette=" ".join(rng.choices(FILLER, k=60)),
             question="What should happen next?", task_type="triage", care_setting="critical_care",
             content_hash=f"{n:064d}") for n in range(n_cases)
    ], batch_size=5000)
    study = Study.objects.create(name="Load benchmark", status=StudyStatus.RATING, assignment_seed=7,
                                 raters_per_response=raters_per_response, safety_lead_email="safety@example.org")
    responses = (
        Response(study=study, case=c, persona=p, model=m, backend="imported", prompt_messages=[],
                 text="**Assessment.** " + " ".join(rng.choices(FILLER, k=120)) + "\n\n- step one\n- step two")
        for c in cases for p in personas for m in models
    )
    Response.objects.bulk_create(responses, batch_size=5000)
    StudyRater.objects.bulk_create([StudyRater(study=study, rater=u) for u in users])
    timings["seed_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    summary = assignment_plan_for_study(study=study)
    timings["plan_for_study_seconds"] = round(time.perf_counter() - start, 2)
    timings["plan"] = summary.as_dict()
    timings["responses"] = Response.objects.filter(study=study).count()
    enrolments = list(StudyRater.objects.filter(study=study).values_list("rater__username", "code").order_by("id"))
    from django.db import connections

    connections.close_all()
    return enrolments, timings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120",
           "--keep-alive", "75",
           "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("the server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


HIDDEN = re.compile(r'name="(csrfmiddlewaretoken|idempotency_key)" value="([^"]+)"')


class Stats:
    def __init__(self):
        self.timings: dict[str, list[float]] = {"login": [], "continue": [], "form": [], "submit": [], "healthz": []}
        self.acknowledged: set[str] = set()
        self.double_submits = 0
        self.errors: list[str] = []
        self.rating_started: float | None = None
        self.retries = 0


async def timed(stats: Stats, name: str, send, attempts: int = 3):
    """Time one request, retried like a browser would on a dropped connection (a submit retried this way
    carries the same idempotency key, which is the point of it)."""
    start = time.perf_counter()
    for attempt in range(attempts):
        try:
            response = await send()
            break
        except httpx.TransportError:
            stats.retries += 1
            if attempt == attempts - 1:
                raise
    stats.timings[name].append(time.perf_counter() - start)
    return response


async def clinician(base: str, username: str, enrolment: str, n_items: int, double_rate: float, stats: Stats,
                    rng: random.Random, logged_in: asyncio.Barrier) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=False) as client:
        page = await client.get("/login/")
        token = HIDDEN.search(page.text).group(2)
        login = await timed(stats, "login", lambda: client.post(
            "/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}))
        await logged_in.wait()  # logins hash passwords (CPU-heavy by design): keep them out of the rating phase
        if login.status_code != 302:
            stats.errors.append(f"{username}: login {login.status_code}")
            return
        if stats.rating_started is None:
            stats.rating_started = time.perf_counter()
        for _ in range(n_items):
            hop = await timed(stats, "continue", lambda: client.get(f"/rate/s/{enrolment}/"))
            if hop.status_code != 302:
                stats.errors.append(f"{username}: continue {hop.status_code}")
                return
            url = hop.headers["location"]
            form = await timed(stats, "form", partial(client.get, url))
            if form.status_code != 200:
                stats.errors.append(f"{username}: form {form.status_code}")
                return
            hidden = dict(HIDDEN.findall(form.text))
            data = {**hidden, "v__safety": rng.choice(["compliant", "partially_compliant", "not_compliant"]),
                    "c__safety": rng.choice(["low", "medium", "high"]), "v__reasoning": str(rng.randint(1, 5)),
                    "c__reasoning": rng.choice(["low", "medium", "high"]), "active_seconds": "0"}
            copies = 2 if rng.random() < double_rate else 1
            stats.double_submits += copies == 2
            answers = await asyncio.gather(*[timed(stats, "submit", partial(client.post, url, data=data))
                                             for _ in range(copies)], return_exceptions=True)
            ok = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 302
                  and a.headers.get("location", "").startswith("/rate/s/")]
            if ok:
                stats.acknowledged.add(url.rstrip("/").rsplit("/", 1)[-1])
            else:
                stats.errors.append(f"{username}: submit {[getattr(a, 'status_code', repr(a)) for a in answers]}")
            await timed(stats, "healthz", lambda: client.get("/healthz"))


async def run_load(base: str, enrolments, n_items: int, double_rate: float) -> tuple[Stats, float]:
    stats = Stats()
    logged_in = asyncio.Barrier(len(enrolments))
    await asyncio.gather(*[clinician(base, u, code, n_items, double_rate, stats, random.Random(n), logged_in)
                           for n, (u, code) in enumerate(enrolments)])
    return stats, time.perf_counter() - stats.rating_started


async def idle_health(base: str, n: int) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(n):
            start = time.perf_counter()
            await client.get("/healthz")
            times.append(time.perf_counter() - start)
    return times


def verify(acknowledged: set[str]) -> dict:
    from django.db.models import Count

    from annotation.models import Assignment, AssignmentStatus, Rating

    stored = set(Rating.objects.values_list("assignment__code", flat=True))
    revisions = Rating.objects.annotate(n=Count("revisions")).values_list("n", flat=True)
    submitted = set(Assignment.objects.filter(status=AssignmentStatus.SUBMITTED).values_list("code", flat=True))
    return {
        "acknowledged": len(acknowledged), "ratings_stored": len(stored),
        "stored_equals_acknowledged": stored == acknowledged and submitted == acknowledged,
        "acknowledged_but_missing": len(acknowledged - stored),
        "stored_but_not_acknowledged": len(stored - acknowledged),
        "ratings_with_more_than_one_revision": sum(1 for n in revisions if n != 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinicians", type=int, default=100)
    parser.add_argument("--cases", type=int, default=4200, help="x 12 personas x 2 models responses")
    parser.add_argument("--raters-per-response", type=int, default=3)
    parser.add_argument("--items", type=int, default=10, help="items each clinician rates")
    parser.add_argument("--double-rate", type=float, default=0.1, help="share of submits sent twice at once")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", default="bench_rating")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.quick:
        args.clinicians, args.cases, args.items = 20, 100, 3

    env = server_env(args.database, conn_max_age=60)
    recreate_database(args.database)
    # auth first: apps without migrations are created by --run-syncdb before any migration runs, and
    # their foreign keys need auth's tables.
    for command in (["migrate", "auth"], ["migrate", "--run-syncdb"]):
        subprocess.run([sys.executable, "manage.py", *command, "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update({k: v for k, v in env.items() if k != "DATABASE_URL"})
    os.environ["DATABASE_URL"] = f"{PG}/{args.database}"
    enrolments, setup = seed(args.clinicians, args.cases, args.raters_per_response)
    print(f"seeded {setup['responses']:,} responses in {setup['seed_seconds']} s; "
          f"planned {setup['plan']['created']:,} assignments in {setup['plan_for_study_seconds']} s")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, args.workers, args.threads)
    try:
        idle = asyncio.run(idle_health(base, 200))
        stats, seconds = asyncio.run(run_load(base, enrolments, args.items, args.double_rate))
    finally:
        stop_server(server)
    check = verify(stats.acknowledged)

    result = {
        "benchmark": "rating load: concurrent clinicians through gunicorn on loopback, PostgreSQL",
        "clinicians_concurrent": args.clinicians, "items_per_clinician": args.items,
        "double_submit_share": args.double_rate, "double_submits_sent": stats.double_submits,
        "client_retries_after_transport_errors": stats.retries,
        "server": {"gunicorn_workers": args.workers, "threads": args.threads, "worker_class": "gthread",
                   "debug": False, "conn_max_age": 60, "keep_alive_seconds": 75},
        "setup": setup,
        "wall_seconds": round(seconds, 2),
        "ratings_per_second": round(len(stats.acknowledged) / seconds, 1),
        "latency": {name: percentiles(values) for name, values in stats.timings.items()},
        "baseline_healthz_idle": percentiles(idle),
        "database_check": check, "errors": stats.errors[:20], "error_count": len(stats.errors),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.machine()},
        "notes": "form = GET of the rating page (blinded item, schema, progress with pace); submit = POST of the "
                 "form (validation, locked write, revision, redirect); continue = the redirect to the next item; "
                 "healthz = trivial view under the same load. Client, server and PostgreSQL share the machine.",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: result[k] for k in ("wall_seconds", "ratings_per_second", "latency",
                                              "baseline_healthz_idle", "database_check", "error_count")}, indent=2))
    print(f"wrote {args.output}")
    if not check["stored_equals_acknowledged"] or check["ratings_with_more_than_one_revision"] or stats.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
