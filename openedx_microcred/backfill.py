"""
Back-filling history: what the platform stored before the plugin listened (course grades,
certificates, enrollments) becomes learner facts, and the learners it concerns are evaluated.

The platform adapter streams its history ordered by learner (``historical_records``), so a chunk
always holds every record of the learners in it. Each chunk is one transaction:

1. each record is turned into a fact by the receivers' own mapping (``event_data``), with an event
   id that names the row and its modification time (``backfill:grade:<row id>:<time>``) and that
   time as the event time;
2. the facts are recorded in bulk with ``facts.record_fact``'s rules: ordered by (event time,
   event id), an older row never overwrites a newer fact from a live event, and the same row
   twice is a duplicate that changes nothing (a concurrent insert falls back to ``record_fact``);
3. the chunk's learners are evaluated together (``evaluation.evaluate_learners``) on the
   credentials that depend on the courses read;
4. the run's checkpoint (``BackfillRun.cursor``: the last learner done) moves forward.

A run that stops (error, interruption, kill) therefore resumes after the last committed chunk and
ends where an uninterrupted run would. A dry run reads the same chunks and decides with the pure
engine over the stored facts merged in memory with the history, writing nothing.
"""

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import evaluation, event_data, rules
from .facts import (
    APPLIED,
    DUPLICATE,
    STALE,
    UNCHANGED,
    FactUpdate,
    InvalidEvent,
    check_event_time,
    history_row,
    record_fact,
)
from .models import (
    BackfillRun,
    CourseDependency,
    Credential,
    LearnerEvent,
    LearnerFact,
    LearnerLock,
    RejectedEvent,
    course_key_text,
)
from .platform import CERTIFICATE_SOURCE, ENROLLMENT_SOURCE, GRADE_SOURCE, get_platform, parse_course_key

log = logging.getLogger(__name__)

# Each kind of platform history and the receivers' mapping of the live event that reports it.
SOURCES = {
    GRADE_SOURCE: (rules.GRADE, event_data.grade_fact),
    CERTIFICATE_SOURCE: (rules.CERTIFICATE, event_data.certificate_fact),
    ENROLLMENT_SOURCE: (rules.ENROLLMENT, event_data.enrollment_fact),
}
EVENT_TYPE = "openedx_microcred.backfill.{source}"

DEFAULT_CHUNK_SIZE = 1000
MAX_CHUNK_SIZE = 100000
# A chunk that meets a deadlock or a locked database is tried again this many times.
CHUNK_ATTEMPTS = 3

WOULD_AWARD, AWARDED, REVOKED, WOULD_REVOKE = "would award", "awarded", "revoked", "would revoke"


class BackfillError(ValueError):
    """A scope or option the back-fill cannot use; the message says why."""


@dataclass(frozen=True)
class Scope:
    """What to back-fill: one course, the courses of one credential, or every course (``course_keys`` None)."""

    kind: str  # a BackfillRun.Scope value
    target: str
    course_keys: tuple | None
    # Why nothing can be awarded in this scope, if so (told to the operator, not an error).
    warning: str = ""

    def __str__(self):
        if self.kind == BackfillRun.Scope.ALL:
            return "every course"
        return f"{self.kind} {self.target}"


def resolve_scope(course=None, credential=None, everything=False) -> Scope:
    """The scope named by exactly one of a course key, a credential slug or ``everything``."""
    if sum(1 for given in (course is not None, credential is not None, everything) if given) != 1:
        raise BackfillError("Choose what to back-fill: exactly one of --course, --credential or --all.")
    if everything:
        return Scope(BackfillRun.Scope.ALL, "", None)
    if course is not None:
        try:
            key = str(CourseKey.from_string(course))
        except InvalidKeyError as exc:
            raise BackfillError(f"'{course}' is not a valid course key.") from exc
        warning = ""
        if not CourseDependency.objects.filter(course_key=key, credential__state=Credential.State.ACTIVE).exists():
            warning = (f"No active credential depends on {key}: its history is recorded as facts, "
                       f"but nothing can be awarded yet.")
        return Scope(BackfillRun.Scope.COURSE, key, (key,), warning)
    found = Credential.objects.filter(slug=credential).first()
    if found is None:
        raise BackfillError(f"There is no credential with the slug '{credential}'.")
    keys = tuple(sorted(str(k) for k in found.course_dependencies.values_list("course_key", flat=True)))
    warning = ""
    if found.state != Credential.State.ACTIVE:
        warning = (f"Credential '{found.slug}' is {found.state}: its courses' history is recorded as facts, "
                   f"but it is not awarded until it is published.")
    return Scope(BackfillRun.Scope.CREDENTIAL, found.slug, keys, warning)


@dataclass
class Counts:
    """What a back-fill (or one chunk of it) read and did; a dry run counts what it would do."""

    rows_read: int = 0
    learners_read: int = 0
    facts_applied: int = 0
    facts_unchanged: int = 0
    facts_stale: int = 0
    facts_duplicate: int = 0
    rows_rejected: int = 0
    learners_evaluated: int = 0
    awards_made: int = 0
    revocations: int = 0
    awards_by_credential: dict = field(default_factory=dict)

    NUMBERS = ("rows_read", "learners_read", "facts_applied", "facts_unchanged", "facts_stale", "facts_duplicate",
               "rows_rejected", "learners_evaluated", "awards_made", "revocations")

    def add(self, other: "Counts"):
        for name in self.NUMBERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for slug, count in other.awards_by_credential.items():
            self.awards_by_credential[slug] = self.awards_by_credential.get(slug, 0) + count

    @classmethod
    def of_run(cls, run: BackfillRun) -> "Counts":
        return cls(**{name: getattr(run, name) for name in cls.NUMBERS},
                   awards_by_credential=dict(run.awards_by_credential or {}))


# --- From history to facts ----------------------------------------------------------------------


def event_id(record) -> str:
    """The same row with the same modification time always gives the same id: a re-run is a duplicate."""
    when = record.time.astimezone(dt_timezone.utc).isoformat() if record.time else "none"
    return f"backfill:{record.source}:{record.row_id}:{when}"


def fact_updates(records):
    """
    The records as FactUpdates, through the receivers' mapping; returns (updates, rejected) where
    rejected is a list of (record, reason) for rows that cannot become a fact.
    """
    updates, rejected = [], []
    for record in records:
        kind, build = SOURCES[record.source]
        try:
            if record.time is None:
                raise InvalidEvent("the row has no time of its last change")
            check_event_time(record.time)  # the bulk write below does not go through record_fact
            user_id, course_key, value = build(record.data)
        except (InvalidEvent, AttributeError, TypeError, ValueError) as exc:
            rejected.append((record, str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"))
            continue
        updates.append(FactUpdate(user_id, course_key, kind, value, event_id(record),
                                  EVENT_TYPE.format(source=record.source), record.time))
    return updates, rejected


@dataclass(frozen=True)
class StoredFact:
    pk: int
    value: dict
    event_id: str
    event_time: object


def stored_facts(updates, lock=False) -> dict:
    """The facts held for the updates' (user, course, kind) keys, read in one query (locked if ``lock``)."""
    if not updates:
        return {}
    # By learner only: an IN over learners and one over courses would make SQLite probe every pair.
    queryset = LearnerFact.objects.filter(user_id__in=sorted({u.user_id for u in updates}))
    if lock:
        queryset = queryset.select_for_update()
    wanted = {(u.user_id, u.course_key, u.kind) for u in updates}
    rows = queryset.annotate(course_raw=course_key_text()).values_list(
        "pk", "user_id", "course_raw", "kind", "value", "event_id", "event_time")
    stored = {}
    for pk, user_id, course, kind, value, held_id, held_time in rows:
        if (user_id, course, kind) in wanted:
            stored[(user_id, course, kind)] = StoredFact(pk, value, held_id, held_time)
    return stored


def classify(updates, stored):
    """
    What ``facts.record_fact`` would answer for each update, applied one by one in event order
    (event time, event id) over the ``stored`` facts: APPLIED, UNCHANGED, STALE or DUPLICATE.
    Returns (outcomes, in the order of ``updates``; the update each changed key ends up holding).
    """
    outcomes = [None] * len(updates)
    current, winners = {}, {}
    for index in sorted(range(len(updates)), key=lambda i: (updates[i].event_time, updates[i].event_id)):
        update = updates[index]
        key = (update.user_id, update.course_key, update.kind)
        held = current.get(key) or stored.get(key)
        if held is None:
            outcome = APPLIED
        elif held.event_id == update.event_id:
            outcome = DUPLICATE
        elif (held.event_time, held.event_id) > (update.event_time, update.event_id):
            outcome = STALE
        else:
            outcome = APPLIED if held.value != update.value else UNCHANGED
        if outcome in (APPLIED, UNCHANGED):
            current[key] = winners[key] = update
        outcomes[index] = outcome
    return outcomes, winners


def record_facts(updates) -> list:
    """
    Record the updates as ``record_fact`` would one by one, in a few statements; returns their
    outcomes. The users must exist. Call inside a transaction: the held facts are locked while
    compared, and if a live event inserts one of them meanwhile, the updates are recorded one by
    one with ``record_fact`` instead.
    """
    try:
        with transaction.atomic():
            stored = stored_facts(updates, lock=True)
            outcomes, winners = classify(updates, stored)
            now = timezone.now()
            new, changed = [], []
            for key, update in winners.items():
                fields = {"value": update.value, "event_id": update.event_id, "event_type": update.event_type,
                          "event_time": update.event_time}
                if key in stored:
                    changed.append(LearnerFact(pk=stored[key].pk, modified=now, **fields))
                else:
                    new.append(LearnerFact(user_id=update.user_id, course_key=parse_course_key(update.course_key),
                                           kind=update.kind, **fields))
            LearnerFact.objects.bulk_create(new, batch_size=500)
            LearnerFact.objects.bulk_update(changed, ["value", "event_id", "event_type", "event_time", "modified"],
                                            batch_size=500)
            # Every row goes into the learners' history, older ones too (the evaluation that follows
            # re-derives them over it); one already kept is left as it is.
            LearnerEvent.objects.bulk_create([history_row(u) for u, o in zip(updates, outcomes) if o != DUPLICATE],
                                             batch_size=500, ignore_conflicts=True)
            return outcomes
    except IntegrityError:
        log.info("openedx-microcred back-fill: facts written concurrently, recording this chunk one by one")
    order = sorted(range(len(updates)), key=lambda i: (updates[i].event_time, updates[i].event_id))
    outcomes = [None] * len(updates)
    for index in order:
        outcomes[index] = record_fact(updates[index])
    return outcomes


def _keep_rejected(rejected):
    """Keep the rows that could not become facts where an operator sees them (once per row and time)."""
    ids = [event_id(record) for record, _ in rejected]
    kept = set(RejectedEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    RejectedEvent.objects.bulk_create([
        RejectedEvent(
            event_type=EVENT_TYPE.format(source=record.source), event_id=event_id(record), event_time=record.time,
            reason=f"{reason} (back-filled {record.source} row {record.row_id}; run microcred_backfill again "
                   f"once fixed)",
            payload={"backfill": {"source": record.source, "row_id": record.row_id, "user_id": record.user_id,
                                  "course_key": str(record.course_key)}},
        )
        for (record, reason), eid in zip(rejected, ids) if eid not in kept
    ])


# --- Chunks -------------------------------------------------------------------------------------


def chunks(records, size):
    """Lists of about ``size`` records that end at a learner boundary (records come ordered by learner)."""
    chunk = []
    for record in records:
        if len(chunk) >= size and record.user_id != chunk[-1].user_id:
            yield chunk
            chunk = []
        chunk.append(record)
    if chunk:
        yield chunk


def _prepare(chunk, lock=False):
    """
    (counts so far, valid updates of existing users, rejected (record, reason), courses by user id).
    ``lock``: take the learners' evaluation locks first, before anything is read: on REPEATABLE
    READ the snapshot the chunk's evaluation decides from is the one its first read takes.
    """
    counts = Counts(rows_read=len(chunk), learners_read=len({record.user_id for record in chunk}))
    updates, rejected = fact_updates(chunk)
    if lock:
        LearnerLock.take({u.user_id for u in updates})
    known = set(get_user_model().objects.filter(pk__in={u.user_id for u in updates}).values_list("pk", flat=True))
    by_id = {event_id(record): record for record in chunk}
    rejected += [(by_id[u.event_id], f"unknown user id {u.user_id}") for u in updates if u.user_id not in known]
    updates = [u for u in updates if u.user_id in known]
    courses_by_user = {}
    for update in updates:
        courses_by_user.setdefault(update.user_id, set()).add(update.course_key)
    counts.rows_rejected = len(rejected)
    return counts, updates, rejected, courses_by_user


def _count_outcomes(counts, outcomes):
    for outcome in outcomes:
        name = {APPLIED: "facts_applied", UNCHANGED: "facts_unchanged", STALE: "facts_stale",
                DUPLICATE: "facts_duplicate"}[outcome]
        setattr(counts, name, getattr(counts, name) + 1)


def _count_award(counts, slug):
    counts.awards_made += 1
    counts.awards_by_credential[slug] = counts.awards_by_credential.get(slug, 0) + 1


def process_chunk(chunk, report=None, credentials=None) -> Counts:
    """
    Record one chunk's facts and evaluate its learners. Call inside a transaction. ``credentials``
    is a cache of credentials kept between chunks (see ``evaluation.credentials_for_courses``).
    """
    counts, updates, rejected, courses_by_user = _prepare(chunk, lock=True)
    if rejected:
        _keep_rejected(rejected)
    _count_outcomes(counts, record_facts(updates))
    results = evaluation.evaluate_learners(courses_by_user, credentials)
    counts.learners_evaluated = len(results)
    for result in results:
        for slug in result.awarded:
            _count_award(counts, slug)
            if report:
                report(result.user_id, slug, AWARDED)
        for slug in result.revoked:
            counts.revocations += 1
            if report:
                report(result.user_id, slug, REVOKED)
    return counts


def dry_run_chunk(chunk, report=None, credentials=None) -> Counts:
    """What ``process_chunk`` would do, decided by the pure engine over stored facts and history merged in memory."""
    counts, updates, _rejected, courses_by_user = _prepare(chunk)
    outcomes, winners = classify(updates, stored_facts(updates))
    _count_outcomes(counts, outcomes)
    history = {}
    for (user_id, course_key, kind), update in winners.items():
        history.setdefault(user_id, {})[(course_key, kind)] = rules.Fact(
            course_key, kind, update.value, update.event_id, update.event_time)
    contexts = evaluation.load_learners(evaluation.credentials_for_courses(courses_by_user, credentials))
    counts.learners_evaluated = len(contexts)
    for user_id, context in contexts.items():
        state = dataclasses.replace(context.state, facts={**context.state.facts, **history.get(user_id, {})})
        for decision in rules.decide(context.credential_rules, state):
            if decision.award:
                _count_award(counts, decision.slug)
                if report:
                    report(user_id, decision.slug, WOULD_AWARD)
            elif decision.revoke:
                counts.revocations += 1
                if report:
                    report(user_id, decision.slug, WOULD_REVOKE)
    return counts


# --- Runs ---------------------------------------------------------------------------------------


def unfinished_run(scope: Scope):
    """The latest run of this scope that did not finish (stopped, or killed while running), if any."""
    return (BackfillRun.objects.filter(scope=scope.kind, target=scope.target,
                                       state__in=(BackfillRun.State.RUNNING, BackfillRun.State.STOPPED))
            .order_by("-pk").first())


def run_backfill(scope: Scope, *, chunk_size=DEFAULT_CHUNK_SIZE, run: BackfillRun | None = None, dry_run=False,
                 report=None, on_chunk=None) -> Counts:
    """
    Back-fill ``scope`` from the platform adapter's history, chunk by chunk; with ``run``, from
    its cursor on, committing the cursor and the counts with each chunk (a dry run takes no run
    and writes nothing). ``report(user_id, slug, what)`` hears of each award and revocation (made
    or, in a dry run, that would be made); ``on_chunk(chunk, counts)`` after each chunk. Returns
    the totals (the run's, including earlier attempts, when resuming).
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise BackfillError(f"The chunk size must be from 1 to {MAX_CHUNK_SIZE}, not {chunk_size}.")
    if dry_run and run is not None:
        raise BackfillError("A dry run writes nothing, so it has no run to continue.")
    if not dry_run and run is None:
        raise BackfillError("A back-fill that writes needs a BackfillRun to keep its checkpoint in.")
    totals = Counts.of_run(run) if run is not None else Counts()
    records = get_platform().historical_records(scope.course_keys, after_user_id=run.cursor if run else 0,
                                                page_size=chunk_size)
    credentials = {}  # read once, again only when modified
    for chunk in chunks(records, chunk_size):
        if dry_run:
            counts = dry_run_chunk(chunk, report, credentials)
        else:
            counts = _commit_chunk(chunk, run, report, credentials)
        totals.add(counts)
        if on_chunk:
            on_chunk(chunk, counts)
    return totals


def _commit_chunk(chunk, run, report, credentials):
    """Process a chunk and move the run's cursor past it, in one transaction (tried again on a deadlock)."""
    reported = []  # what the successful attempt reports, told once its transaction is committed
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        reported.clear()
        try:
            with transaction.atomic():
                counts = process_chunk(chunk, lambda *args: reported.append(args), credentials)
                saved = _advance(run, chunk[-1].user_id, counts)
        except OperationalError:
            if attempt == CHUNK_ATTEMPTS:
                raise
            log.warning("openedx-microcred back-fill: chunk after learner %s failed (attempt %d), trying again",
                        run.cursor, attempt, exc_info=True)
            time.sleep(attempt)
            continue
        for name, value in saved.items():
            setattr(run, name, value)
        if report:
            for args in reported:
                report(*args)
        return counts
    raise AssertionError("unreachable")  # pragma: no cover


def _advance(run, cursor, counts):
    """Write the run's new cursor and counts (inside the chunk's transaction); return them."""
    total = Counts.of_run(run)
    total.add(counts)
    saved = {name: getattr(total, name) for name in Counts.NUMBERS}
    saved.update(cursor=cursor, chunks=run.chunks + 1, awards_by_credential=total.awards_by_credential,
                 updated_at=timezone.now())
    BackfillRun.objects.filter(pk=run.pk).update(**saved)
    return saved
