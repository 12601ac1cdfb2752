"""
The receiver on the platform's path (issue 15, item 1): CPU per event, enqueue included.

Real openedx-events (enrollments, grades rising and repeating, passing statuses, a late grade and a
resent event per learner) are sent through the real signals and the plugin's receivers, each
event in its own transaction as the platform's request is, so the evaluation is enqueued when it
commits: Celery not eager, the task sent to an in-memory broker (kombu's ``memory://``), as an LMS
process sends it to Redis without waiting for a worker. Measured per event: CPU (the process's
``time.process_time``), wall time, SQL statements. Beside it, in the same run, in interleaved
rounds on fresh learners each time (best round, the machine is shared):

* **old ORM path**: the receiver with ``record_fact`` as it was before issue 15 (a locking read of
  the fact, a user and retirement read, a savepoint around the insert, the ORM's save and the
  history insert), kept here as a copy, not in the package;
* **floor**: the same writes (the history row and the fact) as two plain statements through
  Django's cursor, parameters prepared beforehand, one transaction per event, no enqueue: what
  the database and its driver cost for these rows;
* **enqueue alone**: the ``apply_async`` of the evaluation task per event, nothing else.

    .venv/bin/python benchmarks/receiver.py                          # SQLite, 2,000 events per round
    .venv/bin/python benchmarks/receiver.py --db sqlite,mysql,postgresql
    .venv/bin/python benchmarks/receiver.py --quick                  # a few hundred events (tests)

MariaDB/MySQL (root, no password) and PostgreSQL (postgres, no password) on 127.0.0.1; each gets a
database ``microcred_bench_receiver_<pid>``, dropped at the end. Prints a table and writes
``benchmarks/results/receiver.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402  pylint: disable=wrong-import-position

ROOT = common.ROOT
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)
FULL = {"learners": 250, "rounds": 5}  # 8 events per learner: 2,000 events per variant and round
QUICK = {"learners": 40, "rounds": 2}
VARIANTS = ("receiver", "old_orm", "floor", "enqueue")


def log(message):
    print(message, file=sys.stderr, flush=True)


# --- The receiver as it was before issue 15 (the baseline; not in the package) --------------------


def old_record_fact(update):
    """facts.record_fact as of ea2a16e: read under lock, user check, savepoint + create, save, history insert."""
    # pylint: disable=import-outside-toplevel,protected-access
    from django.db import IntegrityError, transaction
    from django.utils import timezone as dj_timezone

    from openedx_microcred import facts
    from openedx_microcred.models import LearnerEvent, LearnerFact

    def keep_in_history():
        LearnerEvent.objects.bulk_create([facts.history_row(update)], ignore_conflicts=True)

    facts.check_event_time(update.event_time)
    with transaction.atomic():
        lookup = {"user_id": update.user_id, "course_key": update.course_key, "kind": update.kind}
        fact = LearnerFact.objects.select_for_update().filter(**lookup).first()
        if fact is None:
            retired = is_retired(update.user_id)
            if retired is None:
                raise facts.InvalidEvent(f"unknown user id {update.user_id}")
            if retired:
                return facts.IGNORED
            try:
                with transaction.atomic():
                    LearnerFact.objects.create(**lookup, **facts._event_fields(update),
                                               pending_since=dj_timezone.now())
                keep_in_history()
                return facts.APPLIED
            except IntegrityError:
                fact = LearnerFact.objects.select_for_update().get(**lookup)
        if fact.event_id == update.event_id:
            return facts.DUPLICATE
        if (fact.event_time, fact.event_id) > (update.event_time, update.event_id):
            if LearnerEvent.objects.filter(**lookup, event_id=update.event_id).exists():
                return facts.DUPLICATE
            keep_in_history()
            if fact.pending_since is None:
                LearnerFact.objects.filter(pk=fact.pk).update(pending_since=dj_timezone.now())
            return facts.STALE
        outcome = facts.APPLIED if fact.value != update.value else facts.UNCHANGED
        for name, value in facts._event_fields(update).items():
            setattr(fact, name, value)
        if fact.pending_since is None:
            fact.pending_since = dj_timezone.now()
        fact.save()
        keep_in_history()
        return outcome


def is_retired(user_id):
    """facts._is_retired as it was: None for an unknown user, else whether the learner was retired."""
    # pylint: disable=import-outside-toplevel
    from django.contrib.auth import get_user_model
    from django.db.models import Exists

    from openedx_microcred.models import RetirementRecord, subject_hash

    retired = Exists(RetirementRecord.objects.filter(subject=subject_hash(user_id)))
    return get_user_model().objects.filter(pk=user_id).annotate(retired=retired).values_list(
        "retired", flat=True).first()


# --- The events --------------------------------------------------------------------------------


def learner_events(user, serial):
    """
    One learner's 8 events as (signal, data, metadata): enrolment, a grade rising, the same grade
    again, passing, a late grade (older than the one held: stale) and one event sent twice.
    """
    from openedx_events.data import EventsMetadata  # pylint: disable=import-outside-toplevel

    key = common.course_key(serial % 50)
    start = T0 + timedelta(seconds=serial)
    plan = [
        (common.enrollment_event(user, key), 0),
        (common.grade_event(user.id, key, 0.3), 10),
        (common.grade_event(user.id, key, 0.7, passed_timestamp=start), 20),
        (common.grade_event(user.id, key, 0.7, passed_timestamp=start), 30),  # same value, newer: unchanged
        (common.passing_event(user, key, True), 40),
        (common.grade_event(user.id, key, 0.5), 5),  # older than the grade held: stale
    ]
    out = []
    for number, ((signal, data), minutes) in enumerate(plan):
        metadata = EventsMetadata(event_type=signal.event_type, id=UUID(int=serial * 100 + number),
                                  time=start + timedelta(minutes=minutes))
        out.append((signal, data, metadata))
    out.insert(5, out[4])  # the passing event again: duplicate
    out.append(out[2])  # an older event again: duplicate
    return out


def send(signal, data, metadata):
    """Send one event through its signal in a transaction of its own; our receiver's outcome."""
    from django.db import transaction  # pylint: disable=import-outside-toplevel

    with transaction.atomic():  # the platform's request: the evaluation is enqueued when it commits
        responses = signal.send_event_with_custom_metadata(metadata, **data)
    return [r for f, r in responses if getattr(f, "__module__", "") == "openedx_microcred.handlers"][0]


# --- The floor: the same rows through the cursor --------------------------------------------------


def floor_statements(stream):
    """(sql, params) pairs per event: the history row and the fact, as two plain statements."""
    # pylint: disable=import-outside-toplevel,protected-access
    from django.db import connection

    from openedx_microcred import event_data, facts
    from openedx_microcred.models import LearnerEvent, LearnerFact

    quote = connection.ops.quote_name
    fact_table, event_table = quote(LearnerFact._meta.db_table), quote(LearnerEvent._meta.db_table)
    event_columns = [quote(LearnerEvent._meta.get_field(n).column) for n in facts._HISTORY_COLUMNS]
    fact_columns = [quote(LearnerFact._meta.get_field(n).column) for n in facts._FACT_COLUMNS]

    def marks(columns):
        return ", ".join(["%s"] * len(columns))

    if connection.vendor == "mysql":
        history_sql = f"INSERT IGNORE INTO {event_table} ({', '.join(event_columns)}) VALUES ({marks(event_columns)})"
        fact_sql = (f"INSERT INTO {fact_table} ({', '.join(fact_columns)}) VALUES ({marks(fact_columns)}) "
                    "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in fact_columns[3:]))
    else:
        history_sql = (f"INSERT INTO {event_table} ({', '.join(event_columns)}) VALUES ({marks(event_columns)}) "
                       "ON CONFLICT DO NOTHING")
        fact_sql = (f"INSERT INTO {fact_table} ({', '.join(fact_columns)}) VALUES ({marks(fact_columns)}) "
                    f"ON CONFLICT ({', '.join(fact_columns[:3])}) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in fact_columns[3:]))
    builders = {"grade": event_data.grade_fact, "course_passing_status": event_data.passing_fact,
                "enrollment": event_data.enrollment_fact}
    kinds = {"grade": "grade", "course_passing_status": "passing", "enrollment": "enrollment"}
    now = datetime.now(timezone.utc)
    out = []
    for signal, data, metadata in stream:
        (name, payload), = data.items()
        user_id, course, value = builders[name](payload)
        update = facts.FactUpdate(user_id, course, kinds[name], value, str(metadata.id), signal.event_type,
                                  metadata.time)
        event, moment = facts._prepared(update), facts._moment(now)
        out.append([(history_sql, [*event, False]), (fact_sql, [*event, moment, moment])])
    return out


def run_floor(statements):
    """Run each event's statements in a transaction of its own."""
    from django.db import connection, transaction  # pylint: disable=import-outside-toplevel

    for event in statements:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in event:
                cursor.execute(sql, params)


# --- One database: the child process ----------------------------------------------------------------


def measure(config):
    """Every variant, ``rounds`` times interleaved, each on fresh learners; the best round of each."""
    # pylint: disable=import-outside-toplevel
    from openedx_microcred import dispatch, handlers

    common.migrate()
    per_round = config["learners"]
    learners = common.create_learners(per_round * len(VARIANTS) * config["rounds"] + 1)
    warm = learner_events(learners[-1], 10**6)
    for event in warm:
        send(*event)  # imports, caches and the broker's connection, outside the measure
    rounds = {variant: [] for variant in VARIANTS}
    outcomes = {}
    block = 0
    for _ in range(config["rounds"]):
        for variant in VARIANTS:
            users = learners[block * per_round:(block + 1) * per_round]
            stream = [e for n, user in enumerate(users) for e in learner_events(user, block * per_round + n)]
            block += 1
            floor = floor_statements(stream) if variant == "floor" else None
            with common.counting_statements() as counter:
                wall, cpu = time.perf_counter(), time.process_time()
                if variant == "floor":
                    run_floor(floor)
                elif variant == "enqueue":
                    for _ in stream:
                        dispatch.enqueue_evaluation(1, "course-v1:Bench+C0+2026")
                else:
                    with common.patched(handlers, "record_fact", old_record_fact) if variant == "old_orm" \
                            else nullcontext():
                        outcomes[variant] = dict(Counter(send(*event) for event in stream))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rounds[variant].append({"events": len(stream), "cpu_us_per_event": cpu / len(stream) * 1e6,
                                    "us_per_event": wall / len(stream) * 1e6,
                                    "queries_per_event": counter.queries / len(stream),
                                    "statements_per_event": counter.statements / len(stream)})
    result = {"database": common.database_version(), "outcomes": outcomes}
    for variant, measured in rounds.items():
        best = min(measured, key=lambda r: r["cpu_us_per_event"])
        best["rounds_cpu_us_per_event"] = [round(r["cpu_us_per_event"], 1) for r in measured]
        result[variant] = best
    receiver = result["receiver"]["cpu_us_per_event"]
    result["ratios"] = {"old_orm_vs_receiver": result["old_orm"]["cpu_us_per_event"] / receiver,
                        "receiver_vs_floor": receiver / result["floor"]["cpu_us_per_event"],
                        "enqueue_share": result["enqueue"]["cpu_us_per_event"] / receiver}
    return result


def child(db, config, out):
    """Measure on one database (made here, dropped at the end) and write the result to ``out``."""
    workdir = Path(tempfile.mkdtemp(prefix="microcred-bench-receiver-"))
    name = f"microcred_bench_receiver_{os.getpid()}"
    if db == "mysql":
        common.create_mysql_database(name)
    elif db == "postgresql":
        common.create_postgresql_database(name)
    try:
        common.setup_django(db, sqlite_path=workdir / "receiver.sqlite3", mysql_name=name, eager=False)
        result = measure(config)
    finally:
        from django.db import connections  # pylint: disable=import-outside-toplevel

        connections.close_all()
        if db == "mysql":
            common.drop_mysql_database(name)
        elif db == "postgresql":
            common.drop_postgresql_database(name)
    Path(out).write_text(json.dumps(result))


# --- The table --------------------------------------------------------------------------------


def table(results):
    """The printed table: one row per database and variant, then the ratios."""
    head = (f"{'database':<12}{'variant':<16}{'CPU µs/event':>14}{'wall µs/event':>15}{'queries/event':>15}"
            f"{'statements/event':>18}")
    lines = ["receiver on the platform's path: CPU per event, enqueue on commit included (best round)", head]
    names = {"receiver": "receiver", "old_orm": "old ORM path", "floor": "floor (cursor)",
             "enqueue": "enqueue alone"}
    for db, result in results.items():
        for variant in VARIANTS:
            row = result[variant]
            lines.append(f"{db:<12}{names[variant]:<16}{row['cpu_us_per_event']:>14,.0f}{row['us_per_event']:>15,.0f}"
                         f"{row['queries_per_event']:>15.2f}{row['statements_per_event']:>18.2f}")
        ratios = result["ratios"]
        lines.append(f"{db:<12}old ORM ÷ receiver {ratios['old_orm_vs_receiver']:.2f}×, receiver ÷ floor "
                     f"{ratios['receiver_vs_floor']:.2f}×, enqueue {ratios['enqueue_share']:.0%} of the receiver; "
                     f"outcomes {result['outcomes']['receiver']}")
    return "\n".join(lines)


def main():  # pylint: disable=missing-function-docstring
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="comma-separated: sqlite, mysql, postgresql")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--learners", type=int, help="learners per variant and round (8 events each)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "receiver.json"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    config.update({k: v for k, v in (("learners", args.learners), ("rounds", args.rounds)) if v})
    if args.child:
        child(args.child, config, args.out)
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for db in args.db.split(","):
            log(f"[{db}] {config['learners'] * 8:,} events per variant, {config['rounds']} rounds")
            out = Path(tmp) / f"{db}.json"
            command = [sys.executable, __file__, "--child", db, "--out", str(out), "--learners",
                       str(config["learners"]), "--rounds", str(config["rounds"])]
            subprocess.run(command, check=True, cwd=ROOT)
            results[db] = json.loads(out.read_text())
    print(table(results))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": common.machine(), "quick": args.quick, "config": config,
                                           "databases": results}, indent=2))


if __name__ == "__main__":
    main()
