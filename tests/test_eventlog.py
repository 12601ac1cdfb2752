"""The JSON Lines event log (eventlog.py), microcred_replay, and the demo data built with them."""

import io
import json
import re
import sys
from datetime import timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from opaque_keys.edx.keys import CourseKey
from openedx_events.event_bus.avro.deserializer import deserialize_bytes_to_event_data
from openedx_events.event_bus.avro.serializer import AvroSignalSerializer, serialize_event_data_to_bytes
from openedx_events.learning import signals
from openedx_events.learning.data import (
    CcxCourseData,
    CcxCoursePassingStatusData,
    CertificateData,
    CohortData,
    CourseEnrollmentData,
    CoursePassingStatusData,
)

from openedx_microcred import api, eventlog
from openedx_microcred.apps import EVENT_RECEIVERS
from openedx_microcred.models import Award, LearnerFact, RejectedEvent
from sandbox.demo import make_events

from . import events
from .conftest import C1, C2
from .eventlog_lines import ID, expected, grade_data, grade_line, line, metadata, passing_line, replay, summary

DEMO = "sandbox/demo"


class FakeUser:
    """A user without a database row: the pk, username, email and full name an event's UserData reads."""

    def __init__(self, pk, username="ada"):
        self.pk, self.username, self.email = pk, username, f"{username}@example.com"

    def get_full_name(self):
        return self.username.title()


def payload(signal_name, user):
    """Data for each event type our receivers listen to, as edx-platform builds it."""
    user_data = events.user_data(user)
    course = events.course(C1)
    certificate = CertificateData(user=user_data, course=course, mode="verified", grade="0.9", download_url="",
                                  name="Ada", current_status="downloadable", previous_status="")
    enrollment = CourseEnrollmentData(user=user_data, course=course, mode="verified", is_active=True,
                                      creation_date=events.T0)
    return {
        "COURSE_PASSING_STATUS_UPDATED": {"course_passing_status": CoursePassingStatusData(
            is_passing=True, course=course, user=user_data)},
        "CCX_COURSE_PASSING_STATUS_UPDATED": {"course_passing_status": CcxCoursePassingStatusData(
            is_passing=False, user=user_data, course=CcxCourseData(
                ccx_course_key=CourseKey.from_string("ccx-v1:DemoX+PY101+2026+ccx@3"),
                master_course_key=CourseKey.from_string(C1), display_name="PY101 for Team A"))},
        "PERSISTENT_GRADE_SUMMARY_CHANGED": {"grade": grade_data(user.pk, C1, 0.82)},
        "CERTIFICATE_CREATED": {"certificate": certificate},
        "CERTIFICATE_CHANGED": {"certificate": certificate},
        "CERTIFICATE_REVOKED": {"certificate": certificate},
        "COURSE_ENROLLMENT_CREATED": {"enrollment": enrollment},
        "COURSE_ENROLLMENT_CHANGED": {"enrollment": enrollment},
        "COURSE_UNENROLLMENT_COMPLETED": {"enrollment": enrollment},
    }[signal_name]


def ignored_line(user, n, minutes=0):
    """A real openedx-events event that none of our receivers listens to."""
    return line(signals.COHORT_MEMBERSHIP_CHANGED, n, minutes, cohort=CohortData(
        user=events.user_data(user), course=events.course(C1), name="Team A"))


def write(tmp_path, lines, name="events.jsonl"):
    path = tmp_path / name
    path.write_text("".join(text + "\n" for text in lines), encoding="utf-8")
    return str(path)


# --- eventlog: the format ------------------------------------------------------------------------


@pytest.mark.parametrize("signal_name", sorted({name for name, _ in EVENT_RECEIVERS}))
def test_every_received_event_type_round_trips(signal_name):
    signal = getattr(signals, signal_name)
    data = payload(signal_name, FakeUser(2))
    meta = metadata(signal, 1, minutes=7)
    text = eventlog.dump_event(signal, meta, **data)
    assert "\n" not in text
    event = json.loads(text)
    assert event["event_type"] == signal.event_type
    assert event["metadata"]["id"] == ID.format(1)
    assert event["metadata"]["time"] == "2026-09-01T12:07:00+00:00"
    # The data is exactly the event bus's own dict form.
    assert event["data"] == AvroSignalSerializer(signal).to_dict(data)

    parsed_signal, parsed_meta, parsed_data = eventlog.parse_line(text)
    assert parsed_signal is signal
    assert parsed_meta == meta
    assert parsed_data == data


def test_the_data_is_what_the_event_bus_puts_on_the_wire():
    signal = signals.PERSISTENT_GRADE_SUMMARY_CHANGED
    data = {"grade": grade_data(2, C2, 0.82)}
    event = eventlog.serialize_event(signal, metadata(signal, 1), **data)
    _, _, parsed = eventlog.parse_event(event)
    assert deserialize_bytes_to_event_data(serialize_event_data_to_bytes(parsed, signal), signal) == data


def test_a_grade_without_passed_timestamp_is_written_as_null():
    # edx-platform sends passed_timestamp=None for a learner who does not pass, which openedx-events'
    # serializer refuses (the field has no None default): the log keeps it as null.
    signal = signals.PERSISTENT_GRADE_SUMMARY_CHANGED
    data = {"grade": grade_data(2, C2, 0.4, passed=False)}
    event = eventlog.serialize_event(signal, metadata(signal, 1), **data)
    assert event["data"]["grade"]["passed_timestamp"] is None
    assert event["data"]["grade"]["percent_grade"] == 0.4
    assert eventlog.parse_event(event)[2] == data


def test_metadata_time_is_read_as_utc():
    text = passing_line(FakeUser(2), C1, 1)
    event = json.loads(text)
    event["metadata"]["time"] = "2026-09-01T14:00:00+02:00"
    _, meta, _ = eventlog.parse_event(event)
    assert meta.time == events.T0 and meta.time.tzinfo == timezone.utc
    event["metadata"]["time"] = "2026-09-01T12:00:00Z"
    assert eventlog.parse_event(event)[1].time == events.T0


@pytest.mark.parametrize("change, message", [
    (lambda e: "{not json", "invalid JSON"),
    (lambda e: json.dumps([e]), "an event is a JSON object"),
    (lambda e: json.dumps({**e, "event_type": "org.openedx.learning.nothing.v1"}), "unknown event type"),
    (lambda e: json.dumps({k: v for k, v in e.items() if k != "event_type"}), "missing field 'event_type'"),
    (lambda e: json.dumps({**e, "metadata": {"time": e["metadata"]["time"]}}), "missing field 'metadata.id'"),
    (lambda e: json.dumps({**e, "metadata": {**e["metadata"], "id": "42"}}), "is not a UUID"),
    (lambda e: json.dumps({**e, "metadata": {**e["metadata"], "time": "2026-09-01T12:00:00"}}), "no time zone"),
    (lambda e: json.dumps({**e, "metadata": {**e["metadata"], "time": "yesterday"}}), "not an ISO 8601"),
    (lambda e: json.dumps({**e, "data": {}}), "missing field 'data.course_passing_status'"),
    (lambda e: json.dumps({**e, "data": {**e["data"], "extra": 1}}), "unexpected field 'data.extra'"),
    (lambda e: json.dumps(e).replace(C1, "course-v1:DemoX+PY101"),
     "cannot deserialize the data: invalid key 'course-v1:DemoX+PY101'"),
    (lambda e: json.dumps({**e, "data": {"course_passing_status": {"is_passing": True}}}),
     "cannot deserialize the data: TypeError"),
])
def test_bad_lines_raise_a_clear_value_error(change, message):
    event = json.loads(passing_line(FakeUser(2), C1, 1))
    with pytest.raises(eventlog.InvalidEventLine, match=re.escape(message)) as raised:
        eventlog.parse_line(change(event))
    assert isinstance(raised.value, ValueError)


def test_what_is_known_of_a_bad_line_is_kept_on_the_error():
    text = passing_line(FakeUser(2), C1, 1).replace(C1, "not-a-key")
    with pytest.raises(eventlog.InvalidEventLine) as raised:
        eventlog.parse_line(text)
    assert raised.value.event_type == signals.COURSE_PASSING_STATUS_UPDATED.event_type
    assert raised.value.event_id == ID.format(1)
    assert raised.value.event_time == events.T0


def test_serialize_event_checks_its_arguments():
    signal = signals.COURSE_PASSING_STATUS_UPDATED
    with pytest.raises(ValueError, match="metadata is for"):
        eventlog.serialize_event(signal, metadata(signals.CERTIFICATE_CREATED, 1), course_passing_status=None)
    with pytest.raises(ValueError, match="takes data"):
        eventlog.serialize_event(signal, metadata(signal, 1), grade=None)


# --- eventlog.send -------------------------------------------------------------------------------


def test_send_returns_our_receivers_outcome(learner, on_commit):
    signal, meta, data = eventlog.parse_line(passing_line(learner, C1, 1))
    with on_commit():
        assert eventlog.send(signal, meta, data) == "applied"
    assert eventlog.send(signal, meta, data) == "duplicate"
    fact = LearnerFact.objects.get()
    assert fact.event_id == ID.format(1) and fact.event_time == events.T0  # the original id and time


def test_send_an_event_we_do_not_listen_to_is_ignored(learner):
    assert eventlog.send(*eventlog.parse_line(ignored_line(learner, 1))) == eventlog.IGNORED


# --- microcred_replay ----------------------------------------------------------------------------


def test_replay_counts_each_outcome(learner, make_credential, on_commit, tmp_path):
    make_credential("py-basics", {"type": "course_passed", "course": C1})
    make_credential("py-data", {"type": "course_grade", "course": C2, "min_percent": 80})
    first = passing_line(learner, C1, 1, minutes=10)
    path = write(tmp_path, [
        first,                                            # applied
        grade_line(learner.pk, C2, 0.85, 2, minutes=20),  # applied
        first,                                            # duplicate (redelivered)
        passing_line(learner, C1, 3, minutes=30),         # unchanged: newer, same value
        grade_line(learner.pk, C2, 0.60, 4, minutes=5),   # stale: older than what we hold
        grade_line(999, C2, 0.9, 5, minutes=40),          # rejected by the receiver
        ignored_line(learner, 6, minutes=50),             # ignored
        "",                                               # blank lines are skipped
    ])
    with on_commit():
        counts = replay(path)
    assert counts == expected(applied=2, unchanged=1, stale=1, duplicate=1, ignored=1, rejected=1)
    assert {a.credential_slug for a in api.get_learner_awards(learner)} == {"py-basics", "py-data"}
    assert LearnerFact.objects.get(kind="grade").value["percent"] == 0.85
    rejected = RejectedEvent.objects.get()
    assert rejected.reason == "unknown user id 999" and rejected.event_id == ID.format(5)

    # Replaying the same file again changes nothing.
    with on_commit():
        again = replay(path)
    # Every event of the file is in the learner's history now: each is a duplicate, older ones too.
    assert again == expected(duplicate=5, ignored=1, rejected=1)
    assert Award.objects.count() == 2


def test_replay_prints_rejections_grouped_by_reason(learner, tmp_path):
    path = write(tmp_path, [grade_line(998, C1, 0.5, 1), grade_line(998, C2, 0.5, 2), "{oops", "[1]"])
    out = io.StringIO()
    call_command("microcred_replay", path, "--no-progress", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert summary(text)["rejected"] == 4
    assert "2 × unknown user id 998" in text
    assert "1 × invalid JSON:" in text
    assert "1 × an event is a JSON object, not list" in text


def test_unreadable_lines_are_kept_as_rejected_events(learner, on_commit, tmp_path):
    good = passing_line(learner, C1, 1)
    unknown_type = json.dumps({**json.loads(good), "event_type": "org.openedx.learning.nothing.v1"})
    bad_key = grade_line(learner.pk, C2, 0.9, 3).replace(C2, "course-v1:DemoX+PY102")
    lines = ['{"event_type": "org.openedx.learning.course.passing.status.updated.v1", ', unknown_type, good, bad_key]
    with on_commit():
        counts = replay(write(tmp_path, lines))
    assert counts == expected(applied=1, rejected=3)

    kept = {r.payload["line_number"]: r for r in RejectedEvent.objects.all()}
    assert sorted(kept) == [1, 2, 4]
    assert kept[1].event_type == "unparseable" and kept[1].reason.startswith("invalid JSON")
    assert kept[1].payload["line"] == lines[0]
    assert kept[2].event_type == "org.openedx.learning.nothing.v1"
    assert kept[2].reason == "unknown event type 'org.openedx.learning.nothing.v1'"
    assert kept[4].event_type == signals.PERSISTENT_GRADE_SUMMARY_CHANGED.event_type
    assert kept[4].event_id == ID.format(3) and kept[4].event_time == events.T0
    assert "invalid key 'course-v1:DemoX+PY102'" in kept[4].reason
    # The kept line is the raw line: fixed, it can be replayed as it is.
    assert kept[4].payload["line"] == bad_key
    assert LearnerFact.objects.count() == 1


def test_strict_fails_after_processing_everything(learner, on_commit, tmp_path):
    path = write(tmp_path, ["not json", passing_line(learner, C1, 1)])
    out = io.StringIO()
    with on_commit(), pytest.raises(CommandError, match=r"1 event\(s\) rejected"):
        call_command("microcred_replay", path, "--strict", "--no-progress", stdout=out, stderr=io.StringIO())
    assert summary(out.getvalue()) == expected(applied=1, rejected=1)
    assert LearnerFact.objects.count() == 1 and RejectedEvent.objects.count() == 1


def test_strict_passes_without_rejects(learner, on_commit, tmp_path):
    with on_commit():
        call_command("microcred_replay", write(tmp_path, [passing_line(learner, C1, 1)]), "--strict",
                     "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert LearnerFact.objects.count() == 1


def test_missing_file_is_a_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("microcred_replay", str(tmp_path / "nope.jsonl"), stdout=io.StringIO(), stderr=io.StringIO())


def test_reads_stdin(learner, on_commit, monkeypatch):
    text = passing_line(learner, C1, 1) + "\n" + grade_line(learner.pk, C1, 0.7, 2, minutes=5) + "\n"
    with on_commit():
        assert replay("-", stdin=io.StringIO(text)) == expected(applied=2)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert replay("-") == expected(duplicate=2)


def test_progress_bar_goes_to_stderr(learner, on_commit, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with on_commit():
        call_command("microcred_replay", write(tmp_path, [passing_line(learner, C1, 1)]), stdout=out, stderr=err)
    assert "Replaying" in err.getvalue() and "1/1" in err.getvalue()
    assert "Replaying" not in out.getvalue() and summary(out.getvalue())["applied"] == 1


# --- The demo ------------------------------------------------------------------------------------


def test_demo_events_file_is_what_make_events_generates():
    assert make_events.main(["--check"]) == 0


def test_demo_event_times_increase_except_the_deliberate_ones():
    lines = open(f"{DEMO}/events.jsonl", encoding="utf-8").read().splitlines()
    parsed = [json.loads(text) for text in lines]
    assert len(set(lines)) == len(lines) - 1  # one exact duplicate line
    times = [event["metadata"]["time"] for event in parsed]
    assert times[0].startswith("2026-09-01")
    backwards = [i for i in range(1, len(times)) if times[i] < times[i - 1]]
    assert len(backwards) == 2  # the redelivered duplicate and the late, stale grade


@pytest.mark.django_db(transaction=True)
def test_demo_end_to_end():
    """What `make demo-data` does: demo_setup, microcred_load catalog.yaml, microcred_replay events.jsonl."""
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("demo_setup", **quiet)
    call_command("demo_setup", **quiet)  # idempotent
    call_command("microcred_load", f"{DEMO}/catalog.yaml", **quiet)
    counts = replay(f"{DEMO}/events.jsonl")
    assert counts["rejected"] == 2 and counts["duplicate"] == 1 and counts["stale"] == 1
    assert counts["unchanged"] == 1 and counts["ignored"] == 0
    assert counts["applied"] == counts["read"] - 5

    users = {u.username: u for u in get_user_model().objects.all()}
    assert {name: u.pk for name, u in users.items()} == {"admin": 1, "ada": 2, "grace": 3, "linus": 4,
                                                         "carol": 5, "olivia": 6}
    assert users["admin"].is_superuser and users["ada"].check_password("ada")

    def held(username):
        return {a.credential_slug for a in api.get_learner_awards(users[username])}

    assert {"python-foundations", "data-analysis", "ml-basics", "python-bronze", "python-silver",
            "python-gold"} <= held("ada")
    assert {"python-foundations", "web-foundations", "full-stack-starter"} <= held("grace")
    assert "data-analysis" not in held("grace") and "python-gold" not in held("grace")
    assert "python-foundations" in held("linus")  # passed after the regrade
    reasons = sorted(RejectedEvent.objects.values_list("reason", flat=True))
    assert reasons == ["cannot deserialize the data: invalid key 'course-v1:DemoX+WEB101' (CourseLocator)",
                       "unknown user id 999"]

    # Replaying the stream again changes nothing.
    again = replay(f"{DEMO}/events.jsonl")
    assert again["applied"] == 0 and again["unchanged"] == 0


def test_an_overlong_event_type_is_cut_to_fit(learner, tmp_path):
    event = {**json.loads(passing_line(learner, C1, 1)), "event_type": "x" * 400}
    assert replay(write(tmp_path, [json.dumps(event)])) == expected(rejected=1)
    assert RejectedEvent.objects.get().event_type == "x" * 255


def test_a_receiver_that_raises_is_counted_and_kept(learner, tmp_path):
    def record_cohort(**kwargs):
        raise RuntimeError("boom")

    record_cohort.__module__ = eventlog.HANDLERS_MODULE  # stands in for a receiver of ours that fails
    signals.COHORT_MEMBERSHIP_CHANGED.connect(record_cohort, dispatch_uid="test_replay.record_cohort")
    try:
        with pytest.raises(eventlog.ReceiverFailed, match="record_cohort raised RuntimeError: boom"):
            eventlog.send(*eventlog.parse_line(ignored_line(learner, 1)))
        assert replay(write(tmp_path, [ignored_line(learner, 1)])) == expected(rejected=1)
    finally:
        signals.COHORT_MEMBERSHIP_CHANGED.disconnect(dispatch_uid="test_replay.record_cohort")
    kept = RejectedEvent.objects.get()
    assert kept.event_type == signals.COHORT_MEMBERSHIP_CHANGED.event_type and "boom" in kept.reason
    assert kept.payload["line_number"] == 1
