"""Event time is the truth: late events are placed where they belong, awards carry when they were earned."""

from itertools import permutations
from typing import Callable, NamedTuple
from uuid import NAMESPACE_URL, uuid5

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openedx_microcred import issuance, keys, rules, timeline
from openedx_microcred.models import Award, Credential, ExternalCredential, LearnerEvent, LearnerFact, Progress

from . import events
from .conftest import C1, C2


def eid(name):
    """A stable event id (openedx-events ids are UUIDs)."""
    return uuid5(NAMESPACE_URL, name)


REVOKE = Credential.RevocationPolicy.REVOKE_WHEN_UNMET


@pytest.fixture
def a_and_b(make_credential):
    """The issue's example: A passed; B's grade at least 70 % (revoke when unmet); a stack of both, kept once earned."""
    make_credential("a", {"type": "course_passed", "course": C1})
    make_credential("b", {"type": "course_grade", "course": C2, "min_percent": 70}, revocation_policy=REVOKE)
    make_credential("ab", {"type": "all", "of": [{"type": "credential", "credential": "a"},
                                                 {"type": "credential", "credential": "b"}]})


# A passes at t=10, B reaches 75 % at t=20, a regrade drops B to 60 % at t=25.
class TimedEvent(NamedTuple):
    """One of the issue's events: the name of its event id, and how to send it for a learner."""

    name: str
    send: Callable


A_PASSES = TimedEvent("a10", lambda user: events.passing(user, C1, time=events.at(10), event_id=eid("a10")))
B_75 = TimedEvent("b20", lambda user: events.grade(user.pk, C2, 0.75, time=events.at(20), event_id=eid("b20")))
B_60 = TimedEvent("b25", lambda user: events.grade(user.pk, C2, 0.60, time=events.at(25), event_id=eid("b25")))


def held(user):
    awards = Award.objects.filter(user=user, current=True).select_related("credential")
    return {a.credential.slug: a.earned_at for a in awards}


@pytest.mark.parametrize("order", list(permutations([A_PASSES, B_75, B_60])), ids=lambda o: "-".join(e.name for e in o))
def test_a_stack_met_for_a_while_is_kept_whatever_order_the_events_come_in(db, a_and_b, on_commit, order):
    user = get_user_model().objects.create_user("learner", "learner@example.com", "pw")
    for event in order:
        with on_commit():
            event.send(user)
    # The stack was met during [20, 25): kept once earned, earned at 20; B follows its latest grade.
    assert held(user) == {"a": events.at(10), "ab": events.at(20)}
    assert Progress.objects.get(user=user, credential__slug="b").met is False


def test_a_late_event_is_placed_where_it_belongs(learner, a_and_b, on_commit):
    with on_commit():
        B_60.send(learner)
    with on_commit():
        A_PASSES.send(learner)
    assert held(learner) == {"a": events.at(10)}
    with on_commit():
        assert events.grade(learner.pk, C2, 0.75, time=events.at(20), event_id=eid("b20")) == "stale"
    # The fact held is still the newest event; the history has all three.
    assert LearnerFact.objects.get(user=learner, kind="grade").event_id == str(eid("b25"))
    assert LearnerEvent.objects.filter(user=learner).count() == 3
    assert not LearnerEvent.objects.filter(user=learner, evaluated=False).exists()
    assert held(learner) == {"a": events.at(10), "ab": events.at(20)}
    stack = Award.objects.get(user=learner, credential__slug="ab")
    # B was met from 20 to 25 only: a revoke-when-unmet award of it is not held at the end.
    assert [entry["award"] for entry in stack.evidence] == [str(Award.objects.get(credential__slug="a").uuid), None]


def test_all_events_arriving_before_the_evaluation_give_the_same_outcome(learner, a_and_b, on_commit):
    with on_commit():  # one transaction: every evaluation runs once all three are recorded
        for event in (B_60, A_PASSES, B_75):
            event.send(learner)
    assert held(learner) == {"a": events.at(10), "ab": events.at(20)}


def test_the_same_events_again_change_nothing(learner, a_and_b, on_commit):
    for event in (A_PASSES, B_75, B_60):
        with on_commit():
            event.send(learner)
    before = held(learner), list(Progress.objects.filter(user=learner).values_list("fraction", "requirements"))
    for event in (B_75, A_PASSES, B_60):
        with on_commit():
            assert event.send(learner) == "duplicate"
    assert (held(learner), list(Progress.objects.filter(user=learner).values_list("fraction", "requirements"))) \
        == before


def test_a_late_event_that_undoes_a_keep_award_revokes_it(learner, make_credential, on_commit):
    # Kept once earned means "met at some time in event time": a late event can show it never was.
    make_credential("both", {"type": "all", "of": [{"type": "course_passed", "course": C1},
                                                   {"type": "certificate", "course": C2}]})
    with on_commit():
        events.passing(learner, C1, time=events.at(10), event_id=eid("p10"))
    with on_commit():
        events.certificate(learner, C2, time=events.at(20), event_id=eid("c20"))
    assert held(learner) == {"both": events.at(20)}
    # The learner had stopped passing at 15, before the certificate: newer for its fact, late for the learner.
    with on_commit():
        assert events.passing(learner, C1, is_passing=False, time=events.at(15), event_id=eid("p15")) == "applied"
    assert held(learner) == {}
    revoked = Award.objects.get(user=learner)
    assert revoked.status == Award.Status.REVOKED and "never met in event time" in revoked.revocation_reason


def test_a_late_event_that_shows_an_earlier_earning_moves_the_earned_time(learner, make_credential, on_commit):
    make_credential("grade", {"type": "course_grade", "course": C1, "min_percent": 70})
    with on_commit():
        events.grade(learner.pk, C1, 0.8, time=events.at(30), event_id=eid("g30"))
    award = Award.objects.get(user=learner)
    assert award.earned_at == events.at(30)
    issuance.issue_award(award.pk)
    assert Award.objects.get(pk=award.pk).document["awardedDate"].startswith("2026-09-01T12:30")
    with on_commit():
        events.grade(learner.pk, C1, 0.75, time=events.at(5), event_id=eid("g05"))
    award.refresh_from_db()
    assert award.earned_at == events.at(5) and award.status == Award.Status.ACTIVE
    assert award.document["awardedDate"].startswith("2026-09-01T12:05")  # signed again with the true time
    assert award.document["validFrom"] != award.document["awardedDate"]


def test_the_signed_credential_says_when_it_was_earned_apart_from_when_it_was_signed(learner, make_credential,
                                                                                     on_commit):
    keys.signing_key()
    make_credential("a", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(learner, C1, time=events.at(10))
    award = Award.objects.get(user=learner)
    document = issuance.issue_award(award.pk)
    assert award.earned_at == events.at(10)
    assert award.issued_at > award.earned_at  # signed later than earned
    assert document["awardedDate"] == "2026-09-01T12:10:00Z"
    assert document["validFrom"] != document["awardedDate"]
    assert issuance.verify_credential(document).valid


def test_the_in_order_path_reads_no_history(learner, make_credential, on_commit):
    make_credential("a", {"type": "course_grade", "course": C1, "min_percent": 70})
    with on_commit():
        events.grade(learner.pk, C1, 0.5, time=events.at(1))
    with CaptureQueriesContext(connection) as ctx, on_commit():
        events.grade(learner.pk, C1, 0.9, time=events.at(2))
    reads = [q["sql"] for q in ctx.captured_queries
             if "microcred_learnerevent" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads  # the new events, not the whole history
    assert held(learner) == {"a": events.at(2)}


def test_a_grade_met_between_two_events_evaluated_together_is_kept(learner, make_credential, on_commit):
    make_credential("grade", {"type": "course_grade", "course": C1, "min_percent": 70})
    with on_commit():  # both recorded before the evaluation runs
        events.grade(learner.pk, C1, 0.6, time=events.at(20), event_id=eid("g20"))
        events.grade(learner.pk, C1, 0.75, time=events.at(10), event_id=eid("g10"))
    assert held(learner) == {"grade": events.at(10)}
    assert Progress.objects.get(user=learner).met is False


def test_an_operator_block_holds_from_when_it_was_made():
    """Pure timeline: a stack earned before a block on its part keeps (keep once earned) or follows it (revoke)."""
    course = "course-v1:DemoX+PY101+2026"
    part = rules.CredentialRule("part", rules.parse_criteria({"type": "course_passed", "course": course}))
    over = {"type": "credential", "credential": "part"}
    kept = rules.CredentialRule("kept", rules.parse_criteria(over))
    follows = rules.CredentialRule("follows", rules.parse_criteria(over), revoke_when_unmet=True)
    passed = rules.Fact(course, rules.PASSING, {"passed": True}, "p1", events.at(10))
    derived = {d.slug: d for d in timeline.replay([part, kept, follows], [passed], held={"kept", "follows"},
                                                  blocked={"part": events.at(60)})}
    assert not derived["part"].held_after
    assert derived["kept"].held_after and derived["kept"].earned_at == events.at(10)
    assert derived["follows"].revoke


def test_an_external_credential_revoked_upstream_ends_when_its_status_was_read():
    """
    Pure timeline over ExternalCredential.timeline_facts: held from its validFrom, no longer held
    from when the revocation was read; a stack earned meanwhile keeps (keep once earned) or
    follows it (revoke when unmet), as the in-order path decides.
    """
    issuer = "did:key:z6MkexampleIssuer"
    upload = ExternalCredential(pk=7, user_id=1, credential_id="urn:uuid:1", issuer=issuer,
                                achievement_id="https://issuer.example/achievements/data", document={},
                                valid_from=events.at(10), verified_at=events.at(20),
                                status=ExternalCredential.Status.REVOKED, checked_at=events.at(60))
    part = {"type": "external_credential", "issuer": issuer, "achievement": "https://issuer.example/achievements/data"}
    kept = rules.CredentialRule("kept", rules.parse_criteria(part))
    follows = rules.CredentialRule("follows", rules.parse_criteria(part), revoke_when_unmet=True)
    facts = upload.timeline_facts()
    assert [f.event_time for f in facts] == [events.at(10), events.at(60)]
    derived = {d.slug: d for d in timeline.replay([kept, follows], facts, held={"kept", "follows"})}
    assert derived["kept"].held_after and derived["kept"].earned_at == events.at(10)
    assert derived["follows"].revoke
    upload.status = ExternalCredential.Status.ACTIVE
    derived = {d.slug: d for d in timeline.replay([kept, follows], upload.timeline_facts(), held={"follows"})}
    assert derived["follows"].held_after and derived["kept"].award
