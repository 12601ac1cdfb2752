"""
Events whose fields hold the wrong types, non-finite numbers or far-future times: rejected with the
reason, kept (whatever the payload holds), never applied.

They come through the real signals, the event bus's Avro encoding and microcred_replay, the ways a
misbehaving platform or a hand-edited event log would send them. Run this file on MariaDB and
PostgreSQL too (SANDBOX_DB=mysql / postgresql): their JSON columns refuse what SQLite lets through.
"""

import io
import json
import math
from datetime import timedelta
from uuid import uuid4

import pytest
from completion.models import BlockCompletion
from django.core.management import call_command
from django.db import DataError, connection
from django.db.models.signals import post_save
from django.utils import timezone
from opaque_keys.edx.keys import UsageKey
from openedx_events.data import EventsMetadata
from openedx_events.event_bus.avro.deserializer import deserialize_bytes_to_event_data
from openedx_events.event_bus.avro.serializer import serialize_event_data_to_bytes
from openedx_events.learning import signals
from openedx_events.learning.data import (
    CertificateData,
    CourseEnrollmentData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
)

from openedx_microcred import eventlog
from openedx_microcred.facts import reject_event
from openedx_microcred.models import Award, LearnerFact, RejectedEvent

from . import events
from .conftest import C1

PASSING = signals.COURSE_PASSING_STATUS_UPDATED
GRADE = signals.PERSISTENT_GRADE_SUMMARY_CHANGED


def passing_data(user, is_passing):
    return CoursePassingStatusData(is_passing=is_passing, course=events.course(C1), user=events.user_data(user))


def grade_data(user_id, percent, letter="Pass", passed_timestamp=events.T0):
    return PersistentCourseGradeData(
        user_id=user_id, course=events.course(C1), course_edited_timestamp=events.T0, course_version="v1",
        grading_policy_hash="hash", percent_grade=percent, letter_grade=letter, passed_timestamp=passed_timestamp)


def certificate_data(user, status="downloadable", mode="verified"):
    return CertificateData(user=events.user_data(user), course=events.course(C1), mode=mode, grade="0.9",
                           download_url="", name="", current_status=status)


def enrollment_data(user, is_active=True, mode="verified"):
    return CourseEnrollmentData(user=events.user_data(user), course=events.course(C1), mode=mode,
                                is_active=is_active, creation_date=events.T0)


def only_rejection():
    """The one event kept as rejected; nothing became a fact or an award."""
    assert LearnerFact.objects.count() == 0
    assert Award.objects.count() == 0
    return RejectedEvent.objects.get()


@pytest.fixture
def passed_c1(make_credential):
    return make_credential("py-basics", {"type": "course_passed", "course": C1})


# --- Wrong types are rejected, not coerced ------------------------------------------------------


def test_a_passing_status_of_the_string_false_is_rejected_and_awards_nothing(learner, passed_c1, on_commit):
    with on_commit():
        assert events.send(PASSING, course_passing_status=passing_data(learner, "false")) == "rejected"
    rejected = only_rejection()
    assert rejected.reason == "is_passing 'false' is not true or false"
    assert rejected.event_type == PASSING.event_type


@pytest.mark.parametrize("value", [1, 0, None, "true"])
def test_a_passing_status_that_is_not_a_bool_is_rejected(learner, passed_c1, on_commit, value):
    with on_commit():
        assert events.send(PASSING, course_passing_status=passing_data(learner, value)) == "rejected"
    assert "is_passing" in only_rejection().reason


def test_a_grade_of_true_is_rejected_not_read_as_100_percent(learner, make_credential, on_commit):
    make_credential("py-grade", {"type": "course_grade", "course": C1, "min_percent": 80})
    with on_commit():
        assert events.send(GRADE, grade=grade_data(learner.pk, True)) == "rejected"
    assert only_rejection().reason == "percent_grade True is not a number"


@pytest.mark.parametrize("percent, reason", [
    ("0.9", "percent_grade '0.9' is not a number"),
    ([0.9], "percent_grade [0.9] is not a number"),
    (math.inf, "percent_grade inf is not a finite number"),
    (1.5, "percent_grade 1.5 is not between 0 and 1"),
])
def test_a_grade_that_is_not_a_finite_number_in_range_is_rejected(learner, on_commit, percent, reason):
    with on_commit():
        assert events.send(GRADE, grade=grade_data(learner.pk, percent)) == "rejected"
    assert only_rejection().reason == reason


def test_a_passed_timestamp_that_is_not_a_time_is_rejected(learner, on_commit):
    """The string "false" there would otherwise read as passed."""
    with on_commit():
        assert events.send(GRADE, grade=grade_data(learner.pk, 0.3, passed_timestamp="false")) == "rejected"
    assert only_rejection().reason == "passed_timestamp 'false' is not a time"


def test_a_letter_grade_that_is_not_short_text_is_rejected(learner, on_commit):
    with on_commit():
        assert events.send(GRADE, grade=grade_data(learner.pk, 0.9, letter="A" * 100000)) == "rejected"
        assert events.send(GRADE, grade=grade_data(learner.pk, 0.9, letter={"grade": "A"})) == "rejected"
    reasons = sorted(r.reason for r in RejectedEvent.objects.all())
    assert reasons[0].startswith("letter_grade 'AAAA") and reasons[0].endswith("is longer than 255 characters")
    assert len(reasons[0]) < 200  # the value is shown cut short
    assert reasons[1] == "letter_grade {'grade': 'A'} is not text"
    assert LearnerFact.objects.count() == 0


def test_an_enrollment_whose_is_active_is_not_a_bool_is_rejected(learner, on_commit):
    with on_commit():
        assert events.send(signals.COURSE_ENROLLMENT_CREATED, enrollment=enrollment_data(learner, "no")) == "rejected"
    assert only_rejection().reason == "is_active 'no' is not true or false"


@pytest.mark.parametrize("status, reason", [
    (None, "missing field current_status"),
    (True, "current_status True is not text"),
    ("x" * 300, None),
])
def test_a_certificate_status_that_is_not_short_text_is_rejected(learner, on_commit, status, reason):
    with on_commit():
        assert events.send(signals.CERTIFICATE_CREATED, certificate=certificate_data(learner, status)) == "rejected"
    kept = only_rejection().reason
    assert kept == reason if reason else kept.endswith("is longer than 255 characters")


@pytest.mark.parametrize("user_id", [2 ** 64, -1, 1.0, "1"])
def test_a_user_id_that_is_not_a_positive_database_integer_is_rejected(db, on_commit, user_id):
    with on_commit():
        assert events.send(GRADE, grade=grade_data(user_id, 0.5)) == "rejected"
    assert only_rejection().reason == f"invalid user id {user_id!r}"


def test_a_wrong_type_through_microcred_replay_is_rejected(learner, passed_c1, on_commit, tmp_path):
    """A hand-edited event log: JSON strings where the event declares booleans and numbers."""
    line = json.loads(eventlog.dump_event(PASSING, EventsMetadata(event_type=PASSING.event_type, id=uuid4(),
                                                                  time=events.T0),
                                          course_passing_status=passing_data(learner, True)))
    line["data"]["course_passing_status"]["is_passing"] = "false"
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with on_commit():
        call_command("microcred_replay", str(path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert only_rejection().reason == "is_passing 'false' is not true or false"


# --- Rejected events are always kept --------------------------------------------------------------


def test_a_nan_grade_is_rejected_and_kept_with_its_payload(learner, on_commit):
    """SQLite's and MariaDB's JSON_VALID check refused the NaN Python's json writes: the event was lost."""
    with on_commit():
        assert events.send(GRADE, grade=grade_data(learner.pk, math.nan)) == "rejected"
    rejected = only_rejection()
    assert rejected.reason == "percent_grade nan is not a finite number"
    assert rejected.payload["data"]["grade"]["percent_grade"] == "NaN"
    assert rejected.payload["data"]["grade"]["user_id"] == learner.pk


def test_a_nan_grade_from_the_event_bus_is_rejected_and_kept(learner, on_commit):
    """Avro doubles carry NaN and Infinity: the consumer deserializes them and sends the signal."""
    wire = serialize_event_data_to_bytes({"grade": grade_data(learner.pk, -math.inf)}, GRADE)
    data = deserialize_bytes_to_event_data(wire, GRADE)
    metadata = EventsMetadata(event_type=GRADE.event_type, id=uuid4(), time=events.T0)
    with on_commit():
        responses = GRADE.send_event_with_custom_metadata(metadata, **data)
    assert [r for fn, r in responses if fn.__module__ == "openedx_microcred.handlers"] == ["rejected"]
    rejected = only_rejection()
    assert rejected.reason == "percent_grade -inf is not a finite number"
    assert rejected.payload["data"]["grade"]["percent_grade"] == "-Infinity"
    assert rejected.event_id == str(metadata.id)


def test_a_payload_that_json_cannot_write_is_kept_as_text(db):
    payload = {"when": timezone.now(), "what": object(), "nested": {"deep": [math.nan, {1: math.inf}]},
               "bad text": "nul\x00 and a lone surrogate \ud800"}
    kept = reject_event("some.event.v1", "why", event_id="e1", payload=payload)
    kept.refresh_from_db()
    assert kept.payload["nested"] == {"deep": ["NaN", {"1": "Infinity"}]}
    assert kept.payload["what"].startswith("<object object at")
    assert "\x00" not in kept.payload["bad text"] and kept.payload["bad text"].startswith("nul")
    assert kept.payload["when"] == payload["when"].isoformat()


def test_a_payload_too_big_to_keep_whole_is_kept_cut_short_with_a_note(db):
    kept = reject_event("some.event.v1", "why", event_id="e1", payload={"blob": "x" * 3_000_000})
    kept.refresh_from_db()
    assert set(kept.payload) == {"truncated", "note"}
    assert kept.payload["truncated"].startswith('{"blob": "xxx')
    assert len(kept.payload["truncated"]) < 200_000
    assert "3000012 characters" in kept.payload["note"]


def test_a_payload_nested_too_deep_for_json_is_kept(db):
    payload = current = {}
    for _ in range(5000):
        current["a"] = current = {}
    kept = reject_event("some.event.v1", "why", event_id="e1", payload=payload)
    kept.refresh_from_db()
    assert kept.payload is not None and RejectedEvent.objects.count() == 1


def test_an_overlong_event_id_and_type_are_cut_to_fit_not_lost(db):
    kept = reject_event("t" * 1000, "why", event_id="i" * 1000, payload={})
    kept.refresh_from_db()
    assert (len(kept.event_type), len(kept.event_id)) == (255, 100)


def test_when_the_row_cannot_be_stored_a_minimal_row_keeps_the_event(db, caplog):
    """Whatever defeats the payload's storage (here: a database that refuses it), the event is not lost."""
    def refuse_the_payload(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and any("NaN" in str(param) for param in params or ()):
            raise DataError("the payload is refused")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_the_payload):
        kept = reject_event("some.event.v1", "why", event_id="e1", event_time=events.T0,
                            payload={"percent_grade": math.nan})
    kept.refresh_from_db()
    assert (kept.event_type, kept.event_id, kept.event_time, kept.reason) == ("some.event.v1", "e1", events.T0, "why")
    assert kept.payload == {"unstorable": "{'percent_grade': nan}"}
    assert "kept without its payload" in caplog.text


# --- Clock skew -----------------------------------------------------------------------------------


FAR_FUTURE = events.T0.replace(year=2999)


def test_an_event_dated_year_2999_is_rejected_and_does_not_freeze_the_fact(learner, passed_c1, on_commit):
    with on_commit():
        assert events.passing(learner, C1, is_passing=False, time=FAR_FUTURE) == "rejected"
    rejected = only_rejection()
    assert rejected.event_time == FAR_FUTURE
    assert "2999-09-01T12:00:00+00:00" in rejected.reason
    assert "more than 300 seconds ahead" in rejected.reason and "MICROCRED_MAX_EVENT_CLOCK_SKEW" in rejected.reason
    # The next real event still applies.
    with on_commit():
        assert events.passing(learner, C1) == "applied"
    assert LearnerFact.objects.get().value == {"passed": True}
    assert Award.objects.filter(credential=passed_c1).count() == 1


def test_an_event_a_little_ahead_of_our_clock_is_applied(learner, on_commit):
    with on_commit():
        assert events.passing(learner, C1, time=timezone.now() + timedelta(seconds=200)) == "applied"


def test_the_clock_skew_is_a_setting(learner, on_commit, settings):
    settings.MICROCRED_MAX_EVENT_CLOCK_SKEW = 10
    with on_commit():
        assert events.passing(learner, C1, time=timezone.now() + timedelta(seconds=60)) == "rejected"
    assert "more than 10 seconds ahead" in only_rejection().reason


def test_a_far_future_event_through_microcred_replay_is_rejected(learner, on_commit, tmp_path):
    line = eventlog.dump_event(PASSING, EventsMetadata(event_type=PASSING.event_type, id=uuid4(), time=FAR_FUTURE),
                               course_passing_status=passing_data(learner, True))
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with on_commit():
        call_command("microcred_replay", str(path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert "2999-09-01T12:00:00+00:00" in only_rejection().reason


def completion_saved(learner, modified):
    """BlockCompletion's post_save as edx-completion sends it, for a row changed at ``modified``."""
    block = UsageKey.from_string("block-v1:DemoX+PY101+2026+type@problem+block@p1")
    completion = BlockCompletion.objects.create(user=learner, context_key=block.course_key, block_key=block,
                                                block_type="problem", completion=1.0)
    LearnerFact.objects.all().delete()
    completion.modified = modified
    post_save.send(BlockCompletion, instance=completion, created=False)


def test_a_far_future_block_completion_is_rejected(learner, on_commit):
    """From a host whose clock runs years ahead."""
    with on_commit():
        completion_saved(learner, FAR_FUTURE)
    assert "2999-09-01T12:00:00+00:00" in only_rejection().reason


def test_an_event_time_without_a_time_zone_is_rejected(learner, on_commit):
    """EventsMetadata insists on UTC; a BlockCompletion of a host without USE_TZ has naive times."""
    with on_commit():
        completion_saved(learner, events.T0.replace(tzinfo=None))
    rejected = only_rejection()
    assert rejected.reason == "event time 2026-09-01T12:00:00 has no time zone"
    assert rejected.event_time is None
