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
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from . import rules
from .awards import award_credential, revoke_awards
from .data import EvaluationResult
from .models import (Award, CourseDependency, Credential, ExternalCredential, LearnerFact, LearnerLock,
                     Progress)
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
    credentials = affected_credentials(user_id, course_key)
    if not credentials:
        return EvaluationResult(user_id, [], [], [])
    return _evaluate({user_id: credentials})[0]


def _evaluate(credentials_by_user) -> list:
    """Lock the learners, load them, decide and store: one transaction, so every decision is taken from a fresh view."""
    if not credentials_by_user:
        return []
    with transaction.atomic():
        LearnerLock.take(credentials_by_user)
        contexts = load_learners(credentials_by_user)
        return store_decisions([(context, rules.decide(context.credential_rules, context.state))
                                for context in contexts.values()])


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
            .annotate(course_raw=_as_text("course_key")).values_list("course_raw", "credential_id")):
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


def _as_text(course_key_field):
    """A course key column read as text: parsing a CourseKey for every row read costs more than the query."""
    return Cast(course_key_field, output_field=CharField())


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
            .annotate(course_raw=_as_text("course_key"))
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


def store_decisions(decided) -> list:
    """
    Store what the engine decided for each (LearnerContext, decisions): progress, awards and
    revocations, in one transaction (the caller's, if it has one: the one that locked the learners
    and loaded them). Returns an EvaluationResult per learner, in order.
    """
    results = []
    with transaction.atomic(savepoint=False):
        _store_progress_rows([(context.user_id, context.credentials[d.slug], d.outcome)
                              for context, decisions in decided for d in decisions])
        for context, decisions in decided:
            held_awards = dict(context.held_awards)
            awarded, revoked = [], []
            for decision in decisions:
                credential = context.credentials[decision.slug]
                if decision.award:
                    award = award_credential(context.user_id, credential, _evidence(decision.outcome, held_awards))
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
    return _evaluate(credentials_for_courses(courses_by_user, cache))


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
