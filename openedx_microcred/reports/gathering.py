"""
What the database says: the raw counts behind an uptake report, never shown as they are.

The I/O edge of the reports: counts come from aggregate queries only (GROUP BY and correlated
subqueries), a fixed number of them whatever the number of credentials (one more per requirement
position for the "stuck" counts). No learner ids reach Python; the only per-award values read are
the durations behind the median time to earn, streamed one credential at a time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey

from .. import requirement_words, rules
from ..backends import PLATFORM_LABELS
from ..models import Award, CourseDependency, Credential, Delivery, LearnerFact, Progress, TrustedIssuer
from ..platform import get_platform

SECONDS_PER_DAY = 86400


@dataclass
class RawCredential:
    """The counts of one credential, before suppression (never shown as they are)."""

    id: int
    slug: str
    title: str
    org: str
    course_key: str | None
    state: str
    stack_kind: str
    is_stack: bool
    leaves: list = field(default_factory=list)  # [(path, label)] in criteria order
    enrolled: int = 0
    not_started: int = 0
    progressing: int = 0
    earned: int = 0
    revoked: int = 0
    median_days: float | None = None  # over ``durations`` awards
    durations: int = 0
    stuck: dict = field(default_factory=dict)  # leaf path → progressing learners who have not met it
    deliveries: dict = field(default_factory=dict)  # platform → (delivered, accepted)
    # platform → its name as shown: words are looked up here, as the leaves' are, so that building stays pure.
    platform_labels: dict = field(default_factory=dict)


@dataclass
class RawConversion:
    """Of the learners holding ``lower`` (a credential a stack requires), how many hold the stack ``upper``."""

    lower: int  # credential id
    upper: int
    converted: int
    vertical: bool


def date_range(start: date | None, end: date | None):
    """The datetimes [since, until) of the days ``start`` to ``end`` (both included) in the current time zone."""
    zone = timezone.get_current_timezone()
    since = timezone.make_aware(datetime.combine(start, time.min), zone) if start else None
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone) if end else None
    return since, until


def _in_range(name, since, until) -> Q:
    """The filter of field ``name`` within [since, until), either end open when None."""
    q = Q()
    if since is not None:
        q &= Q(**{f"{name}__gte": since})
    if until is not None:
        q &= Q(**{f"{name}__lt": until})
    return q


def report_credentials(*, orgs=None, org=None, course_key=None) -> list[Credential]:
    """
    The credentials a report covers: every one that is not a draft, of ``orgs`` (None: all), of
    ``org`` if given, and, if ``course_key`` is given, the course's own and every one that depends
    on the course (stacks built on it, wherever they live).
    """
    credentials = Credential.objects.exclude(state=Credential.State.DRAFT)
    if orgs is not None:
        credentials = credentials.filter(org__in=list(orgs))
    if org:
        credentials = credentials.filter(org=org)
    if course_key:
        key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
        credentials = credentials.filter(
            Q(course_key=key) | Q(pk__in=CourseDependency.objects.filter(course_key=key).values("credential_id")))
    return list(credentials.order_by("org", "title", "slug"))


def _count(queryset, group):
    """
    A correlated subquery: how many distinct learners ``queryset`` has (0 if none). ``group`` is a
    column with one value throughout ``queryset``, to aggregate over in a way every database takes.
    """
    counted = (queryset.order_by().values(group)
               .annotate(n=Count("user_id", distinct=True)).values("n")[:1])
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _active_award_of_outer(user_ref, credential_ref):
    return Award.objects.filter(user_id=user_ref, credential_id=credential_ref, current=True)


def report_database() -> str:
    """The database the report reads: the read replica where there is one (as in edx-platform), else default."""
    return "read_replica" if "read_replica" in settings.DATABASES else "default"


def gather(credentials, since=None, until=None) -> tuple[list[RawCredential], list[RawConversion]]:
    """
    The raw counts of ``credentials`` (Credential objects) for the period [since, until), read with
    aggregate queries only, in one transaction on one snapshot (SQLite and MySQL give one; on
    PostgreSQL the transaction is made REPEATABLE READ when it is not inside another one), so that
    the figures add up as the suppression assumes.
    """
    leaves = {c.pk: _leaves(c) for c in credentials}
    raws = {c.pk: _raw(c, leaves[c.pk]) for c in credentials}
    if not raws:
        return [], []
    ids = list(raws)
    labels = _leaf_labels([leaf for tree in leaves.values() for leaf in tree])
    for pk, raw in raws.items():
        raw.leaves = [(leaf.path, labels[leaf.path, repr(leaf)]) for leaf in leaves[pk]]
    db = report_database()
    connection = connections[db]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=db):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _gather_enrollment(raws, ids, since, until, db)
        progressing = _gather_progress(raws, ids, since, until, db)
        _gather_awards(raws, ids, since, until, db)
        _gather_stuck(raws, progressing)
        _gather_deliveries(raws, ids, since, until, db)
        _gather_durations(raws, ids, since, until, db)
        conversions = _gather_conversions(raws, ids, since, until, db)
    return list(raws.values()), conversions


def _leaves(credential):
    try:
        return list(credential.requirement().leaves())
    except rules.InvalidCriteria:
        return []


def _raw(credential, leaves):
    return RawCredential(
        id=credential.pk, slug=credential.slug, title=credential.title, org=credential.org,
        course_key=str(credential.course_key) if credential.course_key else None, state=credential.state,
        stack_kind=credential.stack_kind or "",
        is_stack=any(isinstance(leaf, rules.CredentialEarned) for leaf in leaves),
    )


def _leaf_labels(leaves) -> dict:
    """(path, repr) of each leaf → the requirement in words, as learners read it (requirement_words)."""
    courses = {leaf.course for leaf in leaves if isinstance(leaf, rules.CourseLeaf)}
    slugs = {leaf.credential for leaf in leaves if isinstance(leaf, rules.CredentialEarned)}
    issuers = {leaf.issuer for leaf in leaves if isinstance(leaf, rules.ExternalCredentialHeld)}
    names = get_platform().course_names(sorted(courses)) if courses else {}
    titles = dict(Credential.objects.filter(slug__in=slugs).values_list("slug", "title")) if slugs else {}
    issuer_names = dict(TrustedIssuer.objects.filter(issuer__in=issuers).exclude(name="").values_list(
        "issuer", "name")) if issuers else {}
    return {(leaf.path, repr(leaf)): requirement_words.text(leaf, names, titles, issuer_names) for leaf in leaves}


def _gather_enrollment(raws, ids, since, until, db):
    """Enrolled learners, and those of them who have not started, per credential: one query."""
    dependencies = CourseDependency.objects.filter(credential_id=OuterRef(OuterRef("pk"))).values("course_key")
    enrolled = LearnerFact.objects.filter(
        Q(kind=rules.ENROLLMENT, value__is_active=True, course_key__in=Subquery(dependencies))
        & _in_range("event_time", since, until))
    started_progress = Progress.objects.filter(user_id=OuterRef("user_id"), credential_id=OuterRef(OuterRef("pk")),
                                               fraction__gt=0)
    started_award = _active_award_of_outer(OuterRef("user_id"), OuterRef(OuterRef("pk")))
    not_started = enrolled.filter(~Exists(started_progress), ~Exists(started_award))
    rows = (Credential.objects.using(db).filter(pk__in=ids)
            .annotate(n_enrolled=_count(enrolled, "kind"), n_not_started=_count(not_started, "kind"))
            .values_list("pk", "n_enrolled", "n_not_started"))
    for pk, n_enrolled, n_not_started in rows:
        raws[pk].enrolled, raws[pk].not_started = n_enrolled, n_not_started


def _progressing(ids, since, until, db):
    """Progress rows of learners on their way: progress above 0, no active award (changed in the period)."""
    earned = _active_award_of_outer(OuterRef("user_id"), OuterRef("credential_id"))
    return Progress.objects.using(db).filter(
        Q(credential_id__in=ids, fraction__gt=0) & _in_range("modified", since, until) & ~Exists(earned))


def _gather_progress(raws, ids, since, until, db):
    """Count each credential's learners on their way into ``raws``; returns their Progress rows."""
    progressing = _progressing(ids, since, until, db)
    rows = progressing.order_by().values("credential_id").annotate(n=Count("pk")).values_list("credential_id", "n")
    for pk, n in rows:
        raws[pk].progressing = n
    return progressing


def _gather_awards(raws, ids, since, until, db):
    """Count each credential's learners who earned it and who had it revoked in the period into ``raws``."""
    awards = Award.objects.using(db).filter(credential_id__in=ids).order_by()
    earned = awards.filter(Q(current=True) & _in_range("issued_at", since, until))
    for pk, n in earned.values("credential_id").annotate(n=Count("user_id", distinct=True)).values_list(
            "credential_id", "n"):
        raws[pk].earned = n
    revoked = awards.filter(Q(status=Award.Status.REVOKED) & _in_range("revoked_at", since, until))
    for pk, n in revoked.values("credential_id").annotate(n=Count("user_id", distinct=True)).values_list(
            "credential_id", "n"):
        raws[pk].revoked = n


def _gather_stuck(raws, progressing):
    """
    Per requirement leaf, the progressing learners who have not met it: one query per position in
    the stored requirement lists, grouped by the path stored there (so progress stored under older
    criteria is counted under the leaf it was about, or not at all).
    """
    longest = max((len(raw.leaves) for raw in raws.values()), default=0)
    for index in range(longest):
        ids = [pk for pk, raw in raws.items() if len(raw.leaves) > index]
        rows = (progressing.filter(credential_id__in=ids, **{f"requirements__{index}__met": False})
                .order_by().values("credential_id", leaf_path=KT(f"requirements__{index}__path"))
                .annotate(n=Count("pk")).values_list("credential_id", "leaf_path", "n"))
        for pk, path, n in rows:
            raw = raws[pk]
            if any(path == leaf_path for leaf_path, _label in raw.leaves):
                raw.stuck[path] = raw.stuck.get(path, 0) + n
    for raw in raws.values():
        for path, _label in raw.leaves:
            raw.stuck.setdefault(path, 0)


def _gather_deliveries(raws, ids, since, until, db):
    """Per credential and platform: holders of an active award (issued in the period) it was delivered to."""
    deliveries = Delivery.objects.using(db).filter(
        Q(action=Delivery.Action.ISSUE, award__credential_id__in=ids, award__current=True)
        & _in_range("award__issued_at", since, until))
    delivered = Q(state=Delivery.State.DELIVERED)
    rows = (deliveries.order_by().values("award__credential_id", "platform")
            .annotate(delivered=Count("award__user_id", distinct=True, filter=delivered),
                      accepted=Count("award__user_id", distinct=True,
                                     filter=delivered & Q(upstream_state__iexact="accepted")))
            .values_list("award__credential_id", "platform", "delivered", "accepted"))
    for pk, platform, n_delivered, n_accepted in rows:
        raws[pk].deliveries[platform] = (n_delivered, n_accepted)
        raws[pk].platform_labels[platform] = PLATFORM_LABELS.get(platform, platform)


def _gather_durations(raws, ids, since, until, db):
    """
    The median of (award issued − first enrollment in one of the credential's courses), in days, over
    the active awards issued in the period. Only durations are read, ordered by credential, so one
    credential's list is held at a time.
    """
    dependencies = CourseDependency.objects.filter(credential_id=OuterRef(OuterRef("credential_id"))).values(
        "course_key")
    first_enrollment = (LearnerFact.objects.filter(kind=rules.ENROLLMENT, user_id=OuterRef("user_id"),
                                                   course_key__in=Subquery(dependencies))
                        .order_by("event_time").values("event_time")[:1])
    # The subquery appears once: awards with no enrollment fact (NULL) or one after the award are
    # skipped below rather than filtered in SQL, which would repeat it.
    awards = (Award.objects.using(db)
              .filter(Q(credential_id__in=ids, current=True) & _in_range("issued_at", since, until))
              .annotate(duration=ExpressionWrapper(F("issued_at") - Subquery(first_enrollment),
                                                   output_field=DurationField()))
              .order_by("credential_id").values_list("credential_id", "duration"))
    current, durations = None, []

    def finish():
        if current is not None and durations:
            raws[current].durations = len(durations)
            raws[current].median_days = round(statistics.median(durations) / SECONDS_PER_DAY, 1)

    for pk, duration in awards.iterator(chunk_size=2000):
        if pk != current:
            finish()
            current, durations = pk, []
        if duration is not None and duration >= timedelta(0):
            durations.append(duration.total_seconds())
    finish()


def _gather_conversions(raws, ids, since, until, db) -> list[RawConversion]:
    """For every stack edge inside the report (stack → credential it requires): holders of both, one query."""
    edges = Credential.requires.through.objects.using(db).filter(from_credential_id__in=ids, to_credential_id__in=ids)
    holds_lower = Award.objects.filter(
        Q(credential_id=OuterRef(OuterRef("to_credential_id")), user_id=OuterRef("user_id"), current=True)
        & _in_range("issued_at", since, until))
    holds_both = Award.objects.filter(Q(credential_id=OuterRef("from_credential_id"), current=True)
                                      & _in_range("issued_at", since, until) & Q(Exists(holds_lower)))
    rows = (edges.annotate(converted=_count(holds_both, "credential_id"))
            .values_list("to_credential_id", "from_credential_id", "converted"))
    return sorted(
        (RawConversion(lower, upper, converted, raws[upper].stack_kind == Credential.StackKind.VERTICAL)
         for lower, upper, converted in rows),
        key=lambda c: (raws[c.upper].org, raws[c.lower].title, raws[c.upper].title),
    )
