"""
The worker's evaluation of a deep queue: micro-batches (MICROCRED_EVALUATION_BATCH learners a
task) against one learner a task, on the same events, in the same run.

Each strategy runs in a fresh process on a database of its own, seeded the same way: ``burst.py``'s
catalog (``scale.py``'s programs: stacks, levels, courses) and learners, and its stream of events
sent through the real signals and receivers, with the evaluation tasks they queue held back (a
worker far behind a burst); then every queued task is run in order, as one worker process would
take them from the broker, and its CPU time measured. Signing and delivery are left out (their
own tasks, measured by ``signing.py`` and ``delivery.py``): this is the evaluation's cost.

Then the outcomes are compared, row by row: every award (learner, credential, earned time,
active or not), every progress row (fraction, met, each requirement) and every fact; and every
fact must have been evaluated. The benchmark exits non-zero if the two strategies differ in
anything.

    .venv/bin/python benchmarks/micro_batches.py                        # SQLite and MariaDB, 20,000 events
    .venv/bin/python benchmarks/micro_batches.py --db sqlite --quick    # 1,000 events, seconds (tests)

Prints a table and writes ``benchmarks/results/micro_batches.json``.
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402  pylint: disable=wrong-import-position

ROOT = common.ROOT
FULL = {"events": 20000, "learners": 2000, "programs": 20, "batch": 200}
QUICK = {"events": 1000, "learners": 100, "programs": 2, "batch": 200}


def child(db, config, batch):
    """One strategy on a fresh database: seed, send the events (tasks held), run the tasks; figures and outcomes."""
    # pylint: disable=import-outside-toplevel
    sqlite_path = Path(tempfile.mkdtemp(prefix="microcred-batches-")) / "db.sqlite3"
    mysql_name = f"microcred_bench_batches_{uuid.uuid4().hex[:8]}"
    if db == "mysql":
        common.create_mysql_database(mysql_name)
    try:
        common.setup_django(db, sqlite_path=sqlite_path, mysql_name=mysql_name, eager=False)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test.utils import override_settings

        from benchmarks import burst
        from openedx_microcred import dispatch, tasks
        from openedx_microcred.models import Award, LearnerEvent, LearnerFact, Progress

        common.migrate()
        burst.create_catalog(config["programs"], "Batches")
        users = get_user_model()
        users.objects.bulk_create([users(username=f"batch{i}", email=f"batch{i}@example.com")
                                   for i in range(config["learners"])], batch_size=1000)
        ids = list(users.objects.filter(username__startswith="batch").order_by("id").values_list("id", flat=True))
        stream = burst.burst_events({"events": config["events"], "programs": config["programs"]}, ids)

        held = []
        with common.patched(tasks.evaluate_learner_task, "apply_async", lambda args, **kw: held.append(tuple(args))), \
                common.patched(dispatch, "queue_signing", lambda award_pk: None):
            for n, (when, _, signal, data) in enumerate(stream):
                common.send(signal, data, event_id=uuid.UUID(int=random.Random(n).getrandbits(128), version=4),
                            time=when)
            with override_settings(MICROCRED_EVALUATION_BATCH=batch), common.counting_statements() as counter:
                cpu, wall = time.process_time(), time.perf_counter()
                learners = skipped = 0
                for args in held:
                    result = tasks.evaluate_learner_task(*args)
                    learners += result.get("learners", 0 if "skipped" in result else 1)
                    skipped += "skipped" in result
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        outcomes = {
            "awards": sorted([a.user.username, a.credential.slug, a.earned_at.isoformat() if a.earned_at else None,
                              a.current] for a in Award.objects.select_related("user", "credential")),
            "progress": sorted([p.user.username, p.credential.slug, round(p.fraction, 9), p.met,
                                json.dumps(p.requirements, sort_keys=True)]
                               for p in Progress.objects.select_related("user", "credential")),
            "facts": sorted([f.user.username, str(f.course_key), f.kind, f.event_id]
                            for f in LearnerFact.objects.select_related("user")),
        }
        unevaluated = (LearnerFact.objects.filter(pending_since__isnull=False).count()
                       + LearnerEvent.objects.filter(evaluated=False).count())
        return {
            "db": db, "batch": batch, "database_version": common.database_version(), "events": len(stream),
            "tasks": len(held), "tasks_skipped": skipped, "learner_evaluations": learners,
            "cpu_s": cpu, "wall_s": wall, "statements": counter.statements,
            "awards": len(outcomes["awards"]), "progress_rows": len(outcomes["progress"]),
            "unevaluated": unevaluated, "vendor": connection.vendor,
            "digest": hashlib.sha256(json.dumps(outcomes, sort_keys=True).encode()).hexdigest(),
            "outcomes": outcomes,
        }
    finally:
        if db == "mysql":
            common.drop_mysql_database(mysql_name)


def run_child(db, config, batch):
    command = [sys.executable, str(Path(__file__).resolve()), "--child", db, "--child-batch", str(batch),
               "--child-config", json.dumps(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env["PYTHONPATH"] = str(ROOT)
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def differences(one, batched):
    """What differs between the two strategies' outcomes (nothing, or the first rows of each kind that do)."""
    found = {}
    for kind in ("awards", "progress", "facts"):
        a = {json.dumps(row) for row in one["outcomes"][kind]}
        b = {json.dumps(row) for row in batched["outcomes"][kind]}
        if a != b:
            found[kind] = {"one_at_a_time_only": sorted(a - b)[:3], "batched_only": sorted(b - a)[:3]}
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,mysql", help="comma-separated: sqlite, mysql (default both)")
    parser.add_argument("--quick", action="store_true", help="1,000 events (tests/test_benchmarks_smoke.py)")
    parser.add_argument("--events", type=int)
    parser.add_argument("--learners", type=int)
    parser.add_argument("--batch", type=int, help="learners per task of the batched strategy (default 200)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "micro_batches.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.child_config), args.child_batch)))
        return
    config = dict(QUICK if args.quick else FULL)
    for name in ("events", "learners", "batch"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    report = {"command": " ".join([Path(sys.executable).name, "benchmarks/micro_batches.py"] + sys.argv[1:]),
              "machine": common.machine(), "config": config, "runs": []}
    failed = False
    print("db | strategy | events | tasks (skipped) | learner evaluations | CPU ms/event | events/CPU s | "
          "statements/event | awards | progress rows | vs one at a time")
    for db in args.db.split(","):
        one = run_child(db, config, 1)
        batched = run_child(db, config, config["batch"])
        diff = differences(one, batched)
        for run in (one, batched):
            rate = run["events"] / run["cpu_s"]
            ratio = one["cpu_s"] / run["cpu_s"]
            strategy = "one learner a task" if run["batch"] == 1 else f"batches of {run['batch']}"
            print(f"{db} | {strategy} | "
                  f"{run['events']:,} | {run['tasks']:,} ({run['tasks_skipped']:,}) | {run['learner_evaluations']:,} | "
                  f"{run['cpu_s'] / run['events'] * 1e3:.2f} | {rate:,.0f} | {run['statements'] / run['events']:.1f} | "
                  f"{run['awards']:,} | {run['progress_rows']:,} | {ratio:.2f}×")
        same = not diff and one["digest"] == batched["digest"]
        print(f"{db}: outcomes {'identical' if same else 'DIFFER: ' + json.dumps(diff)[:2000]}; "
              f"unevaluated facts or events: {one['unevaluated']} / {batched['unevaluated']}")
        failed |= not same or bool(one["unevaluated"] or batched["unevaluated"])
        for run in (one, batched):
            run.pop("outcomes")
        report["runs"].append({"db": db, "one_at_a_time": one, "batched": batched, "identical": same,
                               "differences": diff})
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"written {args.json}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
