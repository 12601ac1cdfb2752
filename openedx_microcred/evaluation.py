"""
Evaluating one learner: load what the rules engine needs, let it decide, store what it decided.

This is the I/O edge around ``rules.decide``. It reads only the credentials that depend on the
course that changed (through the CourseDependency index, which already includes the stacks above
them), so its cost does not grow with the size of the catalog.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import rules
from .awards import award_credential, revoke_awards
from .data import EvaluationResult
from .models import Award, Credential, LearnerFact, Progress
from .platform import get_platform

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
    """Active credentials an event in ``course_key`` can change (all the learner's courses if None)."""
    active = Credential.objects.filter(state=Credential.State.ACTIVE)
    if course_key is not None:
        return list(active.filter(course_dependencies__course_key=course_key))
    courses = LearnerFact.objects.filter(user_id=user_id).values("course_key")
    return list(active.filter(course_dependencies__course_key__in=courses).distinct())


def evaluate_learner(user_id, course_key=None) -> EvaluationResult:
    credentials = affected_credentials(user_id, course_key)
    if not credentials:
        return EvaluationResult(user_id, [], [], [])
    by_slug = {c.slug: c for c in credentials}
    rule_list = [credential_rule(c) for c in credentials]
    courses = set().union(*(r.requirement.courses() for r in rule_list))
    children = set().union(*(r.requirement.credentials() for r in rule_list)) - set(by_slug)
    completion_courses = {
        leaf.course for r in rule_list for leaf in r.requirement.leaves() if isinstance(leaf, rules.CourseCompletion)
    }

    facts = {
        (str(f.course_key), f.kind): f.to_rule_fact()
        for f in LearnerFact.objects.filter(user_id=user_id, course_key__in=courses)
    }
    # One query for both what the learner holds and what an operator blocked.
    held_awards, blocked = {}, set()
    for award in (Award.objects.filter(user_id=user_id, credential__slug__in=set(by_slug) | children)
                  .filter(Q(current=True) | Q(blocks_reaward=True)).select_related("credential")):
        if award.current:
            held_awards[award.credential.slug] = award
        if award.blocks_reaward:
            blocked.add(award.credential.slug)
    child_progress = dict(
        Progress.objects.filter(user_id=user_id, credential__slug__in=children).values_list("credential__slug", "fraction")
    ) if children else {}
    state = rules.LearnerState(
        facts=facts,
        held=frozenset(held_awards),
        blocked=frozenset(blocked),
        progress=child_progress,
        completable_blocks=get_platform().completable_blocks(completion_courses) if completion_courses else {},
    )
    decisions = rules.decide(rule_list, state)

    awarded, revoked = [], []
    with transaction.atomic():
        _store_progress(user_id, [(by_slug[d.slug], d.outcome) for d in decisions])
        for decision in decisions:
            credential = by_slug[decision.slug]
            if decision.award:
                award = award_credential(user_id, credential, _evidence(decision.outcome, held_awards))
                if award is not None:
                    held_awards[credential.slug] = award
                    awarded.append(credential.slug)
            elif decision.revoke:
                missing = ", ".join(leaf.path for leaf in decision.outcome.missing_leaves)
                if revoke_awards([held_awards.pop(credential.slug).pk], f"criteria no longer met: {missing}"):
                    revoked.append(credential.slug)
    return EvaluationResult(user_id, [d.slug for d in decisions], awarded, revoked)


def _store_progress(user_id, outcomes):
    existing = {
        p.credential_id: p
        for p in Progress.objects.filter(user_id=user_id, credential_id__in=[c.pk for c, _ in outcomes])
    }
    changed, new = [], []
    for credential, outcome in outcomes:
        fields = {"fraction": outcome.fraction, "met": outcome.met, "requirements": _requirements(outcome)}
        row = existing.get(credential.pk)
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
         "fraction": round(leaf.fraction, 4)}
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
