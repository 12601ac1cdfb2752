"""Learner facts from the platform's real signals: every event type, ordering, duplicates, bad payloads."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from openedx_events.learning import signals
from openedx_events.learning.data import CourseData, CoursePassingStatusData

from openedx_microcred import facts
from openedx_microcred.apps import EVENT_RECEIVERS
from openedx_microcred.models import LearnerFact, RejectedEvent
from openedx_microcred.tasks import evaluate_learner_task

from . import events
from .conftest import C1, C2

CCX = "ccx-v1:DemoX+PY101+2026+ccx@3"


def fact(user, course, kind):
    return LearnerFact.objects.get(user=user, course_key=course, kind=kind)


def test_receivers_are_connected_through_the_plugin_config():
    """The host connected them with edx-django-utils' connect_plugin_receivers, by our dispatch uids."""
    for signal_name, func in EVENT_RECEIVERS:
        uids = {key[0] for key, *_ in getattr(signals, signal_name).receivers}
        assert f"openedx_microcred.{func}.{signal_name}" in uids


@pytest.mark.parametrize("send, kind, value", [
    (lambda u: events.passing(u, C1), "passing", {"passed": True}),
    (lambda u: events.passing(u, C1, is_passing=False), "passing", {"passed": False}),
    (lambda u: events.grade(u.pk, C1, 0.75), "grade", {"percent": 0.75, "letter": "Pass", "passed": True}),
    (lambda u: events.grade(u.pk, C1, 0.25), "grade", {"percent": 0.25, "letter": "", "passed": False}),
    (lambda u: events.certificate(u, C1), "certificate", {"status": "downloadable", "mode": "verified"}),
    (lambda u: events.certificate(u, C1, status="notpassing", signal=signals.CERTIFICATE_CHANGED), "certificate",
     {"status": "notpassing", "mode": "verified"}),
    (lambda u: events.certificate(u, C1, signal=signals.CERTIFICATE_REVOKED), "certificate",
     {"status": "revoked", "mode": "verified"}),
    (lambda u: events.enrollment(u, C1, mode="verified"), "enrollment", {"mode": "verified", "is_active": True}),
    (lambda u: events.enrollment(u, C1, mode="audit", signal=signals.COURSE_ENROLLMENT_CHANGED), "enrollment",
     {"mode": "audit", "is_active": True}),
    (lambda u: events.enrollment(u, C1, signal=signals.COURSE_UNENROLLMENT_COMPLETED), "enrollment",
     {"mode": "audit", "is_active": False}),
])
def test_each_event_type_records_its_fact(learner, on_commit, send, kind, value):
    with on_commit():
        assert send(learner) == "applied"
    stored = fact(learner, C1, kind)
    assert stored.value == value
    assert stored.event_time == events.T0
    assert stored.event_type.startswith("org.openedx.learning.")


def test_ccx_passing_status_is_kept_under_the_ccx_key(learner, on_commit):
    with on_commit():
        assert events.ccx_passing(learner, CCX, C1) == "applied"
    assert fact(learner, CCX, "passing").value == {"passed": True}


def test_event_id_and_time_come_from_the_metadata(learner, on_commit):
    event_id = uuid.uuid4()
    with on_commit():
        events.passing(learner, C1, time=events.at(7), event_id=event_id)
    stored = fact(learner, C1, "passing")
    assert stored.event_id == str(event_id) and stored.event_time == events.at(7)


def test_older_event_never_overwrites_a_newer_fact(learner, on_commit):
    with on_commit():
        assert events.grade(learner.pk, C1, 0.9, time=events.at(10)) == "applied"
        assert events.grade(learner.pk, C1, 0.2, time=events.at(5)) == "stale"
    assert fact(learner, C1, "grade").value["percent"] == 0.9
    with on_commit():
        assert events.grade(learner.pk, C1, 0.4, time=events.at(11)) == "applied"
    assert fact(learner, C1, "grade").value["percent"] == 0.4


def test_same_event_twice_changes_nothing(learner, on_commit, django_assert_num_queries):
    event_id = uuid.uuid4()
    with on_commit():
        assert events.passing(learner, C1, time=events.at(1), event_id=event_id) == "applied"
    before = fact(learner, C1, "passing")
    with on_commit() as callbacks:
        assert events.passing(learner, C1, is_passing=False, time=events.at(1), event_id=event_id) == "duplicate"
    assert callbacks == []  # nothing re-evaluated
    after = fact(learner, C1, "passing")
    assert (after.value, after.event_id, after.modified) == (before.value, before.event_id, before.modified)


def test_equal_times_are_ordered_by_event_id(learner, on_commit):
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    with on_commit():
        assert events.passing(learner, C1, time=events.at(1), event_id=high) == "applied"
        assert events.passing(learner, C1, is_passing=False, time=events.at(1), event_id=low) == "stale"
    assert fact(learner, C1, "passing").value == {"passed": True}


def test_newer_event_with_the_same_value_is_evaluated_for_its_time(learner, on_commit):
    # Its time counts: "course passed" reads the newer of the passing status and the grade.
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
    with on_commit() as callbacks:
        assert events.passing(learner, C1, time=events.at(2)) == "unchanged"
    assert len(callbacks) == 1
    assert fact(learner, C1, "passing").event_time == events.at(2)


def test_facts_are_per_course_and_kind(learner, on_commit):
    with on_commit():
        events.passing(learner, C1)
        events.passing(learner, C2)
        events.grade(learner.pk, C1, 0.6)
    assert LearnerFact.objects.filter(user=learner).count() == 3


def test_unknown_user_is_rejected_and_kept(db, on_commit):
    ghost = get_user_model()(pk=999, username="ghost", email="g@example.com")
    with on_commit():
        assert events.passing(ghost, C1) == "rejected"
        assert events.grade(999, C2, 0.5) == "rejected"
    assert LearnerFact.objects.count() == 0
    rejected = list(RejectedEvent.objects.order_by("pk"))
    assert [r.reason for r in rejected] == ["unknown user id 999"] * 2
    assert rejected[0].event_type == signals.COURSE_PASSING_STATUS_UPDATED.event_type
    # Kept whole (metadata and data in the event bus's own form), so it can be sent again.
    assert rejected[0].payload["data"]["course_passing_status"]["user"]["id"] == 999
    assert rejected[0].payload["metadata"]["id"] == rejected[0].event_id
    assert rejected[1].payload["data"]["grade"]["percent_grade"] == 0.5


def test_missing_field_is_rejected_with_the_field_name(learner, on_commit):
    with on_commit():
        assert events.grade(learner.pk, C1, None, passed=False) == "rejected"
    assert RejectedEvent.objects.get().reason == "missing field percent_grade"


def test_out_of_range_grade_is_rejected(learner, on_commit):
    with on_commit():
        assert events.grade(learner.pk, C1, 7.5) == "rejected"
    assert "not between 0 and 1" in RejectedEvent.objects.get().reason


def test_bad_course_key_is_rejected(learner, on_commit):
    # A payload the platform's serializer let through with a string where a CourseKey belongs.
    bad = CoursePassingStatusData(is_passing=True, course=CourseData(course_key="not a key"),
                                  user=events.user_data(learner))
    with on_commit():
        assert events.send(signals.COURSE_PASSING_STATUS_UPDATED, course_passing_status=bad) == "rejected"
    assert RejectedEvent.objects.get().reason == "invalid course key 'not a key'"
    assert LearnerFact.objects.count() == 0


def test_a_receiver_error_never_reaches_the_sender(learner, on_commit, monkeypatch, settings):
    """Even with DEBUG (where openedx-events does not use send_robust) nothing is raised."""
    settings.DEBUG = True

    def broken(update):
        raise RuntimeError("database exploded")

    monkeypatch.setattr("openedx_microcred.handlers.record_fact", broken)
    with on_commit():
        assert events.passing(learner, C1) == "rejected"
    assert RejectedEvent.objects.get().reason == "RuntimeError: database exploded"
    assert facts.REJECTED == "rejected"


def test_a_broker_failure_is_logged_not_raised(learner, on_commit, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(evaluate_learner_task, "apply_async", down)
    with on_commit():
        assert events.passing(learner, C1) == "applied"
    assert fact(learner, C1, "passing").value == {"passed": True}
    assert "could not queue the evaluation" in caplog.text


def test_evaluation_is_queued_only_after_commit(learner, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda args, **kw: queued.append((args, kw)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events.passing(learner, C1)
    assert queued == [] and len(callbacks) == 1
    callbacks[0]()
    assert queued == [((learner.pk, C1), {})]


def test_queue_setting_routes_the_task(learner, on_commit, monkeypatch, settings):
    settings.MICROCRED_CELERY_QUEUE = "edx.lms.core.high"
    queued = []
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda args, **kw: queued.append(kw))
    with on_commit():
        events.passing(learner, C1)
    assert queued == [{"queue": "edx.lms.core.high"}]
