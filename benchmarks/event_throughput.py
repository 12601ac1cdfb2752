"""
Cost of one platform event, receiver plus evaluation, as the catalog grows.

For K configured credentials (10 → 1,000 by default) it sends real COURSE_PASSING_STATUS_UPDATED and
PERSISTENT_GRADE_SUMMARY_CHANGED events through the plugin's receivers on a SQLite database, with
evaluation run in-process (Celery eager), and measures events per second and SQL statements per
event. The baseline, measured in the same run on the same data, is the strategy the credentials
service uses: evaluate every configured credential on every event.

    .venv/bin/python benchmarks/event_throughput.py [--sizes 10,100,1000] [--events 2000] [--json out.json]
"""

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

common.setup_django("sqlite", sqlite_path=Path(tempfile.mkdtemp(prefix="microcred-bench-")) / "bench.sqlite3")

from openedx_microcred.models import Award, LearnerFact, Progress  # noqa: E402

ROOT = common.ROOT
LEARNERS = 500


def make_events(count, courses, learners, seed):
    rng = random.Random(seed)
    for n in range(count):
        user = learners[rng.randrange(len(learners))]
        key = common.course_key(rng.randrange(courses))
        event_id = UUID(int=seed * 10**9 + n)
        if n % 2:
            signal, data = common.grade_event(user.id, key, rng.random())
        else:
            signal, data = common.passing_event(user, key, rng.random() < 0.7)
        yield signal, data, event_id


def run(events, strategy):
    with common.evaluation_strategy(strategy), common.counting_statements() as counter:
        start = time.perf_counter()
        for signal, data, event_id in events:
            common.send(signal, data, event_id=event_id)
        elapsed = time.perf_counter() - start
    return elapsed, counter.statements


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "event_throughput.json"))
    args = parser.parse_args()

    common.migrate()
    learners = common.create_learners(LEARNERS)
    assert len(learners) == LEARNERS
    results = []
    print(f"{'credentials':>11} {'strategy':>9} {'events/s':>10} {'µs/event':>10} {'queries/event':>14} {'speed-up':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        courses = common.build_catalog(size)
        row = {"credentials": size, "events": args.events}
        for strategy, seed in (("indexed", 1), ("naive", 2)):
            LearnerFact.objects.all().delete()
            Progress.objects.all().delete()
            Award.objects.all().delete()
            events = list(make_events(args.events, courses, learners, seed))
            elapsed, queries = run(events, strategy)
            row[strategy] = {"events_per_s": args.events / elapsed, "us_per_event": elapsed / args.events * 1e6,
                             "queries_per_event": queries / args.events}
        ratio = row["indexed"]["events_per_s"] / row["naive"]["events_per_s"]
        row["speedup"] = ratio
        for strategy in ("indexed", "naive"):
            r = row[strategy]
            print(f"{size:>11} {strategy:>9} {r['events_per_s']:>10.0f} {r['us_per_event']:>10.0f} "
                  f"{r['queries_per_event']:>14.1f} {ratio if strategy == 'indexed' else 1.0:>8.1f}x")
        results.append(row)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
