"""
Send a JSON Lines file of openedx-events through the real signals, as the event bus consumer would.

    manage.py microcred_replay events.jsonl
    some-export | manage.py microcred_replay - --no-progress --strict

The format is described in ``openedx_microcred.eventlog``. Every event goes through
``send_event_with_custom_metadata`` with its original id and time, so replaying a file twice
changes nothing the second time (duplicates) and older events never overwrite newer facts (stale).
A line that cannot be read is kept as a RejectedEvent with the reason and its line number.
"""

import logging
import sys
from collections import Counter
from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from openedx_microcred import eventlog
from openedx_microcred.facts import APPLIED, DUPLICATE, REJECTED, STALE, UNCHANGED, reject_event
from openedx_microcred.models import RejectedEvent

OUTCOMES = (APPLIED, UNCHANGED, STALE, DUPLICATE, eventlog.IGNORED, REJECTED)
UNPARSEABLE = "unparseable"


class Command(BaseCommand):
    help = "Replay openedx-events from a JSON Lines file (or - for stdin) through the real signals."

    # call_command(..., stdin=io.StringIO(...)) reads from it instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .jsonl file of events, one per line, or - for standard input.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")
        parser.add_argument("--strict", action="store_true",
                            help="Fail (non-zero exit) if any event was rejected, after processing them all.")

    def handle(self, *args, **options):
        path = options["file"]
        with ExitStack() as stack:
            if path == "-":
                stream, total = options.get("stdin") or sys.stdin, None
            else:
                try:
                    stream = stack.enter_context(open(path, encoding="utf-8"))  # pylint: disable=consider-using-with
                except OSError as exc:
                    raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
                total = _count_lines(path)
            counts, reasons = self._replay(stream, total, show_progress=not options["no_progress"], stack=stack)
        self._summary(counts, reasons)
        if options["strict"] and counts[REJECTED]:
            raise CommandError(f"{counts[REJECTED]} event(s) rejected (--strict).")

    def _replay(self, stream, total, show_progress, stack):
        counts, reasons = Counter(), Counter()
        progress_out = getattr(self.stderr, "_out", sys.stderr)
        if show_progress:
            # Log lines (rejections are logged) are written above the bar instead of through it.
            stack.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("openedx_microcred")]))
        bar = stack.enter_context(
            tqdm(total=total, unit="event", desc="Replaying", file=progress_out, disable=not show_progress)
        )
        for number, raw in enumerate(stream, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                outcome, reason = self._process(line, number)
                counts["read"] += 1
                counts[outcome] += 1
                if reason:
                    reasons[reason] += 1
            bar.update(1)
        return counts, reasons

    def _process(self, line, number):
        """Send one line; return (outcome, reason if rejected)."""
        try:
            signal, metadata, data = eventlog.parse_line(line)
        except eventlog.InvalidEventLine as exc:
            reason = str(exc)
            # The event type comes from the line itself: cut to what the column holds.
            reject_event((exc.event_type or UNPARSEABLE)[:255], reason, event_id=exc.event_id or "",
                         event_time=exc.event_time, payload={"line": line, "line_number": number})
            return REJECTED, reason
        try:
            outcome = eventlog.send(signal, metadata, data)
        except Exception as exc:  # pylint: disable=broad-except
            # Our receiver keeps its own rejections; this is anything else that went wrong in sending.
            reason = f"{type(exc).__name__}: {exc}"
            reject_event(signal.event_type, reason, event_id=str(metadata.id), event_time=metadata.time,
                         payload={"line": line, "line_number": number})
            return REJECTED, reason
        if outcome == REJECTED:
            kept = RejectedEvent.objects.filter(event_id=str(metadata.id)).order_by("-pk").first()
            return REJECTED, kept.reason if kept else "rejected by the receiver"
        if outcome not in OUTCOMES:
            return eventlog.IGNORED, None
        return outcome, None

    def _summary(self, counts, reasons):
        width = max(len(name) for name in OUTCOMES) + 1
        self.stdout.write(f"Events read: {counts['read']}")
        for name in OUTCOMES:
            self.stdout.write(f"  {name + ':':<{width}} {counts[name]}")
        if reasons:
            self.stdout.write("Rejected, by reason:")
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
                self.stdout.write(f"  {count} × {reason}")


def _count_lines(path):
    try:
        with open(path, "rb") as stream:
            return sum(1 for _ in stream)
    except OSError:
        return None
