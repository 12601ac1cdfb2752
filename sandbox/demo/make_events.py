"""
Generate sandbox/demo/events.jsonl, the demo's event stream (see README.md in this directory).

    .venv/bin/python sandbox/demo/make_events.py           # rewrite events.jsonl
    .venv/bin/python sandbox/demo/make_events.py --check   # exit 1 if events.jsonl is out of date

Every line is written by openedx_microcred.eventlog, so the file stays in the format
``microcred_replay`` reads. Ids and times are fixed: the output is the same on every run.

The story, from 2026-09-01: ada passes PY101, reaches 82 % in PY201 (with 25 of 30 blocks completed
by demo_setup) and earns a verified certificate in PY301, which takes her up to python-gold. grace
passes PY101 and WEB101 (full-stack-starter) and is at 40 % in PY201. linus fails PY101 at 30 %,
passes after a regrade to 55 %, gets a certificate that is then revoked. Mixed in, as a real
stream has them: a redelivered event (duplicate), a late older event (stale), a grade that did not
change (unchanged), a certificate with a broken course key and a grade for a user the LMS does not
have (both rejected).
"""

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).resolve().parent / "events.jsonl"

SOURCE = "openedx/lms/web"
SOURCEHOST = "lms.demo.openedx.test"
SOURCELIB = (10, 5, 0)  # fixed, so that the file does not change with the installed openedx-events
ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://openedx-microcred.example/demo/events")
START = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
COURSE_EDITED = datetime(2026, 8, 25, 16, 0, tzinfo=timezone.utc)

COURSES = {
    "PY101": "Python Foundations",
    "PY201": "Data Analysis with Python",
    "PY301": "Machine Learning Basics",
    "WEB101": "Web Foundations",
}
USERS = {"ada": (2, "Ada Lovelace"), "grace": (3, "Grace Hopper"), "linus": (4, "Linus Torvalds")}


def _setup_django():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django  # pylint: disable=import-outside-toplevel
    from django.apps import apps  # pylint: disable=import-outside-toplevel

    if not apps.ready:  # run as a script; under a test runner Django is already set up
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
        django.setup()


def at(day, hour=9, minute=0):
    """A time on the given day of the demo (day 1 = 2026-09-01)."""
    return START + timedelta(days=day - 1, hours=hour - 9, minutes=minute)


class Stream:
    """Builds the lines; each event gets a stable id from its name."""

    def __init__(self):
        # pylint: disable=import-outside-toplevel
        from openedx_events.learning import signals

        self.signals = signals
        self.lines = []

    # --- payload pieces -------------------------------------------------------------------------

    @staticmethod
    def course(code, key=None):
        from opaque_keys.edx.keys import CourseKey  # pylint: disable=import-outside-toplevel
        from openedx_events.learning.data import CourseData  # pylint: disable=import-outside-toplevel

        key = key or f"course-v1:DemoX+{code}+2026"
        try:
            key = CourseKey.from_string(key)
        except Exception:  # pylint: disable=broad-except
            pass  # a deliberately broken key is written as the string it is
        return CourseData(course_key=key, display_name=COURSES[code])

    @staticmethod
    def user(username):
        from openedx_events.learning.data import UserData, UserPersonalData  # pylint: disable=import-outside-toplevel

        user_id, name = USERS[username]
        return UserData(id=user_id, is_active=True,
                        pii=UserPersonalData(username=username, email=f"{username}@example.com", name=name))

    # --- events ---------------------------------------------------------------------------------

    def emit(self, name, signal, time, **data):
        from openedx_events.data import EventsMetadata  # pylint: disable=import-outside-toplevel

        from openedx_microcred import eventlog  # pylint: disable=import-outside-toplevel

        metadata = EventsMetadata(event_type=signal.event_type, id=uuid5(ID_NAMESPACE, name), time=time,
                                  source=SOURCE, sourcehost=SOURCEHOST, sourcelib=SOURCELIB)
        self.lines.append(eventlog.dump_event(signal, metadata, **data))

    def repeat(self, index):
        """Send a line again, byte for byte: a redelivery by the event bus."""
        self.lines.append(self.lines[index])

    def enroll(self, username, code, mode, time, changed=False):
        from openedx_events.learning.data import CourseEnrollmentData  # pylint: disable=import-outside-toplevel

        signal = self.signals.COURSE_ENROLLMENT_CHANGED if changed else self.signals.COURSE_ENROLLMENT_CREATED
        verb = f"enrollment-changed-{mode}" if changed else "enrolled"
        self.emit(f"{username}-{code}-{verb}", signal, time,
                  enrollment=CourseEnrollmentData(user=self.user(username), course=self.course(code), mode=mode,
                                                  is_active=True, creation_date=time))

    def grade(self, username, code, percent, passed, time, label="grade", user_id=None, course_version="v1"):
        from openedx_events.learning.data import PersistentCourseGradeData  # pylint: disable=import-outside-toplevel

        self.emit(f"{username}-{code}-{label}", self.signals.PERSISTENT_GRADE_SUMMARY_CHANGED, time,
                  grade=PersistentCourseGradeData(
                      user_id=user_id or USERS[username][0], course=self.course(code),
                      course_edited_timestamp=COURSE_EDITED, course_version=f"{code.lower()}-{course_version}",
                      grading_policy_hash="rQ3pZ9ylXgVh1b2nYQjz7S1cW0E=", percent_grade=percent,
                      letter_grade="Pass" if passed else "",
                      # edx-platform keeps the time the learner first passed, and None while they do not.
                      passed_timestamp=passed,
                  ))

    def passing(self, username, code, is_passing, time, label="passing"):
        from openedx_events.learning.data import CoursePassingStatusData  # pylint: disable=import-outside-toplevel

        self.emit(f"{username}-{code}-{label}", self.signals.COURSE_PASSING_STATUS_UPDATED, time,
                  course_passing_status=CoursePassingStatusData(is_passing=is_passing, course=self.course(code),
                                                                user=self.user(username)))

    def certificate(self, username, code, time, status="downloadable", previous="", grade="", revoked=False,
                    course_key=None, label="certificate"):
        from openedx_events.learning.data import CertificateData  # pylint: disable=import-outside-toplevel

        signal = self.signals.CERTIFICATE_REVOKED if revoked else self.signals.CERTIFICATE_CREATED
        self.emit(f"{username}-{code}-{label}", signal, time,
                  certificate=CertificateData(
                      user=self.user(username), course=self.course(code, course_key), mode="verified",
                      grade=grade, download_url="", name=USERS[username][1], current_status=status,
                      previous_status=previous,
                  ))


def build():
    """The demo stream, as a list of JSON lines (without newlines)."""
    _setup_django()
    s = Stream()
    # Week 1: enrollments.
    s.enroll("ada", "PY101", "audit", at(1, 9, 0))
    s.enroll("grace", "PY101", "audit", at(1, 9, 20))
    s.enroll("linus", "PY101", "verified", at(1, 10, 5))
    s.enroll("grace", "WEB101", "audit", at(1, 11, 30))
    # ada passes PY101; linus does not (yet).
    passed_ada_py101 = at(8, 14, 2)
    s.grade("ada", "PY101", 0.91, passed_ada_py101, passed_ada_py101)
    s.passing("ada", "PY101", True, passed_ada_py101 + timedelta(seconds=1))
    ada_py101_passing = len(s.lines) - 1
    s.grade("linus", "PY101", 0.30, None, at(8, 16, 45))
    s.passing("linus", "PY101", False, at(8, 16, 45) + timedelta(seconds=1))
    s.enroll("ada", "PY201", "verified", at(10, 8, 15))
    s.enroll("grace", "PY201", "audit", at(10, 19, 40))
    # grace's PY101 grade goes 0.62 (day 12, delivered late, below) then 0.76 and she passes.
    passed_grace_py101 = at(15, 10, 12)
    s.grade("grace", "PY101", 0.76, passed_grace_py101, passed_grace_py101)
    s.passing("grace", "PY101", True, passed_grace_py101 + timedelta(seconds=1))
    s.enroll("ada", "PY301", "audit", at(18, 7, 50))
    passed_grace_web101 = at(22, 15, 30)
    s.grade("grace", "WEB101", 0.68, passed_grace_web101, passed_grace_web101)
    s.passing("grace", "WEB101", True, passed_grace_web101 + timedelta(seconds=1))
    # The PY101 team fixes a typo in a unit: grades are recomputed, ada's does not change.
    s.grade("ada", "PY101", 0.91, passed_ada_py101, at(29, 11, 0), label="grade-recomputed", course_version="v2")
    # A problem of PY101 is rescored: linus now passes.
    passed_linus_py101 = at(32, 9, 30)
    s.grade("linus", "PY101", 0.55, passed_linus_py101, passed_linus_py101, label="regrade", course_version="v2")
    s.passing("linus", "PY101", True, passed_linus_py101 + timedelta(seconds=1), label="passing-after-regrade")
    s.certificate("linus", "PY101", at(36, 2, 0), grade="0.55")
    s.grade("grace", "PY201", 0.40, None, at(39, 18, 20))
    passed_ada_py201 = at(43, 13, 5)
    s.grade("ada", "PY201", 0.82, passed_ada_py201, passed_ada_py201)
    s.passing("ada", "PY201", True, passed_ada_py201 + timedelta(seconds=1))
    # The event bus delivers ada's PY101 passing event a second time.
    s.repeat(ada_py101_passing)
    s.enroll("ada", "PY301", "verified", at(46, 9, 0), changed=True)
    # A certificate with a broken course key (the run is missing): rejected, kept for an operator.
    s.certificate("grace", "WEB101", at(47, 2, 0), grade="0.68", course_key="course-v1:DemoX+WEB101",
                  label="certificate-bad-course-key")
    # linus's certificate is revoked (an integrity review).
    s.certificate("linus", "PY101", at(50, 16, 0), status="unavailable", previous="downloadable", grade="0.55",
                  revoked=True, label="certificate-revoked")
    # A grade for a user this LMS does not have: rejected.
    s.grade("user999", "PY101", 0.74, at(52, 10, 0), at(52, 10, 0), label="grade-unknown-user", user_id=999)
    # grace's day-12 grade, delivered late by a retried task: older than what we hold, so stale.
    s.grade("grace", "PY101", 0.62, at(12, 17, 0), at(12, 17, 0), label="grade-late")
    passed_ada_py301 = at(64, 12, 40)
    s.grade("ada", "PY301", 0.88, passed_ada_py301, passed_ada_py301)
    s.passing("ada", "PY301", True, passed_ada_py301 + timedelta(seconds=1))
    s.certificate("ada", "PY301", at(65, 3, 0), grade="0.88")
    return s.lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    parser.add_argument("--check", action="store_true", help="Exit 1 if the output file is not up to date.")
    args = parser.parse_args(argv)
    text = "".join(line + "\n" for line in build())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"Wrote {len(text.splitlines())} events to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
