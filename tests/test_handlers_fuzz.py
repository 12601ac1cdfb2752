"""
A fuzz pass over the receivers: every field of every event they listen to (and of edx-completion's
BlockCompletion) holds anything at all: wrong types, NaN, the infinities, huge or NUL-holding text,
None, nested dicts, far-future times. The receiver never raises and never logs a traceback, and
each event is applied, found stale, unchanged or a duplicate, or kept as exactly one RejectedEvent:
nothing is lost. Run it on MariaDB and PostgreSQL too (SANDBOX_DB=mysql / postgresql).
"""

import logging
import math
from datetime import datetime, timezone
from uuid import UUID

import attr
import pytest
from completion.models import BlockCompletion
from django.db import transaction
from django.db.models.signals import post_save
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from opaque_keys.edx.keys import CourseKey, UsageKey
from openedx_events.data import EventsMetadata
from openedx_events.learning import signals
from openedx_events.learning.data import (
    CcxCourseData,
    CcxCoursePassingStatusData,
    CertificateData,
    CourseEnrollmentData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
)

from openedx_microcred.apps import EVENT_RECEIVERS
from openedx_microcred.facts import APPLIED, DUPLICATE, REJECTED, STALE, UNCHANGED
from openedx_microcred.models import LearnerFact, RejectedEvent

from . import events
from .conftest import C1

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

OUTCOMES = {APPLIED, UNCHANGED, STALE, DUPLICATE, REJECTED}
# One id used now and then, so the same event id meets the receivers more than once.
REPEATED_ID = UUID(int=7)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2 ** 63 - 2, max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 0.5, -0.0, 1e-300]),
    st.text(max_size=30), st.sampled_from(["false", "true", "0.9", "", "\x00", "audit", "downloadable"]),
    st.integers(min_value=200, max_value=300_000).map(lambda n: "é" * n), st.binary(max_size=20),
    st.datetimes(timezones=st.sampled_from([None, timezone.utc])), st.uuids(),
    st.sampled_from([CourseKey.from_string(C1), "course-v1:DemoX+PY101", "library-v1:DemoX+Lib"]),
)
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=4)),
    max_leaves=12)


def paths(template, prefix=()):
    """The field paths of an attrs instance, nested ones too: ("user",), ("user", "id") ..."""
    found = []
    for field in attr.fields(type(template)):
        value = getattr(template, field.name)
        found.append(prefix + (field.name,))
        if attr.has(type(value)):
            found += paths(value, prefix + (field.name,))
    return found


def replaced(template, path, value):
    """``template`` with the field at ``path`` (nested: ("user", "id")) holding ``value``."""
    if len(path) == 1:
        return attr.evolve(template, **{path[0]: value})
    inner = getattr(template, path[0])
    if not attr.has(type(inner)):  # replaced whole already
        return template
    return attr.evolve(template, **{path[0]: replaced(inner, path[1:], value)})


@st.composite
def mutated(draw, template):
    """``template`` with a few of its fields (at any depth) holding anything at all."""
    data = template
    for path in draw(st.lists(st.sampled_from(paths(template)), max_size=3, unique=True)):
        data = replaced(data, path, draw(anything))
    return data


def templates(user):
    """Valid data of each event our receivers listen to, for ``user``."""
    user_data = UserData(id=user.pk, is_active=True, pii=None)
    course = events.course(C1)
    passing = CoursePassingStatusData(is_passing=True, course=course, user=user_data)
    ccx = CcxCoursePassingStatusData(is_passing=True, user=user_data, course=CcxCourseData(
        ccx_course_key=CourseKey.from_string("ccx-v1:DemoX+PY101+2026+ccx@3"), master_course_key=course.course_key))
    grade = PersistentCourseGradeData(
        user_id=user.pk, course=course, course_edited_timestamp=events.T0, course_version="v1",
        grading_policy_hash="hash", percent_grade=0.8, letter_grade="Pass", passed_timestamp=events.T0)
    certificate = CertificateData(user=user_data, course=course, mode="verified", grade="0.9", download_url="",
                                  name="", current_status="downloadable")
    enrollment = CourseEnrollmentData(user=user_data, course=course, mode="audit", is_active=True,
                                      creation_date=events.T0)
    return {
        "COURSE_PASSING_STATUS_UPDATED": passing, "CCX_COURSE_PASSING_STATUS_UPDATED": ccx,
        "PERSISTENT_GRADE_SUMMARY_CHANGED": grade,
        "CERTIFICATE_CREATED": certificate, "CERTIFICATE_CHANGED": certificate, "CERTIFICATE_REVOKED": certificate,
        "COURSE_ENROLLMENT_CREATED": enrollment, "COURSE_ENROLLMENT_CHANGED": enrollment,
        "COURSE_UNENROLLMENT_COMPLETED": enrollment,
    }


def event_times():
    return st.one_of(st.just(events.T0), st.datetimes(timezones=st.just(timezone.utc)),
                     st.just(datetime(2999, 1, 1, tzinfo=timezone.utc)))


class Tracebacks(logging.Handler):
    """Log records that carry a traceback (log.exception), from any logger."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        if record.exc_info and record.levelno >= logging.ERROR:
            self.records.append(record)


@pytest.fixture
def tracebacks():
    """The log records with a traceback logged during the test, from any logger."""
    handler = Tracebacks()
    logging.getLogger().addHandler(handler)
    yield handler.records
    logging.getLogger().removeHandler(handler)


def check_kept(outcome, event_id, before, tracebacks):
    """The outcome is one of ours, a rejection is kept once, an applied event is the fact held."""
    assert not isinstance(outcome, BaseException), outcome
    assert outcome in OUTCOMES, outcome
    assert tracebacks == []
    if outcome == REJECTED:
        assert RejectedEvent.objects.count() == before + 1
        kept = RejectedEvent.objects.order_by("-pk").first()
        assert kept.event_id == event_id[:100] and kept.reason and kept.payload is not None
        return None
    assert RejectedEvent.objects.count() == before
    return LearnerFact.objects.filter(event_id=event_id).first()


def is_text(value):
    return isinstance(value, str) and len(value) <= 255


def check_taken_as_sent(fact, data):
    """A fact holds the event's values as they were sent, of the types declared: nothing coerced."""
    value = fact.value
    if fact.kind == "passing":
        assert value == {"passed": data.is_passing} and isinstance(data.is_passing, bool)
        assert isinstance(data.user.id, int) and not isinstance(data.user.id, bool)
    elif fact.kind == "grade":
        percent = data.percent_grade
        assert type(percent) in (int, float) and math.isfinite(percent) and 0 <= percent <= 1
        assert value == {"percent": percent, "letter": data.letter_grade or "",
                         "passed": data.passed_timestamp is not None}
        assert is_text(value["letter"]) and isinstance(data.passed_timestamp, (datetime, type(None)))
    elif fact.kind == "certificate":
        assert is_text(data.current_status) and is_text(value["mode"]) and value["mode"] == (data.mode or "")
    elif fact.kind == "enrollment":
        assert isinstance(data.is_active, bool) and is_text(value["mode"]) and value["mode"] == (data.mode or "")
    assert isinstance(fact.event_time, datetime)


@pytest.mark.parametrize("signal_name", sorted({name for name, _ in EVENT_RECEIVERS}))
def test_no_event_field_value_makes_a_receiver_raise_or_lose_the_event(learner, tracebacks, signal_name):
    signal = getattr(signals, signal_name)
    [(data_name, _)] = signal.init_data.items()
    template = templates(learner)[signal_name]

    @FUZZ
    @given(data=mutated(template), time=event_times(), event_id=st.one_of(st.uuids(), st.just(REPEATED_ID)))
    def fuzz(data, time, event_id):
        if not isinstance(data, type(template)):
            return  # openedx-events itself refuses data of another class (SenderValidationError)
        metadata = EventsMetadata(event_type=signal.event_type, id=event_id, time=time)
        with transaction.atomic():
            before = RejectedEvent.objects.count()
            responses = signal.send_event_with_custom_metadata(metadata, **{data_name: data})
            [outcome] = [r for fn, r in responses if getattr(fn, "__module__", "") == "openedx_microcred.handlers"]
            event(str(outcome))
            fact = check_kept(outcome, str(event_id), before, tracebacks)
            if outcome == APPLIED:
                check_taken_as_sent(fact, data)
            # The platform or the event bus delivers it again: a duplicate, or rejected (and kept) again.
            before = RejectedEvent.objects.count()
            responses = signal.send_event_with_custom_metadata(metadata, **{data_name: data})
            [again] = [r for fn, r in responses if getattr(fn, "__module__", "") == "openedx_microcred.handlers"]
            assert again == (REJECTED if outcome == REJECTED else DUPLICATE)
            check_kept(again, str(event_id), before, tracebacks)
            transaction.set_rollback(True)

    fuzz()  # pylint: disable=no-value-for-parameter  (hypothesis's @given supplies the arguments)


def test_no_block_completion_makes_the_completion_receiver_raise_or_lose_it(learner, tracebacks):
    block = UsageKey.from_string("block-v1:DemoX+PY101+2026+type@problem+block@p1")

    @FUZZ
    @given(user_id=st.one_of(st.just(learner.pk), anything), context_key=st.one_of(st.just(block.course_key), anything),
           completion=st.one_of(st.just(1.0), anything),
           modified=st.one_of(event_times(), st.datetimes()), pk=st.one_of(st.integers(1, 10 ** 6), anything))
    def fuzz(user_id, context_key, completion, modified, pk):
        instance = BlockCompletion(block_key=block, block_type="problem")
        instance.__dict__.update(user_id=user_id, context_key=context_key, completion=completion, modified=modified,
                                 id=pk)
        with transaction.atomic():
            before = RejectedEvent.objects.count()
            [(_, outcome)] = [(fn, r) for fn, r in post_save.send_robust(BlockCompletion, instance=instance,
                                                                         created=False)
                              if getattr(fn, "__module__", "") == "openedx_microcred.handlers"]
            event(str(outcome))
            if outcome is None:  # a learning context that is not a course: nothing to record, nothing lost
                assert RejectedEvent.objects.count() == before
            else:
                event_id = RejectedEvent.objects.order_by("-pk").values_list("event_id", flat=True).first() \
                    if outcome == REJECTED else LearnerFact.objects.get(kind="completion").event_id
                fact = check_kept(outcome, event_id, before, tracebacks)
                if outcome == APPLIED:
                    assert isinstance(user_id, int) and fact.event_time == modified
            transaction.set_rollback(True)

    fuzz()  # pylint: disable=no-value-for-parameter  (hypothesis's @given supplies the arguments)
