"""
Outcomes over a learner's timeline: pure Python, no ORM, no I/O (docs/decisions/0016).

``rules.decide`` decides from one state of the learner's facts: the latest. That is the whole
story while events arrive in order and each is evaluated on its own. When one arrives late, or
several arrive before the evaluation runs, the states in between matter too: a "keep once earned"
credential whose criteria were met for a while in between was earned. ``replay`` walks every state
of the learner's history in event time and decides as ``rules.decide`` would have, had each event
been evaluated when it happened:

- a state is the newest event per (course, kind) at or before a time; the timeline has one state
  per distinct event time, in order (events at the same time are one state);
- "keep once earned": held once met in any state, from the first state it was met;
- "revoke when unmet": held while met (or while unknown, as ``decide`` keeps it), from the start of
  the latest run of states it was met in;
- a stack sees, in each state, the credentials held in that state, so its earned time is the time
  all its parts were met together;
- an operator's revocation (a block on earning it again) holds from the time it was made: the
  credential counted as held for the stacks above it until then, and is never held after.

Whatever order the events came in and however often, the same set of events gives the same
outcomes, earned times and progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Iterable, Mapping, Sequence

from . import rules


@dataclass(frozen=True)
class Derived:
    """What the timeline decides for one credential."""

    slug: str
    outcome: rules.Outcome  # in the latest state: the progress to show
    held_before: bool
    held_after: bool
    # When the latest run of holding it started, in event time (None: held from before the history).
    earned_at: datetime | None = None
    # The outcome in the state it was earned in: the evidence of why.
    earned_outcome: rules.Outcome | None = None

    @property
    def award(self):
        return self.held_after and not self.held_before

    @property
    def revoke(self):
        return self.held_before and not self.held_after


def states(events: Iterable[rules.Fact]):
    """(event time, facts) for each distinct event time, in order; a later event id wins a tie on its key."""
    facts = {}
    for when, group in groupby(sorted(events, key=lambda f: (f.event_time, f.event_id)), key=lambda f: f.event_time):
        for fact in group:
            facts[(fact.course_key, fact.kind)] = fact
        yield when, dict(facts)


def replay(credential_rules: Sequence[rules.CredentialRule], events: Iterable[rules.Fact], *,
           held: Iterable[str] = (), held_from_start: Iterable[str] = (),
           blocked: Mapping[str, datetime | None] | None = None,
           completable_blocks: Mapping[str, int] | None = None) -> list:
    """
    Decide every credential of ``credential_rules`` (which must include every credential they
    require) over the timeline of ``events``. ``held``: the slugs held now (to say what changes);
    ``held_from_start``: those held from before the history began (awards made before event
    times were kept), which "keep once earned" never loses; ``blocked``: slug → since when an
    operator's revocation keeps it from being held (None: always). Returns a Derived per rule, in
    dependency order.
    """
    ordered = rules.dependency_order(credential_rules)
    blocked = dict(blocked or {})
    completable = dict(completable_blocks or {})
    holding = set(held_from_start) - set(blocked)
    earned = dict.fromkeys(holding)
    earned_outcomes = {}
    latest = {}
    for when, facts in _with_block_times(list(states(events)), blocked):
        progress = {}
        blocked_now = frozenset(slug for slug, since in blocked.items()
                                if since is None or when is None or since <= when)
        for rule in ordered:
            state = rules.LearnerState(facts, frozenset(holding), progress, completable, blocked_now)
            outcome = rule.requirement.evaluate(state)
            was = rule.slug in holding
            # A block ends holding it, whatever the policy (the operator revoked it).
            now = rule.slug not in blocked_now and (
                outcome.met or (was and (not rule.revoke_when_unmet or outcome.unknown)))
            if now and not was:
                holding.add(rule.slug)
                earned[rule.slug], earned_outcomes[rule.slug] = when, outcome
            elif was and not now:
                holding.discard(rule.slug)
                earned.pop(rule.slug, None)
                earned_outcomes.pop(rule.slug, None)
            progress[rule.slug] = outcome.fraction
            latest[rule.slug] = outcome
    held = frozenset(held)
    return [Derived(rule.slug, latest[rule.slug], rule.slug in held, rule.slug in holding,
                    earned.get(rule.slug) if rule.slug in holding else None,
                    earned_outcomes.get(rule.slug) if rule.slug in holding else None)
            for rule in ordered]


def _with_block_times(timeline, blocked):
    """The timeline with a state at each time a block began (the facts as they stood then); one state at least."""
    times = {when for when, _ in timeline}
    for since in sorted({since for since in blocked.values() if since is not None} - times):
        before = [facts for when, facts in timeline if when <= since]
        timeline.append((since, before[-1] if before else {}))
    timeline.sort(key=lambda point: point[0])
    return timeline or [(None, {})]


def closure(credential_rules: Mapping[str, rules.CredentialRule], slugs: Iterable[str]) -> set:
    """``slugs`` and every credential they require, transitively, among ``credential_rules``."""
    wanted, stack = set(), list(slugs)
    while stack:
        slug = stack.pop()
        if slug in wanted or slug not in credential_rules:
            continue
        wanted.add(slug)
        stack.extend(credential_rules[slug].requirement.credentials())
    return wanted
