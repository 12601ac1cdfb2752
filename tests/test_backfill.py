"""microcred_backfill: history from the platform adapter becomes facts, learners are evaluated, in resumable chunks."""

import io
import json
import re
import sys
import types
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from opaque_keys.edx.keys import CourseKey

from openedx_microcred import api, backfill, evaluation, rules
from openedx_microcred.facts import FactUpdate, record_fact
from openedx_microcred.models import Award, BackfillRun, Credential, LearnerFact, Progress, RejectedEvent
from openedx_microcred.platform import (
    GRADE_SOURCE,
    PlatformAdapter,
    get_platform,
    merge_by_learner,
    rows_by_learner,
    stored_history,
)
from openedx_microcred.platform.edx_platform import EdxPlatformAdapter
from sandbox.host.models import CourseEnrollment, CourseGrade, GeneratedCertificate

from . import events
from .conftest import C1, C2, C3

C4 = "course-v1:DemoX+PY104+2026"  # no credential depends on it


@pytest.fixture
def catalog(make_credential):
    """Credentials on each kind of history: a passed course, a grade, a stack of both, a verified certificate."""
    make_credential("passed-c1", {"type": "course_passed", "course": C1})
    make_credential("grade-c2", {"type": "course_grade", "course": C2, "min_percent": 80})
    make_credential("stack", {"type": "all", "of": [{"type": "credential", "credential": "passed-c1"},
                                                    {"type": "credential", "credential": "grade-c2"}]})
    make_credential("cert-c3", {"type": "all", "of": [{"type": "certificate", "course": C3, "mode": "verified"},
                                                      {"type": "enrolled", "course": C3, "modes": ["verified"]}]})


def make_learners(count, start=0):
    User = get_user_model()
    User.objects.bulk_create([User(username=f"learner{i}", email=f"learner{i}@example.com")
                              for i in range(start, start + count)])
    return list(User.objects.filter(username__in=[f"learner{i}" for i in range(start, start + count)])
                .order_by("pk"))


def grade_row(user_id, course, percent, minutes=0, passed=None):
    passed = percent >= 0.5 if passed is None else passed
    return CourseGrade(user_id=user_id, course_id=CourseKey.from_string(course), percent_grade=percent,
                       letter_grade="Pass" if passed else "", passed_timestamp=events.at(minutes) if passed else None,
                       grading_policy_hash="h", modified=events.at(minutes))


@pytest.fixture
def history(db):
    """Six learners' grades in C1, C2 and C4, certificates and enrollments in C3."""
    learners = make_learners(6)
    grades, certificates, enrollments = [], [], []
    for n, learner in enumerate(learners):
        grades.append(grade_row(learner.pk, C1, 0.9 if n % 2 == 0 else 0.3, minutes=n))
        grades.append(grade_row(learner.pk, C2, 0.85 if n % 3 == 0 else 0.6, minutes=n + 1))
        grades.append(grade_row(learner.pk, C4, 0.7, minutes=n + 2))
        if n < 3:
            certificates.append(GeneratedCertificate(user=learner, course_id=CourseKey.from_string(C3),
                                                     status="downloadable", mode="verified",
                                                     modified_date=events.at(n + 3)))
            enrollments.append(CourseEnrollment(user=learner, course_id=CourseKey.from_string(C3),
                                                mode="verified" if n < 2 else "audit", modified=events.at(n)))
    CourseGrade.objects.bulk_create(grades)
    GeneratedCertificate.objects.bulk_create(certificates)
    CourseEnrollment.objects.bulk_create(enrollments)
    return learners


def run(*args, **kwargs):
    out = io.StringIO()
    call_command("microcred_backfill", *args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def awards():
    return sorted(Award.objects.filter(status=Award.Status.ACTIVE).values_list("user_id", "credential__slug"))


def snapshot():
    """Everything the back-fill writes, with the fields that tell a rewrite from no write."""
    return {
        "facts": sorted((f.user_id, str(f.course_key), f.kind, json.dumps(f.value, sort_keys=True), f.event_id,
                         f.event_time.isoformat()) for f in LearnerFact.objects.all()),
        "progress": sorted((p.user_id, p.credential.slug, round(p.fraction, 6), p.met,
                            json.dumps(p.requirements, sort_keys=True))
                           for p in Progress.objects.select_related("credential")),
        "awards": sorted((a.user_id, a.credential.slug, a.status, a.revocation_reason)
                         for a in Award.objects.select_related("credential")),
        "rejected": sorted(RejectedEvent.objects.values_list("event_id", "reason")),
    }


# --- Scopes ---------------------------------------------------------------------------------------


def test_course_scope_reads_that_course_and_evaluates_its_credentials(catalog, history):
    output = run("--course", C1)
    assert set(LearnerFact.objects.values_list("course_key", flat=True)) == {CourseKey.from_string(C1)}
    passed = [learner.pk for n, learner in enumerate(history) if n % 2 == 0]
    # Passing C1 earns passed-c1; the stack also needs grade-c2, whose course was not read.
    assert awards() == sorted((pk, "passed-c1") for pk in passed)
    assert Progress.objects.filter(credential__slug="stack").count() == len(history)
    fact = LearnerFact.objects.get(user=history[0], course_key=C1)
    assert fact.kind == rules.GRADE and fact.value == {"percent": 0.9, "letter": "Pass", "passed": True}
    row = CourseGrade.objects.get(user_id=history[0].pk, course_id=C1)
    assert fact.event_id == f"backfill:grade:{row.pk}:{events.at(0).isoformat()}"
    assert fact.event_time == events.at(0) and fact.event_type == "openedx_microcred.backfill.grade"
    backfill_run = BackfillRun.objects.get()
    assert (backfill_run.scope, backfill_run.target, backfill_run.state) == ("course", C1, BackfillRun.State.FINISHED)
    assert (backfill_run.rows_read, backfill_run.learners_read, backfill_run.facts_applied) == (6, 6, 6)
    assert backfill_run.awards_made == 3 and backfill_run.awards_by_credential == {"passed-c1": 3}
    assert backfill_run.cursor == history[-1].pk and backfill_run.finished_at is not None
    assert "finished" in output and "passed-c1: 3" in output
    assert re.search(r"rows read:\s+6\n", output) and re.search(r"awards made:\s+3\n", output)


def test_credential_scope_reads_every_course_it_depends_on(catalog, history):
    run("--credential", "stack")
    courses = {str(k) for k in LearnerFact.objects.values_list("course_key", flat=True).distinct()}
    assert courses == {C1, C2}  # the stack's parts' courses; not C3 or C4
    earned_both = [learner.pk for n, learner in enumerate(history) if n % 2 == 0 and n % 3 == 0]
    assert [pk for pk, slug in awards() if slug == "stack"] == earned_both
    assert {slug for _, slug in awards()} == {"passed-c1", "grade-c2", "stack"}
    assert BackfillRun.objects.get().target == "stack"


def test_all_scope_reads_grades_certificates_and_enrollments(catalog, history):
    CourseGrade.objects.create(user_id=987654, course_id=CourseKey.from_string(C1), percent_grade=0.9,
                               modified=events.at(1))  # a user the LMS no longer has
    output = run("--all")
    assert LearnerFact.objects.filter(course_key=C4).count() == len(history)  # no credential, still a fact
    assert set(LearnerFact.objects.filter(course_key=C3).values_list("kind", flat=True)) == {
        rules.CERTIFICATE, rules.ENROLLMENT}
    cert_holders = sorted(pk for pk, slug in awards() if slug == "cert-c3")
    assert cert_holders == [history[0].pk, history[1].pk]  # the third is enrolled in audit
    rejected = RejectedEvent.objects.get()
    assert rejected.reason.startswith("unknown user id 987654")
    assert rejected.event_id.startswith("backfill:grade:") and rejected.payload["backfill"]["user_id"] == 987654
    counts = BackfillRun.objects.get()
    assert counts.rows_read == 6 * 3 + 3 + 3 + 1 and counts.rows_rejected == 1
    assert counts.facts_applied == counts.rows_read - 1
    assert "rows rejected" in output


def test_course_without_credentials_warns_and_still_records(catalog, history):
    output = run("--course", C4)
    assert "No active credential depends on" in output
    assert LearnerFact.objects.filter(course_key=C4).count() == len(history)
    assert not Award.objects.exists() and BackfillRun.objects.get().learners_evaluated == 0


def test_draft_credential_scope_warns(catalog, history, make_credential):
    make_credential("draft-c4", {"type": "course_grade", "course": C4, "min_percent": 50},
                    state=Credential.State.DRAFT)
    output = run("--credential", "draft-c4")
    assert "is draft" in output
    assert LearnerFact.objects.filter(course_key=C4).count() == len(history) and not Award.objects.exists()


# --- Dry run --------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_reports_who_would_be_awarded(catalog, history):
    events.grade(history[1].pk, C2, 0.95, time=events.at(500))  # a newer live fact: the history must not win
    before = snapshot()
    with CaptureQueriesContext(connection) as ctx:
        output = run("--all", "--dry-run", verbosity=2)
    writes = [q["sql"] for q in ctx.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [] and snapshot() == before and not BackfillRun.objects.exists()
    assert "Dry run" in output and "nothing was written" in output

    listed = sorted((int(line.split("to learner ")[1].split()[0]), line.split()[2])
                    for line in output.splitlines() if line.startswith("  would award "))
    run("--all")
    made = awards()
    assert listed == made and len(made) > 5
    # Learner 1 holds grade-c2 from the live event (0.95), not the stale historical 0.6.
    assert (history[1].pk, "grade-c2") in made
    for slug in {slug for _, slug in made}:
        assert f"  {slug}: {sum(1 for _, s in made if s == slug)}" in output


def test_dry_run_counts_match_the_real_run(catalog, history):
    dry = run("--credential", "stack", "--dry-run")
    real = run("--credential", "stack")

    def pick(text, label):
        return text.split(label)[1].splitlines()[0].strip(" :")

    assert pick(dry, "facts that would be applied") == pick(real, "facts applied")
    assert pick(dry, "awards that would be made") == pick(real, "awards made")
    assert pick(dry, "learners evaluated") == pick(real, "learners evaluated")


# --- Ordering with live events, idempotence -------------------------------------------------------


def test_older_history_never_overwrites_a_newer_live_fact(catalog, learner):
    live_id = "11111111-2222-4333-8444-555555555555"
    events.grade(learner.pk, C2, 0.9, time=events.at(100), event_id=uuid.UUID(live_id))
    CourseGrade.objects.bulk_create([grade_row(learner.pk, C2, 0.3, minutes=10)])  # the grade before the regrade
    output = run("--course", C2)
    fact = LearnerFact.objects.get(user=learner, course_key=C2)
    assert fact.value["percent"] == 0.9 and fact.event_id == live_id and fact.event_time == events.at(100)
    run_row = BackfillRun.objects.get()
    assert (run_row.facts_stale, run_row.facts_applied) == (1, 0)
    assert "facts stale" in output
    assert awards() == [(learner.pk, "grade-c2")]  # evaluated on the live fact

    # A row changed after the live event is newer: it wins.
    CourseGrade.objects.filter(user_id=learner.pk).update(percent_grade=0.95, modified=events.at(200))
    run("--course", C2)
    fact.refresh_from_db()
    assert fact.value["percent"] == 0.95 and fact.event_time == events.at(200)
    assert fact.event_id.startswith("backfill:grade:")


def test_running_twice_changes_nothing(catalog, history):
    CourseGrade.objects.create(user_id=987654, course_id=CourseKey.from_string(C1), percent_grade=0.9,
                               modified=events.at(1))
    run("--all")
    first = snapshot()
    modified = sorted(LearnerFact.objects.values_list("pk", "modified")) + sorted(
        Progress.objects.values_list("pk", "modified"))
    run("--all")
    assert snapshot() == first
    assert sorted(LearnerFact.objects.values_list("pk", "modified")) + sorted(
        Progress.objects.values_list("pk", "modified")) == modified
    second = BackfillRun.objects.order_by("pk").last()
    assert second.facts_duplicate == second.rows_read - 1 and second.rows_rejected == 1
    assert second.facts_applied == 0 and second.awards_made == 0
    assert second.learners_evaluated == len(history)


def test_a_fact_inserted_concurrently_falls_back_to_record_fact(catalog, learner, monkeypatch):
    """A live event inserts the fact between the back-fill's read and its insert: the newer one stands."""
    events.grade(learner.pk, C2, 0.9, time=events.at(100))
    CourseGrade.objects.bulk_create([grade_row(learner.pk, C2, 0.3, minutes=10)])
    real = backfill.stored_facts
    monkeypatch.setattr(backfill, "stored_facts", lambda updates, lock=False: {} if lock else real(updates))
    run("--course", C2)
    assert LearnerFact.objects.get(user=learner, course_key=C2).value["percent"] == 0.9
    assert BackfillRun.objects.get().facts_stale == 1


def test_batched_recording_matches_record_fact(learner):
    """record_facts gives what record_fact gives one by one, for every ordering case."""
    def update(kind, value, minutes, eid):
        return FactUpdate(learner.pk, C1, kind, value, eid, "t", events.at(minutes))

    record_fact(update(rules.GRADE, {"percent": 0.5}, 10, "held-grade"))
    record_fact(update(rules.ENROLLMENT, {"mode": "audit"}, 10, "held-enrollment"))
    record_fact(update(rules.CERTIFICATE, {"status": "x"}, 10, "held-cert"))
    batch = [
        update(rules.GRADE, {"percent": 0.4}, 5, "older"),  # stale
        update(rules.ENROLLMENT, {"mode": "audit"}, 20, "same-value"),  # unchanged
        update(rules.CERTIFICATE, {"status": "x"}, 10, "held-cert"),  # duplicate
        update(rules.PASSING, {"passed": True}, 1, "new"),  # applied
        update(rules.COMPLETION, {"completed_blocks": 1}, 1, "first"),  # applied, then superseded:
        update(rules.COMPLETION, {"completed_blocks": 2}, 2, "second"),  # applied
    ]
    assert backfill.record_facts(batch) == ["stale", "unchanged", "duplicate", "applied", "applied", "applied"]
    held = {f.kind: (f.value, f.event_id) for f in LearnerFact.objects.filter(user=learner)}
    assert held == {rules.GRADE: ({"percent": 0.5}, "held-grade"), rules.ENROLLMENT: ({"mode": "audit"}, "same-value"),
                    rules.CERTIFICATE: ({"status": "x"}, "held-cert"), rules.PASSING: ({"passed": True}, "new"),
                    rules.COMPLETION: ({"completed_blocks": 2}, "second")}


def test_backfill_decides_as_the_live_path_does(catalog, make_credential, history):
    """Chunked, batched evaluation ends where recording each row and evaluating per event would."""
    make_credential("strict-c1", {"type": "course_grade", "course": C1, "min_percent": 95},
                    revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)
    records = list(get_platform().historical_records())
    updates, _ = backfill.fact_updates(records)
    for update in updates:
        record_fact(update)
        api.evaluate_learner(update.user_id, CourseKey.from_string(update.course_key))
    one_by_one = snapshot()
    LearnerFact.objects.all().delete()
    Award.objects.all().delete()
    Progress.objects.all().delete()
    run("--all", "--chunk-size", "2")
    assert snapshot() == one_by_one


# --- Chunks and resuming --------------------------------------------------------------------------


@pytest.fixture
def many(catalog):
    """25 learners with 2 grades each."""
    learners = make_learners(25, start=100)
    CourseGrade.objects.bulk_create([grade_row(learner.pk, course, 0.9 if (n + i) % 3 else 0.2, minutes=n)
                                     for n, learner in enumerate(learners) for i, course in enumerate((C1, C2))])
    return learners


def failing_after(limit):
    """The adapter's history, failing (as a killed process would stop) after ``limit`` records."""
    adapter = get_platform()
    original = type(adapter).historical_records

    def historical_records(self, *args, **kwargs):
        for n, record in enumerate(original(self, *args, **kwargs)):
            if n == limit:
                raise RuntimeError("the process was killed")
            yield record

    return historical_records


def test_chunks_end_at_learner_boundaries(many):
    seen = []
    original = backfill.process_chunk

    def spy(chunk, report=None, credentials=None):
        seen.append([record.user_id for record in chunk])
        return original(chunk, report, credentials)

    backfill.process_chunk = spy
    try:
        run("--all", "--chunk-size", "3")
    finally:
        backfill.process_chunk = original
    assert all(len(chunk) == 4 for chunk in seen[:-1])  # 3 rows reached mid-learner: the learner's 4th row joins
    users = [u for chunk in seen for u in chunk]
    assert users == sorted(users) and len(users) == 50
    assert not set(seen[0]) & set(seen[1])
    assert BackfillRun.objects.get().chunks == len(seen)


def test_resume_after_an_interruption_ends_where_an_uninterrupted_run_does(many, monkeypatch):
    adapter_class = type(get_platform())
    with monkeypatch.context() as patch:
        patch.setattr(adapter_class, "historical_records", failing_after(21))
        with pytest.raises(CommandError, match=r"stopped after learner \d+ .*the process was killed.*--resume"):
            run("--all", "--chunk-size", "4")
    stopped = BackfillRun.objects.get()
    assert stopped.state == BackfillRun.State.STOPPED and "the process was killed" in stopped.last_error
    # Chunks of 4 rows (2 learners): 5 committed (20 rows), the 6th was rolled back with the error.
    assert stopped.chunks == 5 and stopped.rows_read == 20 and stopped.cursor == many[9].pk
    assert LearnerFact.objects.count() == 20
    assert not LearnerFact.objects.filter(user_id__gt=stopped.cursor).exists()
    assert not Progress.objects.filter(user_id__gt=stopped.cursor).exists()

    with pytest.raises(CommandError, match="--resume, or start over with --restart"):
        run("--all")
    output = run("--all", "--chunk-size", "4", "--resume")
    assert f"Resuming back-fill run {stopped.pk}" in output
    resumed = BackfillRun.objects.get()
    assert resumed.state == BackfillRun.State.FINISHED and resumed.last_error == ""
    assert resumed.rows_read == 50 and resumed.facts_applied == 50 and resumed.learners_read == 25
    assert resumed.chunks == 13
    interrupted = snapshot()
    counts = backfill.Counts.of_run(resumed)

    LearnerFact.objects.all().delete()
    Award.objects.all().delete()
    Progress.objects.all().delete()
    run("--all", "--chunk-size", "4")
    assert snapshot() == interrupted
    assert backfill.Counts.of_run(BackfillRun.objects.order_by("pk").last()) == counts


def test_restart_abandons_the_unfinished_run(many, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(type(get_platform()), "historical_records", failing_after(5))
        with pytest.raises(CommandError):
            run("--course", C1, "--chunk-size", "2")
    run("--course", C1, "--restart")
    first, second = BackfillRun.objects.order_by("pk")
    assert first.state == BackfillRun.State.ABANDONED and second.state == BackfillRun.State.FINISHED
    assert second.rows_read == 25
    # An unfinished run of another scope does not block this one.
    with monkeypatch.context() as patch:
        patch.setattr(type(get_platform()), "historical_records", failing_after(0))
        with pytest.raises(CommandError, match="stopped before its first chunk was committed"):
            run("--course", C2)
    run("--course", C1)


def test_a_killed_run_left_running_can_be_resumed(many):
    killed = BackfillRun.objects.create(scope="all", target="", chunk_size=10, cursor=many[4].pk)
    run("--all", "--resume")
    killed.refresh_from_db()
    assert killed.state == BackfillRun.State.FINISHED and killed.rows_read == 40  # learners 5..24
    assert not LearnerFact.objects.filter(user_id__lte=many[4].pk).exists()


def test_an_interrupted_run_is_left_stopped(many, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt
        yield  # pragma: no cover

    monkeypatch.setattr(type(get_platform()), "historical_records", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("--all")
    stopped = BackfillRun.objects.get()
    assert stopped.state == BackfillRun.State.STOPPED and stopped.last_error == "interrupted"


def test_a_deadlocked_chunk_is_tried_again(many, monkeypatch):
    calls = []
    original = backfill.process_chunk

    def flaky(chunk, report=None, credentials=None):
        calls.append(len(chunk))
        if len(calls) == 2:
            LearnerFact.objects.create(user_id=chunk[0].user_id, course_key=C3, kind="grade", value={},
                                       event_id="x", event_type="x", event_time=events.at(0))
            raise OperationalError("deadlock found when trying to get lock")
        return original(chunk, report, credentials)

    monkeypatch.setattr(backfill, "process_chunk", flaky)
    monkeypatch.setattr(backfill.time, "sleep", lambda seconds: None)
    run("--all", "--chunk-size", "20")
    assert BackfillRun.objects.get().state == BackfillRun.State.FINISHED
    assert LearnerFact.objects.count() == 50  # the failed attempt's write was rolled back
    assert len(calls) == 4


# --- Arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ((), "exactly one of --course, --credential or --all"),
    (("--course", C1, "--all"), "exactly one of"),
    (("--course", C1, "--credential", "stack"), "exactly one of"),
    (("--course", "not-a-course"), "'not-a-course' is not a valid course key"),
    (("--credential", "nope"), "no credential with the slug 'nope'"),
    (("--all", "--chunk-size", "0"), "--chunk-size must be from 1 to 100000, not 0"),
    (("--all", "--chunk-size", "100001"), "not 100001"),
    (("--all", "--resume", "--restart"), "cannot be used together"),
    (("--all", "--dry-run", "--resume"), "cannot --resume or --restart"),
    (("--all", "--dry-run", "--restart"), "cannot --resume or --restart"),
    (("--all", "--resume"), "no unfinished back-fill of every course to resume"),
])
def test_bad_arguments(catalog, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not BackfillRun.objects.exists()


def test_a_chunk_size_that_is_no_number(catalog):
    with pytest.raises(CommandError, match="--chunk-size: invalid int value: 'lots'"):
        run("--all", "--chunk-size", "lots")


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal(catalog, history, capsys, terminal):
    out = Terminal() if terminal else io.StringIO()
    call_command("microcred_backfill", "--course", C1, stdout=out)
    progress = capsys.readouterr().err
    assert ("Back-filling" in progress and "6row" in progress.replace(" ", "")) if terminal else progress == ""
    assert "finished" in out.getvalue()


def test_verbose_run_lists_the_awards(catalog, history):
    output = run("--course", C1, verbosity=2)
    assert f"  awarded passed-c1 to learner {history[0].pk} (learner0)" in output


# --- The platform adapters ------------------------------------------------------------------------


def test_rows_by_learner_pages_without_losing_or_repeating_rows(db):
    learners = make_learners(4)
    counts = [1, 5, 2, 3]  # learner 2 alone fills a page of 3
    CourseGrade.objects.bulk_create([
        grade_row(learner.pk, f"course-v1:X+C{i}+2026", 0.5) for learner, n in zip(learners, counts) for i in range(n)
    ])
    queryset = CourseGrade.objects.values_list("id", "user_id", named=True)
    for page_size in (1, 2, 3, 4, 100):
        with CaptureQueriesContext(connection) as ctx:
            rows = list(rows_by_learner(queryset, 0, page_size))
        assert sorted(r.id for r in rows) == sorted(CourseGrade.objects.values_list("id", flat=True))
        assert [r.user_id for r in rows] == sorted(r.user_id for r in rows)
        assert all(f"LIMIT {page_size}" in q["sql"] or "LIMIT" not in q["sql"] for q in ctx.captured_queries)
    after_first = list(rows_by_learner(queryset, learners[0].pk, 2))
    assert {r.user_id for r in after_first} == {learner.pk for learner in learners[1:]}


def test_merge_keeps_each_learners_records_together(db):
    learners = make_learners(3)
    CourseGrade.objects.bulk_create([grade_row(learner.pk, C1, 0.5) for learner in learners])
    CourseEnrollment.objects.bulk_create([CourseEnrollment(user=learner, course_id=CourseKey.from_string(C1))
                                          for learner in learners[1:]])
    records = list(stored_history(CourseGrade.objects, None, CourseEnrollment.objects, page_size=1))
    assert [(r.user_id, r.source) for r in records][:1] == [(learners[0].pk, GRADE_SOURCE)]
    assert [r.user_id for r in records] == sorted(r.user_id for r in records) and len(records) == 5
    assert list(merge_by_learner([])) == []
    assert list(stored_history(CourseGrade.objects, course_keys=[])) == []


def test_the_base_adapter_has_no_history():
    assert list(PlatformAdapter().historical_records()) == []


def test_edx_adapter_reads_edx_platform_tables(catalog, history, monkeypatch):
    """edx-platform's models, stood in for by the host's tables of the same shape."""
    def module(name, **attrs):
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))

    module("lms.djangoapps.grades.models", PersistentCourseGrade=CourseGrade)
    module("lms.djangoapps.certificates.models", GeneratedCertificate=GeneratedCertificate)
    module("common.djangoapps.student.models", CourseEnrollment=CourseEnrollment)
    records = list(EdxPlatformAdapter().historical_records([C1, C3], page_size=2))
    assert sorted((r.source, r.user_id) for r in records) == sorted(
        [("grade", learner.pk) for learner in history]
        + [("certificate", learner.pk) for learner in history[:3]]
        + [("enrollment", learner.pk) for learner in history[:3]])
    enrollment = next(r for r in records if r.source == "enrollment")
    assert enrollment.time == CourseEnrollment.objects.get(pk=enrollment.row_id).created  # no history table here
    assert enrollment.data.user.pii is None  # no personal data is read


def test_edx_adapter_without_edx_platform_has_no_history(caplog):
    assert list(EdxPlatformAdapter().historical_records([C1])) == []
    assert "grades are not available" in caplog.text


# --- Batched evaluation and the admin ---------------------------------------------------------------


def test_batched_evaluation_loads_in_the_same_queries_for_one_or_many(catalog, history):
    updates, _ = backfill.fact_updates(list(get_platform().historical_records([C1, C2])))
    for update in updates:
        record_fact(update)
    courses = {learner.pk: {C1, C2} for learner in history}
    with CaptureQueriesContext(connection) as one:
        evaluation.load_learners(evaluation.credentials_for_courses({history[0].pk: {C1, C2}}))
    with CaptureQueriesContext(connection) as many_:
        contexts = evaluation.load_learners(evaluation.credentials_for_courses(courses))
    assert len(many_.captured_queries) == len(one.captured_queries) <= 6
    assert set(contexts) == set(courses)
    assert set(contexts[history[0].pk].credentials) == {"passed-c1", "grade-c2", "stack"}
    assert evaluation.credentials_for_courses({}) == {} and evaluation.load_learners({}) == {}


def test_admin_lists_runs_read_only(admin_client, catalog, history):
    run("--course", C1)
    response = admin_client.get(reverse("admin:openedx_microcred_backfillrun_changelist"))
    assert response.status_code == 200 and C1 in response.content.decode()
    pk = BackfillRun.objects.get().pk
    detail = admin_client.get(reverse("admin:openedx_microcred_backfillrun_change", args=[pk]))
    assert detail.status_code == 200 and "passed-c1" in detail.content.decode()
    assert admin_client.get(reverse("admin:openedx_microcred_backfillrun_add")).status_code == 403
