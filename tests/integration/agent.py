"""
The integration tests' hands inside Django processes of their own (sandbox settings; the database
and broker the environment names): ``python -m tests.integration.agent``.

It reads one step (a JSON object) per line on stdin and answers each with one line
``@@ {"ok": ..., "result": ...}`` on stdout (logs go to stderr). Steps:

* ``setup``: learners and credentials of one test (names start with its prefix), optionally their
  facts, and JSON Lines files of the openedx-events they would send;
* ``command``: a management command, as the LMS or an operator runs it (``microcred_replay``,
  ``microcred_sweep``...); the result is what it printed;
* ``setup_two_courses``: learners with facts in two courses whose credentials make a stack;
* ``evaluate`` / ``deliver_user`` / ``issue_user``: what a worker's task does, for the concurrency
  tests. With ``"race": true`` the process first gets ready (looks up what it needs, opens its
  database connection), answers ``@@ ready`` and waits for the line ``go``: the tests release
  several processes at once.

Between steps the database connection is handled as between two requests (closed if stale).
"""

import io
import json
import os
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

import django  # noqa: E402  pylint: disable=wrong-import-position  (DJANGO_SETTINGS_MODULE first)

django.setup()

# The agent is a process of its own: what imports the models comes after django.setup().
# pylint: disable=wrong-import-position  (after django.setup())
from django.contrib.auth import get_user_model  # noqa: E402  (after django.setup())
from django.core.management import call_command  # noqa: E402  (after django.setup())
from django.db import close_old_connections, connection  # noqa: E402  (after django.setup())
from opaque_keys.edx.keys import CourseKey  # noqa: E402  (after django.setup())
from openedx_events.data import EventsMetadata  # noqa: E402  (after django.setup())
from openedx_events.learning import signals  # noqa: E402  (after django.setup())
from openedx_events.learning.data import (  # noqa: E402  (after django.setup())
    CourseData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)

from openedx_microcred import delivery, eventlog, issuance, rules  # noqa: E402  (after django.setup())
from openedx_microcred.catalog import save_credential  # noqa: E402  (after django.setup())
from openedx_microcred.facts import FactUpdate, record_fact  # noqa: E402  (after django.setup())
from openedx_microcred.models import Award, Credential, Delivery  # noqa: E402  (after django.setup())
from openedx_microcred.tasks import evaluate_learner_task  # noqa: E402  (after django.setup())

# pylint: enable=wrong-import-position

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
MARK = "@@ "


def course_key(prefix):
    return f"course-v1:IT+{prefix.replace('-', '')}+2026"


def setup(prefix, learners, templates=(), facts=False, events=()):
    """
    ``learners`` users; a credential for passing the course and a stack over it that also wants a
    grade of 80 %, each delivered to the Credly template given (if any); with ``facts``, the
    learners' grade and passing facts recorded now (their evaluation not queued); ``events``:
    [file, first, last, minutes] for each JSON Lines file of events to write.
    """

    course = course_key(prefix)
    users = []
    for i in range(learners):
        user, _ = get_user_model().objects.get_or_create(
            username=f"{prefix}-{i}", defaults={"email": f"{prefix}-{i}@example.com", "first_name": "Learner",
                                                "last_name": f"Number{i}"})
        users.append(user)
    base, stack = f"{prefix}-passed", f"{prefix}-stack"
    targets = [[{"account": "credly", "template_id": t}] if t else [] for t in (list(templates) + [None, None])[:2]]
    save_credential(Credential(slug=base, title=f"Passed {prefix}", org="IT", state=Credential.State.ACTIVE,
                               criteria={"type": "course_passed", "course": course},
                               platform_targets=targets[0]))
    save_credential(Credential(slug=stack, title=f"Stack {prefix}", org="IT", state=Credential.State.ACTIVE,
                               criteria={"type": "all", "of": [
                                   {"type": "credential", "credential": base},
                                   {"type": "course_grade", "course": course, "min_percent": 80}]},
                               platform_targets=targets[1]))
    if facts:
        # Recorded as the receivers record them; their evaluation is left to the test.
        for user in users:
            for minutes, kind, value in ((1, rules.GRADE, {"percent": 0.9, "letter": "A", "passed": True}),
                                         (2, rules.PASSING, {"passed": True})):
                record_fact(FactUpdate(user.pk, course, kind, value, str(uuid.uuid4()), "it",
                                       T0 + timedelta(minutes=minutes)))
    for out, first, last, minutes in events:
        write_events(out, prefix, users[first:last], start=minutes)
    return {"users": [u.pk for u in users], "emails": [u.email for u in users], "course": course,
            "credentials": [base, stack]}


def setup_two_courses(prefix, learners):
    """
    ``learners`` users, each with a passing fact (awaiting evaluation) in two courses; a
    credential per course and a third course's; a stack of any 2 of the three credentials. An
    evaluation of either course awards its credential; only one that sees both awards the stack.
    """

    users = [get_user_model().objects.get_or_create(username=f"{prefix}-{i}",
                                                    defaults={"email": f"{prefix}-{i}@example.com"})[0]
             for i in range(learners)]
    courses = {part: f"course-v1:IT+{prefix.replace('-', '')}{part}+2026" for part in "abc"}
    for part, course in courses.items():
        save_credential(Credential(slug=f"{prefix}-{part}", title=f"Passed {part}", org="IT",
                                   state=Credential.State.ACTIVE,
                                   criteria={"type": "course_passed", "course": course}))
    save_credential(Credential(slug=f"{prefix}-stack", title="Any two", org="IT", state=Credential.State.ACTIVE,
                               criteria={"type": "at_least", "n": 2, "of": [
                                   {"type": "credential", "credential": f"{prefix}-{part}"} for part in "abc"]}))
    for user in users:
        for part in "ab":
            record_fact(FactUpdate(user.pk, courses[part], rules.PASSING, {"passed": True}, str(uuid.uuid4()), "it",
                                   T0))
    return {"users": [u.pk for u in users], "courses": [courses["a"], courses["b"]], "stack": f"{prefix}-stack"}


def write_events(out, prefix, users, start=0):
    """For each learner: a persistent grade of 90 % then a passing status, as edx-platform sends them."""
    course = CourseData(course_key=CourseKey.from_string(course_key(prefix)), display_name=prefix)
    lines = []
    for n, user in enumerate(users):
        when = T0 + timedelta(minutes=start + 2 * n)
        grade = PersistentCourseGradeData(
            user_id=user.pk, course=course, course_edited_timestamp=T0, course_version="v1",
            grading_policy_hash="hash", percent_grade=0.9, letter_grade="A", passed_timestamp=when)
        lines.append(eventlog.dump_event(
            signals.PERSISTENT_GRADE_SUMMARY_CHANGED,
            EventsMetadata(event_type=signals.PERSISTENT_GRADE_SUMMARY_CHANGED.event_type, time=when), grade=grade))
        status = CoursePassingStatusData(
            is_passing=True, course=course,
            user=UserData(id=user.pk, is_active=True,
                          pii=UserPersonalData(username=user.username, email=user.email, name=user.get_full_name())))
        lines.append(eventlog.dump_event(
            signals.COURSE_PASSING_STATUS_UPDATED,
            EventsMetadata(event_type=signals.COURSE_PASSING_STATUS_UPDATED.event_type,
                           time=when + timedelta(seconds=30)), course_passing_status=status))
    with open(out, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


def command(name, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue()


# --- What a worker's task does (the concurrency tests) -------------------------------------------


def prepare(step):
    """Everything before the start line: look up ids, make sure the connection is open."""
    connection.ensure_connection()
    if step["op"] == "deliver_user":
        return {**step, "ids": list(Delivery.objects.filter(award__user_id=step["user"], action=Delivery.Action.ISSUE)
                                    .order_by("pk").values_list("pk", flat=True))}
    if step["op"] == "issue_user":
        return {**step, "ids": list(Award.objects.filter(user_id=step["user"]).order_by("pk")
                                    .values_list("pk", flat=True))}
    return step


def run(step):
    """Carry out one step (its ``op`` says which); its result."""
    op = step["op"]
    if op == "setup":
        return setup(step["prefix"], step["learners"], step.get("templates", ()), step.get("facts", False),
                     step.get("events", ()))
    if op == "setup_two_courses":
        return setup_two_courses(step["prefix"], step["learners"])
    if op == "command":
        return command(step["name"], *step.get("args", ()))
    if op == "evaluate":
        started = time.time()
        result = evaluate_learner_task(step["user"], step.get("course"))  # the task's body, in this process
        return {**result, "started": started, "finished": time.time()} if step.get("timed") else result
    if op == "deliver_user":
        return [getattr(delivery.deliver(pk), "state", None) for pk in step["ids"]]
    if op == "issue_user":
        return [bool(issuance.issue_award(pk)) for pk in step["ids"]]
    raise ValueError(f"unknown step {op!r}")


def answer(value):
    sys.stdout.write(MARK + json.dumps(value, default=str) + "\n")
    sys.stdout.flush()


def serve():
    """Answer the steps read from stdin, one JSON line each, racing ones after the "go" line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        close_old_connections()
        step = json.loads(line)
        try:
            if step.get("race"):
                step = prepare(step)
                answer("ready")
                if sys.stdin.readline().strip() != "go":
                    return
            outcome = {"ok": True, "result": run(step)}
        except Exception as exc:  # pylint: disable=broad-except  (whatever the step raises goes back to the test)
            outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        close_old_connections()
        answer(outcome)


if __name__ == "__main__":
    serve()
