"""
The "LMS" side of the event bus test: run as its own process, with the host's event bus settings
(``DJANGO_SETTINGS_MODULE=sandbox.event_bus_settings SANDBOX_EVENT_BUS=1``).

    python -m tests.event_bus.lms load catalog.yaml
        manage.py microcred_load catalog.yaml
    python -m tests.event_bus.lms users ada bob
        create the learners; prints {"ada": id, "bob": id}
    python -m tests.event_bus.lms pass ada course-v1:...
        ada passes the course: COURSE_PASSING_STATUS_UPDATED through send_event, as edx-platform's
        grades app sends it; the host's EVENT_BUS_PRODUCER_CONFIG produces it to Redis. Prints the
        event's id and time and what the plugin's receiver did with it in this process.
    python -m tests.event_bus.lms produce-again '{"username": ..., "course": ..., "id": ..., "time": ...}'
        the same event (same id and time) produced to the bus once more, as a producer that retries
        or a second topic carrying it would deliver it a second time.

Each command prints one JSON line on stdout. Several commands can share one process, separated
by ``+``: ``python -m tests.event_bus.lms users ada + pass ada course-v1:...``.
"""

import json
import sys
from datetime import datetime
from uuid import UUID

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from opaque_keys.edx.keys import CourseKey
from openedx_events.data import EventsMetadata
from openedx_events.event_bus import get_producer
from openedx_events.learning.data import CourseData, CoursePassingStatusData, UserData, UserPersonalData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED


def _passing_data(username, course):
    """The COURSE_PASSING_STATUS_UPDATED data of ``username`` passing ``course``, as edx-platform sends it."""
    user = get_user_model().objects.get(username=username)
    return CoursePassingStatusData(
        is_passing=True,
        course=CourseData(course_key=CourseKey.from_string(course), display_name=course),
        user=UserData(id=user.pk, is_active=True,
                      pii=UserPersonalData(username=user.username, email=user.email, name=user.get_full_name())),
    )


def load(path):
    """load: the catalog file ``path`` through microcred_load."""
    call_command("microcred_load", path)
    return {"loaded": path}


def users(*names):
    """users: the learners ``names`` (created when missing), by name → id."""
    model = get_user_model()
    return {name: model.objects.get_or_create(username=name, defaults={"email": f"{name}@example.com"})[0].pk
            for name in names}


def pass_course(username, course):
    """pass: ``username`` passes ``course`` (sent, and produced to the bus); the event and what the receiver did."""
    sent = {}

    def capture(signal, sender, metadata, **kwargs):
        sent["metadata"] = metadata

    COURSE_PASSING_STATUS_UPDATED.connect(capture, weak=False)
    responses = COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=_passing_data(username, course))
    ours = [result for receiver, result in responses if receiver.__module__ == "openedx_microcred.handlers"]
    metadata = sent["metadata"]
    return {"username": username, "course": course, "id": str(metadata.id), "time": metadata.time.isoformat(),
            "outcome": [str(result) for result in ours]}


def produce_again(event):
    """produce-again: the event ``pass`` printed, produced to the bus once more (same id and time)."""
    signal = COURSE_PASSING_STATUS_UPDATED
    metadata = EventsMetadata(event_type=signal.event_type, id=UUID(event["id"]),
                              time=datetime.fromisoformat(event["time"]))
    [(topic, config)] = settings.EVENT_BUS_PRODUCER_CONFIG[signal.event_type].items()
    get_producer().send(signal=signal, topic=topic, event_key_field=config["event_key_field"],
                        event_data={"course_passing_status": _passing_data(event["username"], event["course"])},
                        event_metadata=metadata)
    return {"produced": event["id"], "topic": topic}


COMMANDS = {
    "load": load,
    "users": users,
    "pass": pass_course,
    "produce-again": lambda event: produce_again(json.loads(event)),
}


def main(argv):
    """Run the commands of ``argv`` (separated by ``+``) after Django is set up, one JSON line each."""
    commands = [[]]
    for arg in argv:
        if arg == "+":
            commands.append([])
        else:
            commands[-1].append(arg)
    unknown = [command[0] if command else "" for command in commands if not command or command[0] not in COMMANDS]
    if unknown:
        raise SystemExit(f"unknown command {unknown[0]!r}; commands: {', '.join(COMMANDS)}")
    django.setup()
    for name, *args in commands:
        print(json.dumps(COMMANDS[name](*args)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
