"""
Back-fill of historical grade rows: rows per second and peak memory as the history grows.

For each size (100,000 → 1,000,000 rows by default) it writes that many PersistentCourseGrade-shaped
rows into the demo host's history table on a fresh SQLite database (10 courses per learner, so
size/10 learners, over a catalog of 1,000 courses, 400 credentials and 100 stacks), then runs
``microcred_backfill --all`` in a fresh process and measures wall time and the process's peak
resident memory. The baseline, measured in the same run on a slice of the same data, is the
per-row path: each row recorded with ``record_fact`` and the learner evaluated after every row
(what replaying the history as live events costs). The chunked run on the same slice must end in
the same facts, progress and awards as the baseline, or the benchmark fails.

Signing the awards is left out (a task of its own, see signing.py); everything else — facts,
progress, awards, their outbox and the BADGE_AWARDED event — is written as in production.

    .venv/bin/python benchmarks/backfill.py [--sizes 100000,300000,1000000] [--baseline-rows 5000]
                                            [--chunk-size 1000] [--json out.json]
"""

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COURSES_PER_LEARNER = 10
PROGRAMS = 100  # each learner takes the 10 courses of one program: 1,000 courses
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def course_key(program, index):
    return f"course-v1:Bench+P{program}C{index}+2025"


def setup_django(db_path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
    os.environ["SANDBOX_SQLITE"] = str(db_path)
    os.environ["SANDBOX_CELERY_EAGER"] = "1"
    import django  # pylint: disable=import-outside-toplevel

    django.setup()


# --- Data ---------------------------------------------------------------------------------------


def build_template(path):
    """Migrated database with the catalog: per program, 3 course-passed, 1 grade ≥ 80 credential and a stack."""
    setup_django(path)
    # pylint: disable=import-outside-toplevel
    from django.core.management import call_command

    from openedx_microcred.catalog import refresh_dependency_index
    from openedx_microcred.models import Credential

    call_command("migrate", verbosity=0)
    credentials = []
    for p in range(PROGRAMS):
        for c in range(3):
            credentials.append(Credential(slug=f"p{p}-pass-{c}", title=f"Passed {p}/{c}", org="Bench",
                                          criteria={"type": "course_passed", "course": course_key(p, c)},
                                          state=Credential.State.ACTIVE))
        credentials.append(Credential(slug=f"p{p}-grade", title=f"Grade {p}", org="Bench",
                                      criteria={"type": "course_grade", "course": course_key(p, 3), "min_percent": 80},
                                      state=Credential.State.ACTIVE))
        credentials.append(Credential(slug=f"p{p}-stack", title=f"Program {p}", org="Bench", stack_kind="horizontal",
                                      criteria={"type": "at_least", "n": 2, "of": [
                                          {"type": "credential", "credential": f"p{p}-pass-{c}"} for c in range(3)]},
                                      state=Credential.State.ACTIVE))
    Credential.objects.bulk_create(credentials)
    refresh_dependency_index(list(Credential.objects.all()))


def fill_history(path, rows, seed=7):
    """``rows`` grade rows for rows/10 learners, written straight into SQLite (not what is measured)."""
    learners = rows // COURSES_PER_LEARNER
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    joined = T0.strftime("%Y-%m-%d %H:%M:%S")
    db.executemany(
        "INSERT INTO auth_user (id, password, is_superuser, username, last_name, email, is_staff, is_active, "
        "date_joined, first_name) VALUES (?, '!', 0, ?, '', ?, 0, 1, ?, '')",
        ((u, f"learner{u}", f"learner{u}@example.com", joined) for u in range(1, learners + 1)))

    def grades():
        for u in range(1, learners + 1):
            program = u % PROGRAMS
            for c in range(COURSES_PER_LEARNER):
                percent = round(rng.random() ** 4.85, 4)  # 10 % pass (≥ 60 %), 4.5 % reach 80 %: MOOC-like
                when = (T0 + timedelta(minutes=u * COURSES_PER_LEARNER + c)).strftime("%Y-%m-%d %H:%M:%S")
                passed = when if percent >= 0.6 else None
                yield (u, course_key(program, c), None, "v1", "hash", percent, "Pass" if passed else "", passed,
                       when, when)

    db.executemany(
        "INSERT INTO sandbox_host_coursegrade (user_id, course_id, course_edited_timestamp, course_version, "
        "grading_policy_hash, percent_grade, letter_grade, passed_timestamp, created, modified) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", grades())
    db.commit()
    db.close()


# --- Measured runs (each in a fresh process) ----------------------------------------------------


def child(strategy, db_path, chunk_size):
    setup_django(db_path)
    # pylint: disable=import-outside-toplevel
    import io

    from django.core.management import call_command

    from openedx_microcred import api, backfill, dispatch
    from openedx_microcred.facts import record_fact
    from openedx_microcred.platform import get_platform

    dispatch.queue_signing = lambda award_pk: None  # signing is its own task (benchmarks/signing.py)
    rss_before = _rss_now_kb()
    cpu_start = time.process_time()
    start = time.perf_counter()
    if strategy == "chunked":
        out = io.StringIO()
        call_command("microcred_backfill", "--all", "--chunk-size", str(chunk_size), stdout=out)
    else:  # per-row: what replaying the history as live events would do
        for record in get_platform().historical_records():
            updates, _ = backfill.fact_updates([record])
            for update in updates:
                record_fact(update)
                api.evaluate_learner(update.user_id, update.course_key)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"elapsed": elapsed, "cpu": cpu, "rss_before_kb": rss_before, "peak_rss_kb": peak, **_state()}))


def _rss_now_kb():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _state():
    """Counts and a digest of the facts, progress and awards, to check both strategies end alike."""
    # pylint: disable=import-outside-toplevel
    from openedx_microcred.models import Award, LearnerFact, Progress

    digest = hashlib.sha256()
    for row in LearnerFact.objects.order_by("user_id", "course_key", "kind").values_list(
            "user_id", "course_key", "kind", "value", "event_id").iterator(chunk_size=5000):
        digest.update(repr(row).encode())
    for row in Progress.objects.order_by("user_id", "credential_id").values_list(
            "user_id", "credential__slug", "fraction", "met").iterator(chunk_size=5000):
        digest.update(repr(row).encode())
    for row in Award.objects.order_by("user_id", "credential_id").values_list(
            "user_id", "credential__slug", "status").iterator(chunk_size=5000):
        digest.update(repr(row).encode())
    return {"facts": LearnerFact.objects.count(), "progress": Progress.objects.count(),
            "awards": Award.objects.count(), "digest": digest.hexdigest()}


def measure(strategy, template, workdir, rows, chunk_size):
    path = workdir / f"{strategy}-{rows}.sqlite3"
    shutil.copy(template, path)
    fill_history(path, rows)
    result = subprocess.run([sys.executable, __file__, "--child", strategy, "--db", str(path),
                             "--chunk-size", str(chunk_size)], check=True, capture_output=True, text=True)
    path.unlink()
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data.update(strategy=strategy, rows=rows, rows_per_s=rows / data["elapsed"], rows_per_cpu_s=rows / data["cpu"])
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--baseline-rows", type=int, default=5000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "backfill.json"))
    parser.add_argument("--child", choices=("chunked", "per-row"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.chunk_size)
        return

    workdir = Path(tempfile.mkdtemp(prefix="microcred-backfill-bench-"))
    try:
        template = workdir / "template.sqlite3"
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                        f"from benchmarks.backfill import build_template; build_template({str(template)!r})"],
                       check=True)
        results = []
        header = (f"{'rows':>9} {'strategy':>9} {'learners':>8} {'wall s':>8} {'CPU s':>7} {'rows/s':>8} {'awards':>7} "
                  f"{'RSS before MiB':>14} {'peak RSS MiB':>12} {'vs per-row':>10} {'peak vs smallest':>16}")
        print(header, flush=True)
        baseline = measure("per-row", template, workdir, args.baseline_rows, args.chunk_size)
        same_slice = measure("chunked", template, workdir, args.baseline_rows, args.chunk_size)
        if (baseline["digest"], baseline["awards"]) != (same_slice["digest"], same_slice["awards"]):
            sys.exit(f"the chunked back-fill and the per-row path disagree on {args.baseline_rows} rows: "
                     f"{baseline} vs {same_slice}")
        smallest = None
        for row in (baseline, same_slice):
            _print(row, baseline, None)
            results.append(row)
        for rows in [int(s) for s in args.sizes.split(",")]:
            row = measure("chunked", template, workdir, rows, args.chunk_size)
            smallest = smallest or row
            _print(row, baseline, smallest)
            results.append(row)
        for row in results:
            row["vs_per_row"] = row["rows_per_s"] / baseline["rows_per_s"]
            row["peak_vs_smallest"] = row["peak_rss_kb"] / smallest["peak_rss_kb"] if smallest else None
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"chunk_size": args.chunk_size, "runs": results}, indent=2))
        print(f"same end state on the {args.baseline_rows:,}-row slice (facts, progress, awards): yes")
        print(f"written {args.json}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _print(row, baseline, smallest):
    ratio = row["rows_per_s"] / baseline["rows_per_s"]
    versus = f"{row['peak_rss_kb'] / smallest['peak_rss_kb']:.2f}x" if smallest else "-"
    print(f"{row['rows']:>9,} {row['strategy']:>9} {row['rows'] // COURSES_PER_LEARNER:>8,} {row['elapsed']:>8.1f} "
          f"{row['cpu']:>7.1f} "
          f"{row['rows_per_s']:>8,.0f} {row['awards']:>7,} {row['rss_before_kb'] / 1024:>14.0f} "
          f"{row['peak_rss_kb'] / 1024:>12.0f} {ratio:>9.1f}x {versus:>16}", flush=True)


if __name__ == "__main__":
    main()
