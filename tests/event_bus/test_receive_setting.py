"""
MICROCRED_EVENT_BUS_TOPICS: which process records an event when the LMS produces it to the event bus.

In process, without Redis: the host has no event bus producer connected here, so these tests see
only what the plugin's receivers decide (docs/event-bus.md).
"""

import pytest
from openedx_events.learning import signals
from openedx_events.learning.data import CoursePassingStatusData

from openedx_microcred.handlers import LEFT_TO_EVENT_BUS
from openedx_microcred.models import LearnerFact

from .. import events
from ..conftest import C1

PASSING = signals.COURSE_PASSING_STATUS_UPDATED


@pytest.fixture
def event_bus(settings):
    """The host's producer settings: passing statuses produced to the topic the plugin consumes."""
    settings.EVENT_BUS_PRODUCER = "edx_event_bus_redis.create_producer"
    settings.EVENT_BUS_PRODUCER_CONFIG = {
        PASSING.event_type: {"learning-course-passing-status": {
            "event_key_field": "course_passing_status.course.course_key", "enabled": True}},
    }
    settings.MICROCRED_EVENT_BUS_TOPICS = ["learning-course-passing-status"]
    return settings


def send_in_lms(user, course_key=C1):
    """COURSE_PASSING_STATUS_UPDATED as the LMS sends it (send_event: not from the event bus)."""
    data = CoursePassingStatusData(is_passing=True, course=events.course(course_key), user=events.user_data(user))
    responses = PASSING.send_event(course_passing_status=data)
    [ours] = [result for receiver, result in responses if receiver.__module__ == "openedx_microcred.handlers"]
    return ours


def test_by_default_the_process_that_sends_the_event_records_it(learner, on_commit, settings):
    assert settings.MICROCRED_EVENT_BUS_TOPICS == []
    with on_commit():
        assert send_in_lms(learner) == "applied"
    assert LearnerFact.objects.filter(user=learner).count() == 1


def test_an_event_produced_to_a_microcred_topic_is_left_to_the_consumer(learner, event_bus):
    assert send_in_lms(learner) == LEFT_TO_EVENT_BUS
    assert not LearnerFact.objects.exists()


def test_the_consumer_records_it(learner, on_commit, event_bus):
    """The consumer re-sends it with send_event_with_custom_metadata (from_event_bus=True)."""
    with on_commit():
        assert events.passing(learner, C1) == "applied"
    assert LearnerFact.objects.get(user=learner).value == {"passed": True}


def _without_producer(settings):
    """No EVENT_BUS_PRODUCER at all."""
    del settings.EVENT_BUS_PRODUCER


@pytest.mark.parametrize("change", [
    # Produced to a topic no microcred consumer reads (the credentials service's, say).
    lambda s: s.EVENT_BUS_PRODUCER_CONFIG.update({PASSING.event_type: {"learning-badges-lifecycle": {
        "event_key_field": "course_passing_status.course.course_key", "enabled": True}}}),
    # Configured but not enabled.
    lambda s: s.EVENT_BUS_PRODUCER_CONFIG[PASSING.event_type]["learning-course-passing-status"].update(enabled=False),
    # No producer: openedx-events would drop the event.
    _without_producer,
    # Another event type.
    lambda s: s.EVENT_BUS_PRODUCER_CONFIG.update(
        {signals.CERTIFICATE_CREATED.event_type: s.EVENT_BUS_PRODUCER_CONFIG.pop(PASSING.event_type)}),
], ids=["other-topic", "disabled", "no-producer", "other-event-type"])
def test_an_event_not_produced_to_a_microcred_topic_is_recorded_where_it_is_sent(learner, on_commit, event_bus,
                                                                                 change):
    change(event_bus)
    with on_commit():
        assert send_in_lms(learner) == "applied"
    assert LearnerFact.objects.filter(user=learner).count() == 1
