"""
The demo and test host with the Open edX event bus on Redis Streams (docs/event-bus.md).

    export DJANGO_SETTINGS_MODULE=sandbox.event_bus_settings SANDBOX_EVENT_BUS=1

Without SANDBOX_EVENT_BUS=1 these are ``sandbox.settings`` unchanged. With it, one configuration
serves both roles, as one LMS configuration serves the LMS, its workers and its event bus consumers:

* producer (the "LMS" web or worker process): the events of ``EVENT_BUS_PRODUCER_CONFIG`` below
  go to Redis streams, and the plugin's receivers leave them to the consumer
  (``MICROCRED_EVENT_BUS_TOPICS``): they record nothing and queue no evaluation here;
* consumer, one process per topic::

      sandbox/manage.py consume_events -t learning-course-passing-status -g microcred \\
          --extra '{"consumer_name": "microcred-1", "check_backlog": true}'

  re-sends each event through its signal; the plugin's receivers record the fact and queue the
  evaluation (in this process with SANDBOX_CELERY_EAGER=1, on Celery workers otherwise).

Environment:
  SANDBOX_EVENT_BUS_REDIS_URL     Redis of the event bus (redis://127.0.0.1:6379/0)
  SANDBOX_EVENT_BUS_TOPIC_PREFIX  EVENT_BUS_TOPIC_PREFIX, prefixed to every stream name (sandbox)
  SANDBOX_EVENT_BUS_TOPICS        comma-separated MICROCRED_EVENT_BUS_TOPICS (the two below); empty:
                                  events are produced to the bus and also recorded where they are sent
  SANDBOX_EVENT_BUS_POLL_TIMEOUT  EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT in seconds (2)
"""

import os

from sandbox.settings import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
from sandbox.settings import INSTALLED_APPS as _INSTALLED_APPS
from sandbox.settings import LOGGING as _LOGGING

# Topic and event key field of each event the plugin receives that can travel on the event bus.
# PERSISTENT_GRADE_SUMMARY_CHANGED is not here: the event of a learner who does not pass has no
# passed_timestamp, which the event bus serializer refuses; enrollment events are not here because
# the consumer re-sends an event to every receiver in the process, platform ones included
# (docs/event-bus.md). Both stay in the process that sends them.
MICROCRED_EVENT_BUS_PRODUCED = {
    "org.openedx.learning.course.passing.status.updated.v1":
        ("learning-course-passing-status", "course_passing_status.course.course_key"),
    "org.openedx.learning.ccx.course.passing.status.updated.v1":
        ("learning-course-passing-status", "course_passing_status.course.ccx_course_key"),
    "org.openedx.learning.certificate.created.v1": ("learning-certificate-lifecycle", "certificate.course.course_key"),
    "org.openedx.learning.certificate.changed.v1": ("learning-certificate-lifecycle", "certificate.course.course_key"),
    "org.openedx.learning.certificate.revoked.v1": ("learning-certificate-lifecycle", "certificate.course.course_key"),
}

if os.environ.get("SANDBOX_EVENT_BUS") == "1":
    # openedx_events: connects the producer config at start-up and provides consume_events.
    INSTALLED_APPS = [*_INSTALLED_APPS, "openedx_events", "edx_event_bus_redis"]

    EVENT_BUS_PRODUCER = "edx_event_bus_redis.create_producer"
    EVENT_BUS_CONSUMER = "edx_event_bus_redis.RedisEventConsumer"
    EVENT_BUS_REDIS_CONNECTION_URL = os.environ.get("SANDBOX_EVENT_BUS_REDIS_URL", "redis://127.0.0.1:6379/0")
    EVENT_BUS_TOPIC_PREFIX = os.environ.get("SANDBOX_EVENT_BUS_TOPIC_PREFIX", "sandbox")
    EVENT_BUS_PRODUCER_CONFIG = {
        event_type: {topic: {"event_key_field": key_field, "enabled": True}}
        for event_type, (topic, key_field) in MICROCRED_EVENT_BUS_PRODUCED.items()
    }
    # Seconds a consumer blocks on Redis for the next event. Below redis-py's own socket timeout
    # (5 s by default in redis-py 8): the default 60 s makes every idle poll end in a timeout error.
    EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT = int(os.environ.get("SANDBOX_EVENT_BUS_POLL_TIMEOUT", "2"))
    _TOPICS = os.environ.get("SANDBOX_EVENT_BUS_TOPICS",
                             "learning-course-passing-status,learning-certificate-lifecycle").split(",")
    MICROCRED_EVENT_BUS_TOPICS = [topic.strip() for topic in _TOPICS if topic.strip()]
    # The consumer's audit log (one line per event received) goes to the console with the plugin's.
    LOGGING = {
        **_LOGGING,
        "loggers": {**_LOGGING["loggers"], "edx_event_bus_redis": {"handlers": ["console"], "level": "INFO"}},
    }
