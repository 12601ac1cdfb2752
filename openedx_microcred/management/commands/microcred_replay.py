"""
Send a JSON Lines file of openedx-events through the real signals, as the event bus consumer would.

    manage.py microcred_replay events.jsonl
    some-export | manage.py microcred_replay - --no-progress --strict

The format is described in ``openedx_microcred.eventlog``. Every event goes through
``send_event_with_custom_metadata`` with its original id and time, so replaying a file twice
changes nothing the second time (duplicates) and older events never overwrite newer facts (stale).
A line that cannot be read (not UTF-8, not JSON, nested too deep, too long, not an event) is kept
as a RejectedEvent with the reason, its line number and its text (cut to
``limits.MAX_KEPT_LINE_CHARS``), named on stderr, and the other lines are still replayed; the
summary counts every line as applied, unchanged, stale, duplicate, ignored or rejected.
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
from openedx_microcred.limits import MAX_EVENT_LINE_BYTES, MAX_KEPT_LINE_CHARS
from openedx_microcred.models import RejectedEvent

OUTCOMES = (APPLIED, UNCHANGED, STALE, DUPLICATE, eventlog.IGNORED, REJECTED)
UNPARSEABLE = "unparseable"
# Rejected lines named one by one on stderr; the summary counts them all.
MAX_REJECTIONS_LISTED = 50
MAX_REASON_CHARS = 1000
JSON_WHITESPACE = " \t\r\n"


class Command(BaseCommand):
    """
    ``microcred_replay``: reads the file line by line (never whole), sends each event, and prints
    the count of each outcome and of each reason for a rejection.
    """

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
                # Bytes where there are bytes, so a line that is not UTF-8 is rejected alone.
                stream = getattr(stream, "buffer", stream)
            else:
                try:
                    stream = stack.enter_context(open(path, "rb"))
                except OSError as exc:
                    raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
                total = _count_lines(path)
            counts, reasons = self._replay(stream, total, show_progress=not options["no_progress"], stack=stack)
        self._summary(counts, reasons)
        if options["strict"] and counts[REJECTED]:
            raise CommandError(f"{counts[REJECTED]} event(s) rejected (--strict).")

    def _replay(self, stream, total, show_progress, stack):
        """
        (count of each outcome and of the lines read, count of each rejection's reason) of a stream's
        lines; the progress bar and the rejections go to stderr.
        """
        counts, reasons = Counter(), Counter()
        progress_out = getattr(self.stderr, "_out", sys.stderr)
        if show_progress:
            # Log lines (rejections are logged) are written above the bar instead of through it.
            stack.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("openedx_microcred")]))
        progress = stack.enter_context(
            tqdm(total=total, unit="event", desc="Replaying", file=progress_out, disable=not show_progress)
        )
        for number, raw, size in read_lines(stream, MAX_EVENT_LINE_BYTES):
            line, problem = _decode(raw, size)
            if line.strip(JSON_WHITESPACE):  # any other character makes a line to read or to reject
                outcome, reason = self._process(line, number, problem)
                counts["read"] += 1
                counts[outcome] += 1
                if reason:
                    reasons[reason] += 1
                    if counts[REJECTED] <= MAX_REJECTIONS_LISTED:
                        tqdm.write(f"line {number}: rejected: {reason}", file=progress_out)
            progress.update(1)
        if counts[REJECTED] > MAX_REJECTIONS_LISTED:
            tqdm.write(f"... and {counts[REJECTED] - MAX_REJECTIONS_LISTED} more rejected line(s), "
                       "all kept as rejected events with their line numbers", file=progress_out)
        return counts, reasons

    def _process(self, line, number, problem=None):
        """Send one line; return (outcome, reason if rejected)."""
        try:
            if problem:
                raise eventlog.InvalidEventLine(problem)
            signal, metadata, data = eventlog.parse_line(line)
        except eventlog.InvalidEventLine as exc:
            reason = _reason(exc)
            # The event type comes from the line itself: cut to what the column holds.
            reject_event((exc.event_type or UNPARSEABLE)[:255], reason, event_id=exc.event_id or "",
                         event_time=exc.event_time, payload=_kept(line, number))
            return REJECTED, reason
        try:
            outcome = eventlog.send(signal, metadata, data)
        except Exception as exc:  # pylint: disable=broad-except  (kept as rejected; the other lines go on)
            # Our receiver keeps its own rejections; this is anything else that went wrong in sending.
            reason = _reason(f"{type(exc).__name__}: {exc}")
            reject_event(signal.event_type, reason, event_id=str(metadata.id), event_time=metadata.time,
                         payload=_kept(line, number))
            return REJECTED, reason
        if outcome == REJECTED:
            kept = RejectedEvent.objects.filter(event_id=str(metadata.id)).order_by("-pk").first()
            return REJECTED, kept.reason if kept else "rejected by the receiver"
        if outcome not in OUTCOMES:
            return eventlog.IGNORED, None
        return outcome, None

    def _summary(self, counts, reasons):
        """The counts on stdout: lines read, each outcome, then the rejections' reasons, most frequent first."""
        width = max(len(name) for name in OUTCOMES) + 1
        self.stdout.write(f"Events read: {counts['read']}")
        for name in OUTCOMES:
            self.stdout.write(f"  {name + ':':<{width}} {counts[name]}")
        if reasons:
            self.stdout.write("Rejected, by reason:")
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
                self.stdout.write(f"  {count} × {reason}")


def read_lines(stream, limit):
    """
    (line number, line, its length) for each line of a binary (or text) stream, the line cut to
    ``limit`` + 1 bytes: the rest of an overlong line is read and dropped, never held in memory.
    """
    number = 0
    while True:
        head = stream.readline(limit + 1)
        if not head:
            return
        number += 1
        chunk, size = head, len(head)
        while not chunk.endswith(b"\n" if isinstance(chunk, bytes) else "\n"):
            chunk = stream.readline(limit + 1)
            if not chunk:
                break
            size += len(chunk)
        yield number, head, size


def _decode(raw, size):
    """(the line as text without its line end, why it cannot be read or None)."""
    if isinstance(raw, bytes):
        raw = raw.rstrip(b"\r\n")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Kept readable: each byte that is not UTF-8 as \xNN.
            line = raw.decode("utf-8", errors="backslashreplace")
            if size <= MAX_EVENT_LINE_BYTES + 2:
                return line, f"cannot be read: not UTF-8 text ({exc.reason} at byte {exc.start})"
    else:
        line = raw.rstrip("\r\n")
    if size > MAX_EVENT_LINE_BYTES + 2:  # + the line end
        return line, f"cannot be read: longer than {MAX_EVENT_LINE_BYTES} bytes"
    return line, None


def _kept(line, number):
    r"""
    What a RejectedEvent keeps of a line: its text, cut to MAX_KEPT_LINE_CHARS, with its line number.
    A NUL character is written as \x00 (PostgreSQL's JSON columns cannot hold it).
    """
    payload = {"line": line[:MAX_KEPT_LINE_CHARS].replace("\x00", "\\x00"), "line_number": number}
    if len(line) > MAX_KEPT_LINE_CHARS:
        payload["truncated_from"] = len(line)
    return payload


def _reason(reason):
    return str(reason)[:MAX_REASON_CHARS]


def _count_lines(path):
    """The file's number of lines, for the progress bar; None if it cannot be read (open reports why)."""
    try:
        with open(path, "rb") as stream:
            return sum(1 for _ in stream)
    except OSError:
        return None
