"""
Evaluating one learner: load what the rules engine needs, let it decide, store what it decided.

This is the I/O edge around ``rules.decide``. It reads only the credentials that depend on the
course that changed (through the CourseDependency index, which already includes the stacks above
them), so its cost does not grow with the size of the catalog.

``evaluate_learners`` does the same for many learners in the same few queries (the back-fill uses
it); both load through ``load_learners`` and write through ``store_decisions``, in one transaction
that first takes the learners' evaluation locks (``LearnerLock.take``): evaluations of one learner run
one after the other, each deciding from what the one before stored (docs/decisions/0010).
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import rules, timeline
from .app_settings import microcred_settings
from .awards import award_credential, move_earned_time, revoke_awards
from .data import EvaluationResult
from .facts import learners_waiting_longest, mark_evaluated, pending_facts, pending_facts_of
from .models import (
    Award,
    CourseDependency,
    Credential,
    ExternalCredential,
    LearnerEvent,
    LearnerFact,
    LearnerLock,
    Progress,
    course_key_text,
)
from .platform import get_platform, parse_course_key

log = logging.getLogger(__name__)

_RULE_CACHE = {}
_RULE_CACHE_SIZE = 20000


def credential_rule(credential) -> rules.CredentialRule:
    """The parsed rule of a credential, cached until the credential is modified."""
    key = (credential.pk, credential.modified, credential.revocation_policy)
    rule = _RULE_CACHE.get(key)
    if rule is None:
        if len(_RULE_CACHE) >= _RULE_CACHE_SIZE:
            _RULE_CACHE.clear()
        rule = _RULE_CACHE[key] = credential.rule()
    return rule


def affected_credentials(user_id, course_key=None):
    """
    Active credentials an event in ``course_key`` can change (all the learner's courses, and the
    issuers of all the learner's external credentials, if None).
    """
    active = Credential.objects.filter(state=Credential.State.ACTIVE)
    if course_key is not None:
        return list(active.filter(course_dependencies__course_key=course_key))
    courses = LearnerFact.objects.filter(user_id=user_id).values("course_key")
    issuers = ExternalCredential.objects.filter(user_id=user_id).values("issuer")
    return list(active.filter(Q(course_dependencies__course_key__in=courses)
                              | Q(external_dependencies__issuer__in=issuers)).distinct())


def evaluate_learner_for_issuers(user_id, issuers) -> EvaluationResult:
    """Re-evaluate the credentials that depend on external credentials of ``issuers``, for one learner."""
    credentials = list(Credential.objects.filter(state=Credential.State.ACTIVE,
                                                 external_dependencies__issuer__in=set(issuers)).distinct())
    if not credentials:
        return EvaluationResult(user_id, [], [], [])
    return _evaluate({user_id: credentials})[0]


def evaluate_learner(user_id, course_key=None) -> EvaluationResult:
    """
    Evaluate the credentials an event in ``course_key`` can change; with no course (a credential
    was published: its learners are evaluated), re-derive the learner over their timeline.
    """
    credentials = affected_credentials(user_id, course_key)
    if not credentials:
        # Nothing depends on them: their events are taken into account, by deciding nothing.
        new = LearnerEvent.objects.filter(user_id=user_id, evaluated=False)
        (new.filter(course_key=course_key) if course_key else new).update(evaluated=True)
        return EvaluationResult(user_id, [], [], [])
    return _evaluate({user_id: credentials}, {user_id: course_key} if course_key else None)[0]


# The most facts MICROCRED_EVALUATION_BATCH may ask one task to take: its learners' locks are held
# for the whole batch (about 10 ms a learner here), and its reads list every learner.
MAX_EVALUATION_BATCH = 10_000


def evaluation_batch_problem(value) -> str | None:
    """What is wrong with ``value`` as MICROCRED_EVALUATION_BATCH (system check E003), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EVALUATION_BATCH:
        return (f"MICROCRED_EVALUATION_BATCH must be a whole number from 1 to {MAX_EVALUATION_BATCH:,} "
                f"(facts one evaluation task takes), not {value!r}; the default is used meanwhile")
    return None


def evaluation_batch() -> int:
    """MICROCRED_EVALUATION_BATCH, or its default while the operator's value is unusable (check E003 says why)."""
    value = microcred_settings.EVALUATION_BATCH
    return microcred_settings.default("EVALUATION_BATCH") if evaluation_batch_problem(value) else value


def evaluate_pending(user_id, course_key, batch) -> list | None:
    """
    A worker's micro-batch: evaluate this learner, whose event in ``course_key`` queued the task,
    and with them the learners of the ``batch`` - 1 facts that have waited longest, each for every
    fact of theirs pending, in one transaction and the same few queries as one learner
    (``load_learners``, ``store_decisions``). The other learners' own tasks then find nothing
    pending and stop after one query. Returns the EvaluationResult of each learner evaluated, or
    None when this learner's facts of the course are no longer pending (an earlier batch read them).

    Each learner is decided exactly as alone (``_evaluate``): one new event, in the one course
    read for them and newer than what they were decided from, is decided from the latest facts;
    anything else is re-derived over their timeline. The other learners are taken only if no other
    worker holds them (``LearnerLock.take_free``): batches wait only for their own learner, and
    never evaluate one learner at the same time. The pending facts are read under the locks and
    before the evaluation, so a fact an event changes meanwhile stays pending for its own task.
    """
    if not pending_facts(user_id, parse_course_key(course_key)):
        return None
    others = set(learners_waiting_longest(batch - 1)) - {user_id} if batch > 1 else set()
    if others:
        LearnerLock.make_rows(others)
    with transaction.atomic():
        LearnerLock.take([user_id])
        locked = [user_id, *LearnerLock.take_free(others)]
        # Read under the locks: a learner another batch evaluated while this one waited has nothing
        # pending any more, and is not evaluated again. Every fact of theirs pending is taken, so
        # that one evaluation takes all of it.
        pending = _by_learner(pending_facts_of(locked))
        if not pending:
            return []
        courses = {learner: {course for _, _, _, course in rows} for learner, rows in pending.items()}
        if len(pending) == 1 and all(len(mine) == 1 for mine in courses.values()):
            ((learner, (course,)),) = courses.items()
            found = affected_credentials(learner, parse_course_key(course))
            credentials_by_user = {learner: found} if found else {}
        else:
            credentials_by_user = credentials_for_courses(courses)
        results = _evaluate(credentials_by_user, {learner: next(iter(mine)) for learner, mine in courses.items()
                                                  if len(mine) == 1}, locked=True)
        undecided = [learner for learner in pending if learner not in credentials_by_user]
        for learner in undecided:
            # Nothing depends on these courses: their events are taken into account, by deciding nothing.
            LearnerEvent.objects.filter(user_id=learner, evaluated=False,
                                        course_key__in=[parse_course_key(c) for c in courses[learner]]
                                        ).update(evaluated=True)
    # After the commit, as a single evaluation does: the facts' rows are not held while the batch
    # runs, so a receiver writing one of them never waits for it. A fact an event changed meanwhile
    # keeps its mark (another event id, or an event not evaluated yet).
    mark_evaluated([(pk, event_id) for rows in pending.values() for pk, event_id, _, _ in rows])
    return results + [EvaluationResult(learner, [], [], []) for learner in undecided]


def _by_learner(rows):
    """Pending fact rows (pk, event id, user id, course) by user id."""
    by_learner = {}
    for row in rows:
        by_learner.setdefault(row[2], []).append(row)
    return by_learner


def _evaluate(credentials_by_user, course_by_user=None, locked=False) -> list:
    """
    Lock the learners, load them, decide and store: one transaction, so every decision is taken
    from a fresh view. A learner whose one new event is in the course evaluated and newer than
    anything decided from before is decided from the latest facts (``rules.decide``); any other
    (an event that came late, several new events, no course given: ``course_by_user`` None) is
    re-derived over their timeline (``timeline.replay``, docs/decisions/0016).
    """
    if not credentials_by_user:
        return []
    with transaction.atomic():
        if not locked:  # the caller has taken the locks, first thing in its transaction
            LearnerLock.take(credentials_by_user)
        contexts = load_learners(credentials_by_user)
        # Read after the facts: every event the facts read hold is among these, so "one new event"
        # is true of what was read (on READ COMMITTED, a later read may see more).
        pending, through = _new_events(list(contexts))
        in_order, late = [], []
        for user_id, context in contexts.items():
            course = (course_by_user or {}).get(user_id)
            new = pending.get(user_id, [])
            # No evaluated_through: no event of the learner evaluated yet (migration 0015 set it for the others).
            if course is not None and len(new) <= 1 and all(
                    c == str(course) and (through.get(user_id) is None or t > through[user_id]) for _, c, t in new):
                in_order.append((context, rules.decide(context.credential_rules, context.state), new))
            else:
                late.append(user_id)
        results = store_decisions([(context, decisions) for context, decisions, _ in in_order],
                                  earned_at=[_state_time(context.state, new) for context, _, new in in_order])
        _mark_evaluated({context.user_id: new for context, _, new in in_order}, through)
        by_user = {result.user_id: result for result in results}
        if late:
            by_user.update((r.user_id, r) for r in _rederive(late, credentials_by_user, pending, through))
        return [by_user[user_id] for user_id in contexts]


def _new_events(user_ids):
    """Per learner: the events not evaluated yet, as (pk, course key, event time); and evaluated_through."""
    pending = {}
    for pk, user_id, course_key, when in (
            _of_learners(LearnerEvent.objects, user_ids).filter(evaluated=False)
            .annotate(course_raw=course_key_text()).values_list("pk", "user_id", "course_raw", "event_time")):
        pending.setdefault(user_id, []).append((pk, course_key, when))
    through = dict(LearnerLock.objects.filter(user_id__in=user_ids).values_list("user_id", "evaluated_through"))
    return pending, through


def _state_time(state, new):
    """The event time of the state decided from: that of its one new event, else its newest fact's."""
    if new:
        return new[0][2]
    return max((fact.event_time for fact in state.facts.values()), default=None)


def _mark_evaluated(new_by_user, through, newest=None):
    """The events decided from are evaluated; each learner's evaluated_through moves up to the newest of them."""
    pks = [pk for events in new_by_user.values() for pk, _, _ in events]
    if pks:
        LearnerEvent.objects.filter(pk__in=pks).update(evaluated=True)
    moved = []
    for user_id, events in new_by_user.items():
        times = [when for _, _, when in events] + [t for t in ((newest or {}).get(user_id), through.get(user_id)) if t]
        if times and max(times) != through.get(user_id):
            moved.append(LearnerLock(user_id=user_id, evaluated_through=max(times)))
    if moved:
        LearnerLock.objects.bulk_update(moved, ["evaluated_through"])


def _rederive(user_ids, credentials_by_user, pending, through) -> list:
    """
    Re-derive these learners over their timelines: every active credential of their courses and
    every credential those require, decided over every event of theirs (``timeline.replay``).
    Stores progress, awards with their earned time, revocations, and earned times that moved.
    """
    courses = {}
    for user_id, course_key in (_of_learners(LearnerFact.objects, user_ids).annotate(course_raw=course_key_text())
                                .values_list("user_id", "course_raw").distinct()):
        courses.setdefault(user_id, set()).add(course_key)
    by_user = credentials_for_courses(courses)
    for user_id in user_ids:  # the credentials asked for, even if the learner has no fact in their courses
        mine = {c.pk: c for c in by_user.get(user_id, [])}
        mine.update((c.pk, c) for c in credentials_by_user.get(user_id, []))
        by_user[user_id] = list(mine.values())
    catalog = _with_required({c.slug: c for cs in by_user.values() for c in cs})
    rule_of = {slug: credential_rule(c) for slug, c in catalog.items()}
    events, newest = {}, {}
    for fact in _of_learners(LearnerEvent.objects, user_ids).annotate(course_raw=course_key_text()).values_list(
            "user_id", "course_raw", "kind", "value", "event_id", "event_time"):
        user_id, rule_fact = fact[0], rules.Fact(*fact[1:])
        events.setdefault(user_id, []).append(rule_fact)
        newest[user_id] = max(newest.get(user_id, rule_fact.event_time), rule_fact.event_time)
    # External credentials are facts too: each its own timeline (held, then perhaps no longer).
    for row in _of_learners(ExternalCredential.objects, user_ids).defer("document"):
        for rule_fact in row.timeline_facts():
            events.setdefault(row.user_id, []).append(rule_fact)
    held, blocked = {}, {}
    for award in (_of_learners(Award.objects, user_ids).filter(Q(current=True) | Q(blocks_reaward=True))
                  .select_related("credential")):
        if award.current:
            held.setdefault(award.user_id, {})[award.credential.slug] = award
        if award.blocks_reaward:  # since the (first) operator revocation
            mine, slug = blocked.setdefault(award.user_id, {}), award.credential.slug
            mine[slug] = min(t for t in (mine.get(slug), award.revoked_at) if t) if award.revoked_at else None
    completion = {leaf.course for r in rule_of.values() for leaf in r.requirement.leaves()
                  if isinstance(leaf, rules.CourseCompletion)}
    completable = get_platform().completable_blocks(completion) if completion else {}
    derived = []
    for user_id in user_ids:
        slugs = timeline.closure(rule_of, [c.slug for c in by_user[user_id]])
        mine = {slug: a for slug, a in held.get(user_id, {}).items() if slug in slugs}
        outcomes = timeline.replay(
            [rule_of[slug] for slug in slugs], events.get(user_id, []), held=set(mine),
            held_from_start={slug for slug, a in mine.items() if a.earned_at is None},
            blocked={slug: since for slug, since in blocked.get(user_id, {}).items() if slug in slugs},
            completable_blocks=completable)
        # Progress is kept for the credentials of the learner's courses (as an in-order evaluation
        # keeps it); those only required by them are decided over the timeline, not shown.
        shown = {c.slug for c in by_user[user_id]}
        derived.append((user_id, {slug: catalog[slug] for slug in slugs}, mine, outcomes, shown))
    results = _store_derived(derived)
    _mark_evaluated({user_id: pending.get(user_id, []) for user_id in user_ids}, through, newest)
    return results


def _with_required(credentials):
    """The credentials (slug → Credential) and every active credential they require, transitively."""
    catalog = dict(credentials)
    wanted = set().union(*(credential_rule(c).requirement.credentials() for c in catalog.values())) - set(catalog)
    while wanted:
        found = {c.slug: c for c in Credential.objects.filter(slug__in=wanted, state=Credential.State.ACTIVE)}
        catalog.update(found)
        wanted = set().union(*(credential_rule(c).requirement.credentials() for c in found.values())) - set(catalog)
    return catalog


def _store_derived(derived) -> list:
    """
    Store what ``timeline.replay`` derived for each (user id, credentials by slug, held awards,
    outcomes, slugs whose progress is kept).
    """
    _store_progress_rows([(user_id, credentials[d.slug], d.outcome)
                          for user_id, credentials, _, outcomes, shown in derived for d in outcomes if d.slug in shown])
    results = []
    for user_id, credentials, held, outcomes, _ in derived:
        held_awards = dict(held)
        awarded, revoked = [], []
        for d in outcomes:
            credential = credentials[d.slug]
            if d.award:
                award = award_credential(user_id, credential, _evidence(d.earned_outcome, held_awards),
                                         earned_at=d.earned_at)
                if award is not None:
                    held_awards[d.slug] = award
                    awarded.append(d.slug)
            elif d.revoke:
                # The same words as an in-order revocation, naming what is not met at the latest event.
                missing = ", ".join(leaf.path for leaf in d.outcome.missing_leaves)
                reason = (f"criteria no longer met: {missing}" if credential_rule(credential).revoke_when_unmet
                          else "criteria never met in event time (re-derived after a late event)")
                if revoke_awards([held_awards.pop(d.slug).pk], reason):
                    revoked.append(d.slug)
            elif d.held_after and d.earned_at is not None and held_awards[d.slug].earned_at != d.earned_at:
                move_earned_time(held_awards[d.slug], d.earned_at, _evidence(d.earned_outcome, held_awards))
        results.append(EvaluationResult(user_id, [d.slug for d in outcomes], awarded, revoked))
    return results


def credentials_for_courses(courses_by_user, cache=None) -> dict:
    """
    ``affected_credentials`` for many learners at once: per user id, the active credentials that
    depend on any of the learner's given courses. Three queries whatever the number of learners;
    with a ``cache`` (a dict the caller keeps between calls), two, plus one for the credentials
    modified since they were cached.
    """
    wanted = set().union(*(set(courses) for courses in courses_by_user.values())) if courses_by_user else set()
    if not wanted:
        return {}
    by_course = {}
    # The index by course first, then the credentials by primary key: joined in one query, SQLite
    # probes the index once per (credential, course) pair.
    for course_key, credential_pk in (
            CourseDependency.objects.filter(course_key__in=[parse_course_key(str(k)) for k in sorted(wanted)])
            .annotate(course_raw=course_key_text()).values_list("course_raw", "credential_id")):
        by_course.setdefault(course_key, set()).add(credential_pk)
    if not by_course:
        return {}
    active = dict(Credential.objects.filter(pk__in=set().union(*by_course.values()), state=Credential.State.ACTIVE)
                  .values_list("pk", "modified"))
    cache = {} if cache is None else cache
    stale = [pk for pk, when in active.items() if pk not in cache or cache[pk].modified != when]
    if stale:
        cache.update((c.pk, c) for c in Credential.objects.filter(pk__in=stale))
    result = {}
    for user_id, courses in courses_by_user.items():
        mine = set().union(*(by_course.get(str(course), ()) for course in courses)) if courses else set()
        mine &= set(active)
        if mine:
            result[user_id] = [cache[pk] for pk in sorted(mine) if pk in cache]
    return result


def _of_learners(manager, user_ids, **narrowed):
    """
    The rows of these learners; for one learner only those ``narrowed`` further. For many, the
    narrowing is left to the caller: an IN over learners and an IN over courses or credentials
    makes SQLite probe the index once for every pair.
    """
    if len(user_ids) == 1:
        return manager.filter(user_id=user_ids[0], **narrowed)
    return manager.filter(user_id__in=user_ids)


@dataclass(frozen=True)
class LearnerContext:
    """What ``rules.decide`` needs about one learner and the credentials evaluated for them."""

    user_id: int
    credentials: dict  # slug → Credential, the ones evaluated
    credential_rules: list  # their rules.CredentialRule
    state: rules.LearnerState
    held_awards: dict  # slug → the learner's active Award, for these credentials and those they require


def load_learners(credentials_by_user) -> dict:
    """
    Load, for each user id, what the engine needs to evaluate the given credentials: the facts
    of their courses, the awards held or blocked, the stored progress of the credentials they
    require, the completable blocks. The same few queries for one learner or a thousand.
    """
    plans = {}
    for user_id, credentials in credentials_by_user.items():
        if not credentials:
            continue
        by_slug = {c.slug: c for c in credentials}
        rule_list = [credential_rule(c) for c in credentials]
        plans[user_id] = (
            by_slug, rule_list,
            set().union(*(r.requirement.courses() for r in rule_list)),
            set().union(*(r.requirement.credentials() for r in rule_list)) - set(by_slug),
            {leaf.course for r in rule_list for leaf in r.requirement.leaves()
             if isinstance(leaf, rules.CourseCompletion)},
            {leaf.issuer for r in rule_list for leaf in r.requirement.leaves()
             if isinstance(leaf, rules.ExternalCredentialHeld)},
        )
    if not plans:
        return {}
    user_ids = sorted(plans)
    courses = set().union(*(plan[2] for plan in plans.values()))
    children = set().union(*(plan[3] for plan in plans.values()))
    slugs = set().union(*(set(plan[0]) for plan in plans.values())) | children
    completion_courses = set().union(*(plan[4] for plan in plans.values()))
    issuers = set().union(*(plan[5] for plan in plans.values()))

    facts = {}
    for user_id, course_key, kind, value, event_id, event_time in (
            _of_learners(LearnerFact.objects, user_ids, course_key__in=[parse_course_key(c) for c in courses])
            .annotate(course_raw=course_key_text())
            .values_list("user_id", "course_raw", "kind", "value", "event_id", "event_time")):
        facts.setdefault(user_id, {})[(course_key, kind)] = rules.Fact(course_key, kind, value, event_id, event_time)
    external = {}
    if issuers:
        for row in _of_learners(ExternalCredential.objects, user_ids, issuer__in=issuers).filter(
                status=ExternalCredential.Status.ACTIVE).defer("document"):
            fact = row.to_rule_fact()
            external.setdefault(row.user_id, {})[(fact.course_key, fact.kind)] = fact
    # One query for both what the learners hold and what an operator blocked.
    held, blocked = {}, {}
    for award in (_of_learners(Award.objects, user_ids, credential__slug__in=slugs)
                  .filter(Q(current=True) | Q(blocks_reaward=True)).select_related("credential")):
        if award.current:
            held.setdefault(award.user_id, {})[award.credential.slug] = award
        if award.blocks_reaward:
            blocked.setdefault(award.user_id, set()).add(award.credential.slug)
    progress = {}
    if children:
        for user_id, slug, fraction in _of_learners(Progress.objects, user_ids, credential__slug__in=children) \
                .values_list("user_id", "credential__slug", "fraction"):
            progress.setdefault(user_id, {})[slug] = fraction
    completable = get_platform().completable_blocks(completion_courses) if completion_courses else {}

    contexts = {}
    for user_id, (by_slug, rule_list, my_courses, my_children, my_completion, my_issuers) in plans.items():
        mine = set(by_slug) | my_children
        held_awards = {slug: a for slug, a in held.get(user_id, {}).items() if slug in mine}
        state = rules.LearnerState(
            facts={**{key: f for key, f in facts.get(user_id, {}).items() if key[0] in my_courses},
                   **{key: f for key, f in external.get(user_id, {}).items() if f.value["issuer"] in my_issuers}},
            held=frozenset(held_awards),
            blocked=frozenset(blocked.get(user_id, set()) & mine),
            progress={slug: f for slug, f in progress.get(user_id, {}).items() if slug in my_children},
            completable_blocks={course: n for course, n in completable.items() if course in my_completion},
        )
        contexts[user_id] = LearnerContext(user_id, by_slug, rule_list, state, held_awards)
    return contexts


def store_decisions(decided, earned_at=None) -> list:
    """
    Store what the engine decided for each (LearnerContext, decisions): progress, awards and
    revocations, in one transaction (the caller's, if it has one: the one that locked the learners
    and loaded them). ``earned_at``: per learner, the event time of the state decided from.
    Returns an EvaluationResult per learner, in order.
    """
    results = []
    earned_at = earned_at or [None] * len(decided)
    with transaction.atomic(savepoint=False):
        _store_progress_rows([(context.user_id, context.credentials[d.slug], d.outcome)
                              for context, decisions in decided for d in decisions])
        for (context, decisions), when in zip(decided, earned_at):
            held_awards = dict(context.held_awards)
            awarded, revoked = [], []
            for decision in decisions:
                credential = context.credentials[decision.slug]
                if decision.award:
                    award = award_credential(context.user_id, credential, _evidence(decision.outcome, held_awards),
                                             earned_at=when)
                    if award is not None:
                        held_awards[credential.slug] = award
                        awarded.append(credential.slug)
                elif decision.revoke:
                    missing = ", ".join(leaf.path for leaf in decision.outcome.missing_leaves)
                    if revoke_awards([held_awards.pop(credential.slug).pk], f"criteria no longer met: {missing}"):
                        revoked.append(credential.slug)
            results.append(EvaluationResult(context.user_id, [d.slug for d in decisions], awarded, revoked))
    return results


def evaluate_learners(courses_by_user, cache=None) -> list:
    """
    Evaluate many learners at once (the back-fill does): for each user id, the credentials that
    depend on the given courses. Loads and stores in a fixed number of queries plus one write per
    award or revocation; decides exactly as ``evaluate_learner`` does. ``cache``: see
    ``credentials_for_courses``.
    """
    return _evaluate(credentials_for_courses(courses_by_user, cache))  # no course: each re-derived


def _store_progress(user_id, outcomes):
    _store_progress_rows([(user_id, credential, outcome) for credential, outcome in outcomes])


def _store_progress_rows(rows):
    """Store (user id, credential, outcome) rows of progress: one read, then bulk writes of what changed."""
    if not rows:
        return
    existing = {
        (p.user_id, p.credential_id): p
        for p in _of_learners(Progress.objects, sorted({user_id for user_id, _, _ in rows}),
                              credential_id__in={c.pk for _, c, _ in rows})
    }
    changed, new = [], []
    for user_id, credential, outcome in rows:
        fields = {"fraction": outcome.fraction, "met": outcome.met, "requirements": _requirements(outcome)}
        row = existing.get((user_id, credential.pk))
        if row is None:
            new.append(Progress(user_id=user_id, credential=credential, **fields))
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.modified = timezone.now()
            changed.append(row)
    if changed:
        Progress.objects.bulk_update(changed, ["fraction", "met", "requirements", "modified"])
    if new:
        # A concurrent evaluation of the same learner may have inserted the row: theirs stands.
        Progress.objects.bulk_create(new, ignore_conflicts=True)


def _requirements(outcome):
    return [
        {"path": leaf.path, "requirement": leaf.requirement.to_dict(), "met": leaf.met,
         "fraction": round(leaf.fraction, 4), **({"unknown": True} if leaf.unknown else {})}
        for leaf in outcome.leaves
    ]


def _evidence(outcome, held_awards):
    """Which requirement was met by which facts (event ids and times) or by which award."""
    evidence = []
    for leaf in outcome.met_leaves:
        entry = {"path": leaf.path, "requirement": leaf.requirement.to_dict()}
        if isinstance(leaf.requirement, rules.CredentialEarned):
            child = held_awards.get(leaf.requirement.credential)
            entry["award"] = str(child.uuid) if child else None
        else:
            entry["facts"] = [
                {"course_key": f.course_key, "kind": f.kind, "value": f.value, "event_id": f.event_id,
                 "event_time": f.event_time.isoformat()}
                for f in leaf.facts
            ]
        evidence.append(entry)
    return evidence
