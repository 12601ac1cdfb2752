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
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
os.environ["SANDBOX_SQLITE"] = os.path.join(tempfile.mkdtemp(prefix="microcred-bench-"), "bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from openedx_events.data import EventsMetadata  # noqa: E402
from openedx_events.learning import signals  # noqa: E402
from openedx_events.learning.data import (  # noqa: E402
    CourseData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)
from opaque_keys.edx.keys import CourseKey  # noqa: E402

from openedx_microcred import evaluation, rules  # noqa: E402
from openedx_microcred.awards import award_credential  # noqa: E402
from openedx_microcred.catalog import refresh_dependency_index  # noqa: E402
from openedx_microcred.data import EvaluationResult  # noqa: E402
from openedx_microcred.models import Award, Credential, LearnerFact, Progress  # noqa: E402

COURSES_PER_CREDENTIAL = 2
LEARNERS = 500


def course_key(i):
    return f"course-v1:Bench+C{i}+2026"


def build_catalog(size):
    """`size` credentials over size/2 courses, one stack per ten credentials."""
    Award.objects.all().delete()
    Progress.objects.all().delete()
    Credential.objects.all().delete()
    courses = max(size // 2, 5)
    credentials = []
    for i in range(size):
        if i % 10 == 9:
            criteria = {"type": "at_least", "n": 2, "of": [
                {"type": "credential", "credential": f"cred-{j}"} for j in range(i - 9, i - 6)]}
        else:
            criteria = {"type": "all", "of": [
                {"type": "course_passed", "course": course_key(i % courses)},
                {"type": "course_grade", "course": course_key((i + 1) % courses), "min_percent": 60},
            ]}
        credentials.append(Credential(slug=f"cred-{i}", title=f"Credential {i}", org="Bench", criteria=criteria,
                                      state=Credential.State.ACTIVE))
    Credential.objects.bulk_create(credentials)
    refresh_dependency_index(list(Credential.objects.all()))
    return courses


def make_events(count, courses, learners, seed):
    rng = random.Random(seed)
    for n in range(count):
        user = learners[rng.randrange(len(learners))]
        key = CourseKey.from_string(course_key(rng.randrange(courses)))
        metadata_kwargs = {"id": UUID(int=seed * 10**9 + n), "time": None}
        if n % 2:
            data = PersistentCourseGradeData(
                user_id=user.id, course=CourseData(course_key=key), course_edited_timestamp=None,
                course_version="", grading_policy_hash="", percent_grade=rng.random(), letter_grade="",
                passed_timestamp=None)
            yield signals.PERSISTENT_GRADE_SUMMARY_CHANGED, {"grade": data}, metadata_kwargs
        else:
            data = CoursePassingStatusData(is_passing=rng.random() < 0.7, course=CourseData(course_key=key), user=user)
            yield signals.COURSE_PASSING_STATUS_UPDATED, {"course_passing_status": data}, metadata_kwargs


def naive_evaluate_learner(user_id, course_key=None):  # pylint: disable=unused-argument
    """Baseline: every active credential on every event, as the credentials service does."""
    credentials = list(Credential.objects.filter(state=Credential.State.ACTIVE))
    rule_list = [c.rule() for c in credentials]
    facts = {(str(f.course_key), f.kind): f.to_rule_fact() for f in LearnerFact.objects.filter(user_id=user_id)}
    held = frozenset(Award.objects.filter(user_id=user_id, current=True).values_list("credential__slug", flat=True))
    decisions = rules.decide(rule_list, rules.LearnerState(facts=facts, held=held))
    by_slug = {c.slug: c for c in credentials}
    with transaction.atomic():
        evaluation._store_progress(user_id, [(by_slug[d.slug], d.outcome) for d in decisions])
        for d in decisions:
            if d.award:
                award_credential(user_id, by_slug[d.slug], evaluation._evidence(d.outcome, {}))
    return EvaluationResult(user_id, [d.slug for d in decisions], [d.slug for d in decisions if d.award], [])


def run(events, strategy):
    original = evaluation.evaluate_learner
    if strategy == "naive":
        evaluation.evaluate_learner = naive_evaluate_learner
    try:
        statements = [0]

        def count(execute, sql, params, many, context):
            statements[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            start = time.perf_counter()
            for signal, data, meta in events:
                metadata = EventsMetadata(event_type=signal.event_type, **meta)
                signal.send_event_with_custom_metadata(metadata, **data)
            elapsed = time.perf_counter() - start
    finally:
        evaluation.evaluate_learner = original
    return elapsed, statements[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "event_throughput.json"))
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"learner{i}", email=f"l{i}@example.com") for i in range(LEARNERS)])
    learners = [UserData(id=u.id, is_active=True, pii=UserPersonalData(username=u.username, email=u.email))
                for u in get_user_model().objects.all()]
    assert len(users) == LEARNERS
    results = []
    print(f"{'credentials':>11} {'strategy':>9} {'events/s':>10} {'µs/event':>10} {'queries/event':>14} {'speed-up':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        courses = build_catalog(size)
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
