"""
Uptake reports: how credentials and stacks are taken up, in aggregates that single no learner out.

Two halves:

* **The I/O edge** (``get_uptake_report``, ``gather``) asks the database for counts with aggregate
  queries: GROUP BY and correlated subqueries, a fixed number of them whatever the number of
  credentials (one more per requirement position for the "stuck" counts). No learner ids reach
  Python; the only per-award values read are the durations behind the median time to earn, streamed
  one credential at a time.
* **The pure part** (``build_report``, ``suppress``, ``bar_chart``) turns those counts into the
  report's figures and applies the minimum cohort (``MICROCRED_REPORT_MIN_COHORT``): a figure about
  fewer learners is suppressed, and so is any figure that would let a suppressed one be worked out.
  Suppressed figures are None in the result, so no page, chart or CSV can show them.

docs/reports.md defines every figure; docs/decisions/0006-uptake-report-privacy.rst explains the rule.
"""

from __future__ import annotations

import statistics
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from opaque_keys.edx.keys import CourseKey

from . import rules
from .app_settings import microcred_settings
from .data import (
    CredentialUptake,
    LevelConversion,
    PlatformUptake,
    ReportCell,
    ReportFilters,
    RequirementStatus,
    RequirementUptake,
    UptakeReport,
)
from .models import Award, CourseDependency, Credential, Delivery, LearnerFact, Progress
from .platform import get_platform

SECONDS_PER_DAY = 86400


def min_cohort() -> int:
    """``MICROCRED_REPORT_MIN_COHORT``: the fewest learners a published figure may describe (at least 1)."""
    try:
        value = int(microcred_settings.REPORT_MIN_COHORT)
    except (TypeError, ValueError):
        value = microcred_settings.default("REPORT_MIN_COHORT")
    return max(1, value)


# --- What the database says: raw counts ------------------------------------------------------------


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
    """(path, repr) of each leaf → the requirement in words, as learners read it on their own page."""
    from .api import _requirement_text  # pylint: disable=import-outside-toplevel  (api imports much)

    courses = {leaf.course for leaf in leaves if isinstance(leaf, rules.CourseLeaf)}
    slugs = {leaf.credential for leaf in leaves if isinstance(leaf, rules.CredentialEarned)}
    names = get_platform().course_names(sorted(courses)) if courses else {}
    titles = dict(Credential.objects.filter(slug__in=slugs).values_list("slug", "title")) if slugs else {}
    labels = {}
    for leaf in leaves:
        data = leaf.to_dict()
        status = RequirementStatus(
            path=leaf.path, kind=leaf.kind, met=False, fraction=0.0, course_key=data.get("course"),
            credential_slug=data.get("credential"), min_percent=data.get("min_percent"), mode=data.get("mode"),
            issuer=data.get("issuer"), achievement=data.get("achievement") or data.get("achievement_type"))
        course = names.get(data["course"], data["course"]) if data.get("course") else None
        title = titles.get(data["credential"], data["credential"]) if data.get("credential") else None
        labels[leaf.path, repr(leaf)] = _requirement_text(status, course, title)
    return labels


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
    progressing = _progressing(ids, since, until, db)
    rows = progressing.order_by().values("credential_id").annotate(n=Count("pk")).values_list("credential_id", "n")
    for pk, n in rows:
        raws[pk].progressing = n
    return progressing


def _gather_awards(raws, ids, since, until, db):
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


# --- Suppression (pure) ------------------------------------------------------------------------------


def suppress(values: dict, identities, minimum: int, implicit=frozenset()) -> set:
    """
    Which cells to suppress. ``values``: cell key → the count it holds (a number of learners);
    ``implicit``: keys of cells that are never shown but that a reader may work out (a difference
    such as "enrolled but started"); ``identities``: (total key, part keys) with
    total = sum of parts, exactly.

    1. Primary: a shown cell with 1 to ``minimum`` − 1 learners is suppressed. An empty group (0)
       singles nobody out and is shown.
    2. Complementary: no suppressed cell, and no implicit cell of 1 to ``minimum`` − 1 learners,
       may be determined by the shown cells through the identities (exact linear algebra, not just
       one identity at a time). While one is, the smallest shown cell of an identity involving it is
       suppressed as well. Implicit cells of 0 learners count as known: a reader may know from the
       structure that a group is empty (nobody holds a stack without the level below).
    """

    def sensitive(key):
        return values[key] != 0 and values[key] < minimum

    suppressed = {key for key in values if key not in implicit and sensitive(key)}
    totals = {total for total, _parts in identities}
    for component in _components(identities):
        within = _identities_within(identities, component)
        while True:
            unknown = {key for key in component if key in suppressed or (key in implicit and values[key] != 0)}
            protected = {key for key in unknown if key in suppressed or sensitive(key)}
            exposed = _determined(unknown, within) & protected
            if not exposed:
                break
            # One complement per exposed cell, in one round; an exposed cell next to one just handled
            # (in an identity with it or with its complement) waits for the next round: it may no
            # longer be exposed then.
            near, added = set(), set()
            for key in sorted(exposed, key=repr):
                if key in near:
                    continue
                involved = [identity for identity in within if key == identity[0] or key in identity[1]]
                choice = _complement(involved, within, values, suppressed | added, implicit, totals)
                if choice is not None:
                    added.add(choice)
                    near.update(cell for total, parts in within if {key, choice} & {total, *parts}
                                for cell in (total, *parts))
            if not added:  # nothing left to hide: cannot happen with consistent identities
                break
            suppressed |= added
    return suppressed


def _components(identities):
    """The cells of the identities, grouped into sets linked by shared identities (union-find)."""
    parent = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for total, parts in identities:
        for part in parts:
            parent[find(part)] = find(total)
    groups = {}
    for key in list(parent):
        groups.setdefault(find(key), set()).add(key)
    return list(groups.values())


def _identities_within(identities, component):
    return [(total, parts) for total, parts in identities if total in component]


def _determined(unknown, identities) -> set:
    """
    The unknown cells whose value the identities fix, given every other cell: exact (fractions),
    and sparse. A row with a variable that no other row has (most implicit cells) is set aside:
    that variable can take any value, so the row says nothing about the others, and the variable
    itself is fixed exactly when the rest of its row is a combination of the other rows.
    """
    rows = []
    for total, parts in identities:
        row = {}
        for key, sign in ((total, 1), *((part, -1) for part in parts)):
            if key in unknown:
                row[key] = row.get(key, 0) + sign
        row = {key: Fraction(value) for key, value in row.items() if value}
        if row:
            rows.append(row)
    seen = Counter(key for row in rows for key in row)
    basis = []  # (pivot, row with 1 at the pivot and 0 at every earlier pivot)

    def reduce(vector):
        vector = dict(vector)
        for pivot, row in basis:
            factor = vector.get(pivot)
            if factor:
                for key, value in row.items():
                    vector[key] = vector.get(key, 0) - factor * value
                vector = {key: value for key, value in vector.items() if value}
        return vector

    private, shared = [], set()
    for row in rows:
        if any(seen[key] == 1 for key in row):
            private.append(row)
            continue
        shared.update(row)
        rest = reduce(row)
        if rest:
            pivot = min(rest, key=repr)
            basis.append((pivot, {key: value / rest[pivot] for key, value in rest.items()}))
    determined = {key for key in shared if not reduce({key: Fraction(1)})}
    for row in private:
        alone = [key for key in row if seen[key] == 1]
        if len(alone) == 1 and not reduce({key: value for key, value in row.items() if key != alone[0]}):
            determined.add(alone[0])
    return determined


def _complement(involved, within, values, suppressed, implicit, totals):
    """
    The shown cell to suppress next: the smallest one in the identities ``involved`` with an
    exposed cell (parts before totals), else in the rest of its component.
    """

    def candidates(pool):
        return {key for total, parts in pool for key in (total, *parts)
                if key not in suppressed and key not in implicit}

    pool = candidates(involved) or candidates(within)
    if not pool:
        return None
    return min(pool, key=lambda key: (values[key], key in totals, repr(key)))


# --- The report (pure) --------------------------------------------------------------------------------


def build_report(raws, conversions, minimum, filters=None, generated_at=None) -> UptakeReport:
    """The report's figures from the raw counts, with every cell under the minimum cohort suppressed."""
    values, implicit, identities = {}, set(), []

    def shown(key, value):
        values[key] = value
        return key

    def hidden(key, value):
        values[key] = value
        implicit.add(key)
        return key

    by_id = {raw.id: raw for raw in raws}
    for raw in raws:
        c = raw.id
        for name in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            shown((name, c), getattr(raw, name))
        # enrolled = not started + started (the rest of the enrolled learners).
        started = hidden(("started", c), raw.enrolled - raw.not_started)
        identities.append((("enrolled", c), (("not_started", c), started)))
        for path, _label in raw.leaves:
            stuck = raw.stuck.get(path, 0)
            # progressing = missing this requirement + having met it.
            identities.append((("progressing", c), (
                shown(("stuck", c, path), stuck), hidden(("not_stuck", c, path), raw.progressing - stuck))))
        for platform, (delivered, accepted) in raw.deliveries.items():
            # earned = delivered to this platform + not; delivered = accepted upstream + not.
            identities.append((("earned", c), (shown(("delivered", c, platform), delivered),
                                               hidden(("undelivered", c, platform), raw.earned - delivered))))
            identities.append((("delivered", c, platform), (shown(("accepted", c, platform), accepted),
                                                            hidden(("unaccepted", c, platform), delivered - accepted))))
    for conv in conversions:
        lower, upper = by_id[conv.lower], by_id[conv.upper]
        edge = (conv.lower, conv.upper)
        # earned(lower) = holding both + lower only; earned(upper) = holding both + upper only.
        identities.append((("earned", conv.lower), (shown(("converted", *edge), conv.converted),
                                                    hidden(("lower_only", *edge), lower.earned - conv.converted))))
        identities.append((("earned", conv.upper), (("converted", *edge),
                                                    hidden(("upper_only", *edge), upper.earned - conv.converted))))

    suppressed = suppress(values, identities, minimum, implicit)

    def cell(key):
        if key in suppressed:
            return ReportCell(None, True)
        return ReportCell(values[key])

    credentials = []
    for raw in raws:
        c = raw.id
        median_hidden = 0 < raw.durations < minimum
        stuck = [RequirementUptake(path, label, cell(("stuck", c, path))) for path, label in raw.leaves]
        credentials.append(CredentialUptake(
            credential_slug=raw.slug, title=raw.title, org=raw.org, course_key=raw.course_key, state=raw.state,
            is_stack=raw.is_stack, stack_kind=raw.stack_kind,
            enrolled=cell(("enrolled", c)), not_started=cell(("not_started", c)),
            progressing=cell(("progressing", c)), earned=cell(("earned", c)), revoked=cell(("revoked", c)),
            median_days_to_earn=ReportCell(None, True) if median_hidden else ReportCell(raw.median_days),
            stuck=_stuck_order(stuck),
            deliveries=[PlatformUptake(platform, platform_label(platform), cell(("delivered", c, platform)),
                                       cell(("accepted", c, platform))) for platform in sorted(raw.deliveries)],
        ))
    levels = []
    for conv in conversions:
        lower, upper = by_id[conv.lower], by_id[conv.upper]
        base, converted = cell(("earned", conv.lower)), cell(("converted", conv.lower, conv.upper))
        if base.suppressed or converted.suppressed:
            rate = ReportCell(None, True)
        else:
            rate = ReportCell(round(100 * converted.value / base.value, 1) if base.value else None)
        levels.append(LevelConversion(
            from_slug=lower.slug, from_title=lower.title, to_slug=upper.slug, to_title=upper.title,
            vertical=conv.vertical, earned_from=base, converted=converted, rate=rate))
    report_cells = [*(c for u in credentials for c in _cells_of(u)),
                    *(c for lv in levels for c in (lv.converted, lv.rate))]
    return UptakeReport(
        min_cohort=minimum, filters=filters or ReportFilters(), generated_at=generated_at or timezone.now(),
        credentials=credentials, conversions=levels, suppressed=sum(1 for c in report_cells if c.suppressed),
    )


def _cells_of(uptake: CredentialUptake):
    yield from (uptake.enrolled, uptake.not_started, uptake.progressing, uptake.earned, uptake.revoked,
                uptake.median_days_to_earn)
    yield from (s.missing for s in uptake.stuck)
    for d in uptake.deliveries:
        yield from (d.delivered, d.accepted)


def _stuck_order(stuck):
    """
    Most missed first; suppressed ones after the rest, in criteria order, so that the order tells
    nothing about their size.
    """
    shown = sorted((s for s in stuck if not s.missing.suppressed), key=lambda s: -s.missing.value)
    return shown + [s for s in stuck if s.missing.suppressed]


def platform_label(platform):
    from .api import PLATFORM_LABELS  # pylint: disable=import-outside-toplevel

    return PLATFORM_LABELS.get(platform, platform)


def get_uptake_report(*, orgs=None, org=None, course_key=None, start=None, end=None, minimum=None) -> UptakeReport:
    """
    The uptake report of the credentials of ``orgs`` (None: every organization), narrowed to
    ``org`` and to the credentials of or depending on ``course_key``, over the days ``start`` to
    ``end`` (dates, both included; None: open). See docs/reports.md.
    """
    minimum = min_cohort() if minimum is None else max(1, int(minimum))
    since, until = date_range(start, end)
    raws, conversions = gather(report_credentials(orgs=orgs, org=org, course_key=course_key), since, until)
    filters = ReportFilters(org=org or None, course_key=str(course_key) if course_key else None, start=start, end=end)
    return build_report(raws, conversions, minimum, filters)


# --- Showing it: text of a cell, charts (pure) ----------------------------------------------------------

COUNT, DAYS, PERCENT = "count", "days", "percent"


def suppressed_text() -> str:
    return _("hidden")


def cell_text(cell: ReportCell, unit=COUNT) -> str:
    """How a cell reads on the page, in charts and in CSV: never the number of a suppressed cell."""
    if cell.suppressed:
        return suppressed_text()
    if cell.value is None:
        return "—"
    if unit == DAYS:
        return _("%(days)s days") % {"days": f"{cell.value:.1f}"}
    if unit == PERCENT:
        return f"{cell.value:.1f} %"
    return str(int(cell.value))


def csv_value(cell: ReportCell, unit=COUNT) -> str:
    """A cell's value in CSV: the number (days and percent with one decimal), empty if suppressed or not applicable."""
    if cell.suppressed or cell.value is None:
        return ""
    return f"{cell.value:.1f}" if unit in (DAYS, PERCENT) else str(int(cell.value))


@dataclass(frozen=True)
class ChartBar:
    key: str  # which figure (data-figure in the page)
    label: str
    text: str  # the value as read (or "hidden")
    suppressed: bool
    y: float
    width: float  # 0 when suppressed, empty or not applicable: no bar is drawn
    text_x: float
    # The label in lines that fit beside the bar (none is cut short): (baseline y in the bar, text).
    lines: tuple = ()


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart, drawn as SVG by reports/_bar_chart.html."""

    id: str
    title: str
    description: str
    bars: list
    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int


def bar_chart(chart_id, title, items, *, unit=COUNT, scale=None, label_width=230, plot_width=340) -> BarChart:
    """
    ``items``: (key, label, ReportCell). Bars are scaled to ``scale`` (default: the largest shown
    value); a suppressed cell gets no bar at all, since its length would give the number away.
    """
    bar_height, gap, line_height = 22, 10, 17
    shown_values = [c.value for _key, _label, c in items if not c.suppressed and c.value is not None]
    top = scale or max(shown_values, default=0) or 1
    bars, y = [], 0
    for key, label, c in items:
        width = 0.0
        if not c.suppressed and c.value:
            width = round(plot_width * min(c.value, top) / top, 1)
        # About 7.5 px a character at 14 px: a label wraps at the words rather than being cut.
        lines = tuple(textwrap.wrap(str(label), width=max(8, label_width // 8), break_long_words=True)) or ("",)
        bars.append(ChartBar(key=key, label=label, text=cell_text(c, unit), suppressed=c.suppressed,
                             y=y, width=width, text_x=label_width + width + 6,
                             lines=tuple((16 + i * line_height, line) for i, line in enumerate(lines))))
        y += max(bar_height, 16 + (len(lines) - 1) * line_height + 6) + gap
    description = "; ".join(f"{b.label}: {b.text}" for b in bars)
    # Room right of the longest bar for its value ("hidden", "12 %", ...).
    text_room = max([120] + [8 * len(b.text) + 12 for b in bars])
    return BarChart(id=chart_id, title=title, description=description, bars=bars,
                    width=label_width + plot_width + text_room, height=max(bar_height + gap, y),
                    label_width=label_width, plot_width=plot_width, bar_height=bar_height)


def funnel_chart(uptake: CredentialUptake, chart_id) -> BarChart:
    """Enrolled → progressing → earned, and revoked, of one credential."""
    slug = uptake.credential_slug
    return bar_chart(chart_id, _("Uptake of %(title)s") % {"title": uptake.title}, [
        (f"{slug}:enrolled", _("Enrolled"), uptake.enrolled),
        (f"{slug}:progressing", _("Progressing"), uptake.progressing),
        (f"{slug}:earned", _("Earned"), uptake.earned),
        (f"{slug}:revoked", _("Revoked"), uptake.revoked),
    ])


def conversion_chart(report: UptakeReport, chart_id) -> BarChart | None:
    """Per stack edge: the share of a credential's holders who also hold the stack above it."""
    if not report.conversions:
        return None
    return bar_chart(chart_id, _("Conversion to the next level"), [
        (f"{c.from_slug}>{c.to_slug}:rate", f"{c.from_title} → {c.to_title}", c.rate) for c in report.conversions
    ], unit=PERCENT, scale=100)


# --- CSV ----------------------------------------------------------------------------------------------

CSV_HEADER = ("org", "course_key", "credential", "title", "figure", "detail", "value", "suppressed", "min_cohort")


def _csv_text(text):
    """Text as a spreadsheet shows it, never as a formula (CSV injection)."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(report: UptakeReport):
    """The report as CSV rows (header first): one row per figure; a suppressed one has no value."""
    yield CSV_HEADER

    def row(uptake_or_ids, figure, cell, unit=COUNT, detail=""):
        org, course, slug, title = uptake_or_ids
        return (_csv_text(org), _csv_text(course or ""), _csv_text(slug), _csv_text(title), figure,
                _csv_text(detail), csv_value(cell, unit), "true" if cell.suppressed else "false",
                str(report.min_cohort))

    by_slug = {}
    for u in report.credentials:
        ids = (u.org, u.course_key, u.credential_slug, u.title)
        by_slug[u.credential_slug] = ids
        for figure in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            yield row(ids, figure, getattr(u, figure))
        yield row(ids, "median_days_to_earn", u.median_days_to_earn, DAYS)
        for s in u.stuck:
            yield row(ids, "missing_requirement", s.missing, detail=f"{s.path}: {s.label}")
        for d in u.deliveries:
            yield row(ids, "delivered", d.delivered, detail=d.platform)
            yield row(ids, "accepted_upstream", d.accepted, detail=d.platform)
    for c in report.conversions:
        ids = by_slug[c.from_slug]
        yield row(ids, "converted_to", c.converted, detail=c.to_slug)
        yield row(ids, "conversion_rate_percent", c.rate, PERCENT, detail=c.to_slug)
