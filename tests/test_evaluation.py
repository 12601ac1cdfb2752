"""From real signals to awards, progress and stacks, through the plugin-loading host."""

import uuid

import pytest
from completion.models import BlockCompletion
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from opaque_keys.edx.keys import UsageKey
from openedx_events.learning import signals
from waffle.models import Switch

from openedx_microcred import api, tasks
from openedx_microcred.awards import award_credential, revoke_awards
from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Award, Credential, Progress
from openedx_microcred.tasks import evaluate_learner_task
from sandbox.host.models import Course

from . import events
from .conftest import C1, C2, C3

PASS_C1 = {"type": "course_passed", "course": C1}
GRADE_C2 = {"type": "course_grade", "course": C2, "min_percent": 80}
CERT_C3 = {"type": "certificate", "course": C3, "mode": "verified"}


def held(user):
    return {a.credential_slug for a in api.get_learner_awards(user)}


def progress(user, slug):
    return next(p for p in api.get_learner_progress(user) if p.credential_slug == slug)


@pytest.fixture
def ladder(make_credential):
    """A vertical stack: bronze (pass C1) → silver (bronze + grade ≥ 80 in C2) → gold (silver + cert C3)."""
    make_credential("bronze", PASS_C1, stack_kind="vertical")
    make_credential("data", GRADE_C2)
    make_credential("cert", CERT_C3)
    make_credential("silver", {"type": "all", "of": [{"type": "credential", "credential": "bronze"},
                                                     {"type": "credential", "credential": "data"}]})
    make_credential("gold", {"type": "all", "of": [{"type": "credential", "credential": "silver"},
                                                   {"type": "credential", "credential": "cert"}]})


def test_vertical_levels_cascade_from_one_event(learner, ladder, on_commit):
    with on_commit():
        events.grade(learner.pk, C2, 0.9, time=events.at(1))
        events.certificate(learner, C3, time=events.at(2))
    assert held(learner) == {"data", "cert"}
    assert progress(learner, "gold").fraction == pytest.approx(0.5)  # cert earned, silver not: 1 of 2
    with on_commit():
        events.passing(learner, C1, time=events.at(3))
    assert held(learner) == {"bronze", "data", "cert", "silver", "gold"}
    gold = progress(learner, "gold")
    assert gold.earned and gold.fraction == 1.0 and gold.is_stack
    assert [c.credential_slug for c in gold.children] == ["silver", "cert"]
    assert [c.credential_slug for c in gold.children[0].children] == ["bronze", "data"]


def test_stack_progress_names_what_is_missing(learner, ladder, on_commit):
    with on_commit():
        events.passing(learner, C1)
    silver = progress(learner, "silver")
    assert not silver.earned and silver.fraction == 0.5
    assert [m.credential_slug for m in silver.met] == ["bronze"]
    assert [m.credential_slug for m in silver.missing] == ["data"]


def test_a_partial_grade_shows_on_its_requirement_not_in_the_credentials_share(learner, make_credential, on_commit):
    make_credential("data", GRADE_C2)
    with on_commit():
        events.grade(learner.pk, C2, 0.6)
    data = progress(learner, "data")
    # 0 of 1 requirements met (docs/catalog-format.md, "Progress"); the grade is 60 % of the 80 % needed.
    assert data.fraction == 0.0 and not data.earned
    assert data.missing[0].fraction == pytest.approx(0.75)
    assert data.missing[0].min_percent == 80 and data.missing[0].course_key == C2


def test_any_n_of_stack(learner, make_credential, on_commit):
    for slug, course in (("a", C1), ("b", C2), ("c", C3)):
        make_credential(slug, {"type": "course_passed", "course": course})
    make_credential("two-of-three", {"type": "at_least", "n": 2, "of": [
        {"type": "credential", "credential": s} for s in ("a", "b", "c")]}, stack_kind="horizontal")
    with on_commit():
        events.passing(learner, C3, time=events.at(1))
    assert "two-of-three" not in held(learner)
    with on_commit():
        events.passing(learner, C1, time=events.at(2))
    assert "two-of-three" in held(learner)


def test_keep_policy_keeps_the_award_when_the_grade_drops(learner, make_credential, on_commit):
    make_credential("data", GRADE_C2)
    with on_commit():
        events.grade(learner.pk, C2, 0.9, time=events.at(1))
    with on_commit():
        events.grade(learner.pk, C2, 0.5, time=events.at(2))
    assert held(learner) == {"data"}
    assert Award.objects.count() == 1


def test_revoke_policy_revokes_and_awards_again(learner, make_credential, on_commit):
    make_credential("cert", CERT_C3, revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)
    with on_commit():
        events.certificate(learner, C3, time=events.at(1))
    first = Award.objects.get()
    with on_commit():
        events.certificate(learner, C3, signal=signals.CERTIFICATE_REVOKED, time=events.at(2))
    first.refresh_from_db()
    assert first.status == "revoked" and first.current is None and first.revoked_at
    assert "criteria no longer met" in first.revocation_reason
    assert held(learner) == set()
    with on_commit():
        events.certificate(learner, C3, signal=signals.CERTIFICATE_CHANGED, time=events.at(3))
    assert held(learner) == {"cert"}
    assert Award.objects.count() == 2
    assert Award.objects.filter(current=True).get().uuid != first.uuid


def test_revocation_cascades_to_stacks_with_the_revoke_policy(learner, make_credential, on_commit):
    revoke = Credential.RevocationPolicy.REVOKE_WHEN_UNMET
    make_credential("cert", CERT_C3, revocation_policy=revoke)
    make_credential("kept-stack", {"type": "credential", "credential": "cert"})
    make_credential("strict-stack", {"type": "credential", "credential": "cert"}, revocation_policy=revoke)
    with on_commit():
        events.certificate(learner, C3, time=events.at(1))
    assert held(learner) == {"cert", "kept-stack", "strict-stack"}
    with on_commit():
        events.certificate(learner, C3, signal=signals.CERTIFICATE_REVOKED, time=events.at(2))
    assert held(learner) == {"kept-stack"}


def test_revoke_touches_only_what_was_awarded(learner, make_credential, on_commit, monkeypatch):
    sent = []
    monkeypatch.setattr(signals.BADGE_REVOKED, "send_event", lambda **kw: sent.append(kw))
    make_credential("cert", CERT_C3, revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)
    with on_commit():
        events.certificate(learner, C3, signal=signals.CERTIFICATE_REVOKED)
    assert Award.objects.count() == 0 and sent == []


def test_failing_then_passing_earns_the_badge(learner, make_credential, on_commit):
    make_credential("basics", PASS_C1)
    with on_commit():
        events.passing(learner, C1, is_passing=False, time=events.at(1))
        events.passing(learner, C1, is_passing=True, time=events.at(2))
    assert held(learner) == {"basics"}


def test_jumping_past_a_threshold_still_awards(learner, make_credential, on_commit):
    make_credential("data", GRADE_C2)
    with on_commit():
        events.grade(learner.pk, C2, 1.0)
    assert held(learner) == {"data"}


def test_award_keeps_the_evidence(learner, ladder, on_commit):
    with on_commit():
        events.passing(learner, C1, time=events.at(4), event_id=uuid.UUID("8d8ac610-566d-4ef0-9c22-186b2a5ed793"))
    bronze = Award.objects.get(credential__slug="bronze")
    [entry] = bronze.evidence
    assert entry["path"] == "criteria"
    assert entry["facts"][0]["event_id"] == "8d8ac610-566d-4ef0-9c22-186b2a5ed793"
    assert entry["facts"][0]["event_time"] == events.at(4).isoformat()
    with on_commit():
        events.grade(learner.pk, C2, 0.95, time=events.at(5))
    silver = Award.objects.get(credential__slug="silver")
    assert {e["requirement"]["credential"]: e["award"] for e in silver.evidence} == {
        "bronze": str(bronze.uuid), "data": str(Award.objects.get(credential__slug="data").uuid)}


def test_badge_events_are_emitted(learner, make_credential, on_commit):
    received = []

    def receiver(signal, sender, badge, metadata, **kwargs):
        received.append((signal.event_type, badge))

    make_credential("cert", CERT_C3, revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)
    signals.BADGE_AWARDED.connect(receiver)
    signals.BADGE_REVOKED.connect(receiver)
    try:
        with on_commit():
            events.certificate(learner, C3, time=events.at(1))
        with on_commit():
            events.certificate(learner, C3, signal=signals.CERTIFICATE_REVOKED, time=events.at(2))
    finally:
        signals.BADGE_AWARDED.disconnect(receiver)
        signals.BADGE_REVOKED.disconnect(receiver)
    award = Award.objects.get()
    assert [t for t, _ in received] == [signals.BADGE_AWARDED.event_type, signals.BADGE_REVOKED.event_type]
    badge = received[0][1]
    assert badge.uuid == str(award.uuid)
    assert badge.user.id == learner.pk and badge.user.pii.email == "ada@example.com"
    assert badge.template.uuid == str(award.credential.uuid) and badge.template.origin == "openedx_microcred"


def test_draft_and_archived_credentials_are_not_awarded(learner, make_credential, on_commit):
    make_credential("draft", PASS_C1, state=Credential.State.DRAFT)
    make_credential("archived", PASS_C1, state=Credential.State.ARCHIVED)
    with on_commit():
        events.passing(learner, C1)
    assert held(learner) == set()


def test_expiry_comes_from_validity_days(learner, make_credential, on_commit):
    make_credential("basics", PASS_C1, validity_days=365)
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get()
    assert (award.expires_at - award.issued_at).days == 365


def test_database_allows_one_active_award_per_learner_and_credential(learner, make_credential):
    credential = make_credential("basics", PASS_C1)
    Award.objects.create(user=learner, credential=credential, issued_at=events.T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Award.objects.create(user=learner, credential=credential, issued_at=events.T0)
    # Revoked ones do not count.
    Award.objects.update(status="revoked", current=None)
    Award.objects.create(user=learner, credential=credential, issued_at=events.T0)
    Award.objects.filter(current=True).update(status="revoked", current=None)
    Award.objects.create(user=learner, credential=credential, issued_at=events.T0)
    assert Award.objects.count() == 3


def test_concurrent_award_is_absorbed(learner, make_credential, on_commit):
    """If another worker awarded first, the constraint stops the second and evaluation carries on."""
    credential = make_credential("basics", PASS_C1)
    with on_commit():
        events.passing(learner, C1)
    # Another worker's evaluation saw no award yet (stale read) and tries again.
    assert award_credential(learner.pk, credential, evidence=[]) is None
    assert Award.objects.filter(current=True).count() == 1


def test_evaluation_is_idempotent(learner, ladder, on_commit):
    with on_commit():
        events.passing(learner, C1)
        events.grade(learner.pk, C2, 0.9, time=events.at(1))
    snapshot = (sorted(Award.objects.values_list("uuid", flat=True)),
                sorted(Progress.objects.values_list("credential__slug", "fraction", "met")))
    for _ in range(2):
        result = api.evaluate_learner(learner.pk)
        assert result.awarded == [] and result.revoked == []
    assert snapshot == (sorted(Award.objects.values_list("uuid", flat=True)),
                        sorted(Progress.objects.values_list("credential__slug", "fraction", "met")))


def test_evaluate_learner_for_all_courses_catches_up(learner, make_credential, on_commit, monkeypatch):
    """Facts recorded while the queue was down are picked up by a later evaluate_learner."""
    make_credential("basics", PASS_C1)
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda *a, **k: None)
    with on_commit():
        events.passing(learner, C1)
    assert held(learner) == set()
    result = api.evaluate_learner(learner.pk)
    assert result.awarded == ["basics"] and held(learner) == {"basics"}


def test_completion_from_edx_completion(learner, make_credential, on_commit):
    """edx-completion's BlockCompletion post_save, through its own submit_completion API."""
    Switch.objects.create(name="completion.enable_completion_tracking", active=True)
    Course.objects.create(course_key=C1, display_name="Python", completable_blocks=4)
    make_credential("finisher", {"type": "course_completion", "course": C1, "min_percent": 75})
    blocks = [UsageKey.from_string(f"block-v1:DemoX+PY101+2026+type@problem+block@p{i}") for i in range(4)]
    with on_commit():
        BlockCompletion.objects.submit_completion(learner, blocks[0], 1.0)
        BlockCompletion.objects.submit_completion(learner, blocks[1], 0.5)  # partly done: not complete
        BlockCompletion.objects.submit_completion(learner, blocks[1], 1.0)
    finisher = progress(learner, "finisher")
    assert finisher.fraction == 0.0 and finisher.missing[0].fraction == pytest.approx(2 / 4 / 0.75, abs=1e-4)
    with on_commit():
        BlockCompletion.objects.submit_completion(learner, blocks[2], 1.0)
    assert held(learner) == {"finisher"}


PROGRESS = "/microcred/api/v1/me/progress/"


def test_progress_json_endpoint(client, learner, ladder, on_commit):
    with on_commit():
        events.passing(learner, C1)
    client.force_login(learner)
    awards = client.get("/microcred/api/v1/me/awards/").json()["awards"]
    assert [a["credential_slug"] for a in awards] == ["bronze"]
    body = client.get(PROGRESS).json()
    assert {p["credential_slug"] for p in body["progress"]} == {"bronze", "silver", "gold"}
    filtered = client.get(PROGRESS, {"course_key": C1}).json()
    assert {p["credential_slug"] for p in filtered["progress"]} == {"bronze", "silver", "gold"}
    gold_only = client.get(PROGRESS, {"course_key": C3}).json()["progress"]
    assert [p["credential_slug"] for p in gold_only] == ["gold"]  # gold needs the C3 certificate
    unrelated = client.get(PROGRESS, {"course_key": "course-v1:Other+X+2026"})
    assert unrelated.json()["progress"] == []
    bad = client.get(PROGRESS, {"course_key": "nope"})
    assert bad.status_code == 400 and "not a valid course key" in bad.json()["course_key"][0]


def test_a_learner_signs_in_to_the_demo_and_sees_their_credentials(client, learner, ladder, on_commit):
    with on_commit():
        events.passing(learner, C1)
    response = client.post("/login/", {"username": "ada", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == "/microcred/my/"
    assert b'data-credential="bronze"' in response.content


def test_learners_only_see_their_own(learner, ladder, on_commit):
    other = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    with on_commit():
        events.passing(learner, C1)
    assert api.get_learner_awards(other) == [] and api.get_learner_progress(other) == []


def test_operator_revocation_is_not_undone_by_the_next_event(learner, make_credential, on_commit):
    make_credential("basics", PASS_C1)
    make_credential("stack", {"type": "credential", "credential": "basics"},
                    revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
    award = Award.objects.get(credential__slug="basics")
    with on_commit():
        assert revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR) == [award.pk]
        assert revoke_awards([award.pk], "again", source=Award.RevocationSource.OPERATOR) == []
    api.evaluate_learner(learner.pk)
    with on_commit():
        events.grade(learner.pk, C1, 0.9, time=events.at(2))
    assert held(learner) == set()  # basics stays revoked, and the stack that needs it follows
    assert Award.objects.get(pk=award.pk).revocation_source == "operator"
    # Once an operator lifts the block, the criteria award it again.
    Award.objects.filter(pk=award.pk).update(blocks_reaward=False)
    api.evaluate_learner(learner.pk)
    assert held(learner) == {"basics", "stack"}


def test_publishing_awards_learners_who_already_meet_the_criteria(learner, make_credential, on_commit):
    draft = make_credential("basics", PASS_C1, state=Credential.State.DRAFT)
    with on_commit():
        events.passing(learner, C1)
    assert held(learner) == set()
    draft.state = Credential.State.ACTIVE
    with on_commit():
        save_credential(draft)
    assert held(learner) == {"basics"}


def test_learner_fan_out_runs_in_chunks(make_credential, on_commit, monkeypatch):
    monkeypatch.setattr(tasks, "LEARNER_CHUNK", 2)
    make_credential("basics", PASS_C1, state=Credential.State.DRAFT)
    learners = [get_user_model().objects.create_user(f"l{i}", f"l{i}@example.com", "pw") for i in range(5)]
    with on_commit():
        for user in learners:
            events.passing(user, C1)
    Credential.objects.filter(slug="basics").update(state=Credential.State.ACTIVE)
    credential = Credential.objects.get(slug="basics")
    assert tasks.evaluate_credential_learners_task(credential.pk) == 2  # and queues the rest (eager here)
    assert Award.objects.filter(credential=credential, current=True).count() == 5
