"""
Cost of one platform event, receiver plus evaluation, as the catalog grows.

For K configured credentials (10 → 10,000 by default) it sends real COURSE_PASSING_STATUS_UPDATED and
PERSISTENT_GRADE_SUMMARY_CHANGED events through the plugin's receivers on a SQLite database, with
evaluation run in-process (Celery eager), and measures events per second and SQL statements per
event. Beside them, measured in the same run on the same data:

* the naive strategy, the credentials service's: evaluate every configured credential on every
  event (on fewer events at large K: ``--naive-events``);
* the anchor's formula: the credentials service's badge processing was measured at 5·K + 34
  database queries per event (docs: /work/shared/design.md, "Scale");
* the floor: the data-changing statements the product ran for these events (INSERT, UPDATE,
  DELETE, with their parameters), run again through Django's cursor on a copy of the database as
  it was before the events, one transaction per event: what the same writes cost without the ORM
  building them and without the reads that decide them.

    .venv/bin/python benchmarks/event_throughput.py [--sizes 10,100,1000,10000] [--events 2000] [--json out.json]
"""

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

DB_DIR = Path(tempfile.mkdtemp(prefix="microcred-bench-"))
common.setup_django("sqlite", sqlite_path=DB_DIR / "bench.sqlite3")

from django.db import connection, connections  # noqa: E402

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


def anchor_queries(credentials):
    """The credentials service's queries per event with K badge templates, as measured (design.md)."""
    return 5 * credentials + 34


def run(events, strategy):
    """(seconds, CPU seconds, the recorder: statements, queries and the writes of each event)."""
    with common.evaluation_strategy(strategy), common.recording_writes() as recorder:
        start, cpu = time.perf_counter(), time.process_time()
        for signal, data, event_id in events:
            common.send(signal, data, event_id=event_id)
            recorder.next_event()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, recorder


def snapshot_for_floor(size):
    """A copy of the database as it is now, opened as the Django database alias "floor"."""
    connection.close()  # nothing pending: the file is the database
    path = DB_DIR / f"floor-{size}.sqlite3"
    shutil.copyfile(DB_DIR / "bench.sqlite3", path)
    if "floor" in connections.databases:  # the previous size's: a new connection for the new copy
        connections["floor"].close()
        del connections["floor"]
    connections.databases["floor"] = dict(connections.databases["default"], NAME=str(path))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--naive-events", type=int, default=None,
                        help="events for the naive baseline (default: the same, at most 20,000 / K and at least 10)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "event_throughput.json"))
    args = parser.parse_args()

    common.migrate()
    learners = common.create_learners(LEARNERS)
    assert len(learners) == LEARNERS
    results = []
    print("SQL statements per event: ours and the naive strategy measured, the anchor's 5·K + 34 beside;")
    print("floor: the same writes through Django's cursor (one transaction per event), measured in the run")
    print(f"{'credentials':>11} {'strategy':>9} {'events':>7} {'events/s':>9} {'µs/event':>10} {'CPU µs':>8} {'queries/event':>14} "
          f"{'statements/event':>17} {'anchor 5K+34':>13} {'speed-up':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        courses = common.build_catalog(size, bulk_index=size >= 1000)
        row = {"credentials": size, "anchor_queries_per_event": anchor_queries(size)}
        naive_events = args.naive_events or max(10, min(args.events, 20000 // size))
        for strategy, seed, count in (("indexed", 1, args.events), ("naive", 2, naive_events)):
            LearnerFact.objects.all().delete()
            Progress.objects.all().delete()
            Award.objects.all().delete()
            events = list(make_events(count, courses, learners, seed))
            if strategy == "indexed":
                floor_path = snapshot_for_floor(size)
            elapsed, cpu, recorder = run(events, strategy)
            row[strategy] = {"events": count, "events_per_s": count / elapsed, "us_per_event": elapsed / count * 1e6,
                             "cpu_us_per_event": cpu / count * 1e6,
                             "queries_per_event": recorder.queries / count,
                             "statements_per_event": recorder.statements / count,
                             "writes_per_event": sum(map(len, recorder.writes)) / count}
            if strategy == "indexed":
                floor, floor_cpu = common.cursor_floor(recorder.writes, "floor")
                connections["floor"].close()
                floor_path.unlink()
                row["cursor_floor"] = {"us_per_event": floor / count * 1e6, "cpu_us_per_event": floor_cpu / count * 1e6,
                                       "writes_per_event": row["indexed"]["writes_per_event"]}
        row["speedup"] = row["indexed"]["events_per_s"] / row["naive"]["events_per_s"]
        for strategy in ("indexed", "naive"):
            r = row[strategy]
            print(f"{size:>11} {strategy:>9} {r['events']:>7} {r['events_per_s']:>9.1f} {r['us_per_event']:>10.0f} "
                  f"{r['cpu_us_per_event']:>8.0f} "
                  f"{r['queries_per_event']:>14.1f} {r['statements_per_event']:>17.1f} {anchor_queries(size):>13,} "
                  f"{row['speedup'] if strategy == 'indexed' else 1.0:>8.1f}x")
        floor = row["cursor_floor"]
        print(f"{size:>11} {'floor':>9} {row['indexed']['events']:>7} {1e6 / floor['us_per_event']:>9.0f} "
              f"{floor['us_per_event']:>10.0f} {floor['cpu_us_per_event']:>8.0f} {'':>14} {floor['writes_per_event']:>17.1f} "
              f"{'':>13} {row['indexed']['us_per_event'] / floor['us_per_event']:>8.1f}x ours / floor "
              f"({row['indexed']['cpu_us_per_event'] / floor['cpu_us_per_event']:.1f}x in CPU)")
        results.append(row)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": common.machine(), "sizes": results}, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
