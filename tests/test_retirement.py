"""
Learner retirement end to end: facts, progress and a credential delivered to the local Credly
server (real sockets), then the platform's retirement signal (sent the way edx-platform sends it)
or the management command: facts and progress gone, the credential revoked in the status list,
the revocation sent to Credly, personal data scrubbed, an audit record without personal data,
and a second retirement that changes nothing.
"""

import io
import json
import sys
from dataclasses import fields
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms.models import model_to_dict
from openedx_events.data import EventsMetadata
from openedx_events.learning.data import CoursePassingStatusData
from openedx_events.learning.signals import COURSE_PASSING_STATUS_UPDATED

from openedx_microcred import eventlog, facts, issuance
from openedx_microcred.facts import reject_event
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import (
    Award,
    Delivery,
    LearnerEvent,
    LearnerFact,
    Progress,
    RejectedEvent,
    RetirementRecord,
    subject_hash,
)
from openedx_microcred.retirement import (
    PLATFORM_SIGNALS_MODULE,
    RETIREMENT_REASON,
    RetirementResult,
    connect_retirement_receivers,
    retire_learner,
)
from openedx_microcred.tasks import issue_award_task
from sandbox.host.retirement import AccountRetirementView, LMSAccountRetirementView, retire_user
from sandbox.platform_modules import retirement_signals

from . import events
from .conftest import C1, C2

RETIRED_EMAIL = "retired__user_0f3a9c@retired.invalid"


# --- edx-platform, as far as retirement goes: the host provides its signals (sandbox/platform_modules.py)


@pytest.fixture
def platform_signals():
    """
    edx-platform's ``openedx.core.djangoapps.user_api.accounts.signals`` (plain Django signals),
    which the host provides under that name; the app connected to them at start-up, as in the LMS.
    """
    return retirement_signals


def deactivate(user):
    """What edx-platform does when a learner asks to delete their account, before any retirement signal."""
    user.email = RETIRED_EMAIL
    user.set_unusable_password()
    user.save()


# --- A learner with something to retire -----------------------------------------------------------


@pytest.fixture
def grace(db):
    return get_user_model().objects.create_user("grace", "grace@example.com")


@pytest.fixture
def ada(learner, grace, make_credential, credly, on_commit):
    """
    Ada passed C1 (holds 'basics', delivered to Credly) and has 40 % in C2 (on her way to 'data');
    some of her events were rejected. Grace, another learner, has data of her own.
    """
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics",
                    platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
    make_credential("data", {"type": "course_grade", "course": C2, "min_percent": 80}, title="Data Skills")
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
        events.grade(learner.pk, C2, 0.4, time=events.at(2))
        events.passing(grace, C1, time=events.at(3))
        assert events.grade(learner.pk, C2, 1.7, time=events.at(4)) == "rejected"  # out of range: kept
    # Rejected events in the other shapes they are kept in: an event with the learner's data, an
    # event-log line (microcred_replay), a back-filled row; and one of Grace's.
    ada_event = _serialized_passing(learner)
    reject_event(ada_event["event_type"], "KeyError: 'x'", event_id="e-ada-1", payload=ada_event)
    reject_event(ada_event["event_type"], "unreadable", event_id="e-ada-2",
                 payload={"line": eventlog.dumps(ada_event), "line_number": 7})
    reject_event("backfill.grade", "bad row", event_id="e-ada-3",
                 payload={"backfill": {"source": "grade", "row_id": 12, "user_id": learner.pk, "course_key": C2}})
    grace_event = _serialized_passing(grace)
    reject_event(grace_event["event_type"], "KeyError: 'x'", event_id="e-grace", payload=grace_event)
    # A platform's error once quoted the learner's address (kept, redacted of secrets only).
    Delivery.objects.filter(award__user=learner).update(
        last_error=f"POST /badges: 422 {{\"message\": \"{learner.email} already has this badge\"}}")
    return learner


def _serialized_passing(user):
    """``user``'s passing of C2, serialized as the event log keeps events: event type, metadata, data."""
    signal = COURSE_PASSING_STATUS_UPDATED
    data = CoursePassingStatusData(is_passing=True, course=events.course(C2), user=events.user_data(user))
    return eventlog.serialize_event(signal, EventsMetadata(event_type=signal.event_type, time=events.at(9)),
                                    course_passing_status=data)


def ada_award():
    return Award.objects.get(credential__slug="basics", user__username="ada")


def snapshot():
    """Everything retirement may change, to show that a second run changes nothing."""
    return {
        "awards": list(Award.objects.order_by("pk").values()),
        "deliveries": list(Delivery.objects.order_by("pk").values()),
        "facts": list(LearnerFact.objects.order_by("pk").values()),
        "progress": list(Progress.objects.order_by("pk").values()),
        "rejected": list(RejectedEvent.objects.order_by("pk").values()),
        "records": list(RetirementRecord.objects.order_by("pk").values()),
    }


# --- End to end -------------------------------------------------------------------------------------


def test_retirement_end_to_end_through_the_platform_signal(client, ada, grace, credly, platform_signals,
                                                           on_commit):
    award = ada_award()
    document = award.document
    [issue] = Delivery.objects.filter(award=award)
    assert (issue.action, issue.state) == ("issue", "delivered")
    [badge] = credly.badges_of("ada@example.com")
    assert badge["state"] == "pending" and badge["id"] == issue.external_id
    assert issuance.verify_credential(document).valid
    assert LearnerFact.objects.filter(user=ada).count() == 2 and Progress.objects.filter(user=ada).exists()
    assert RejectedEvent.objects.count() == 5

    deactivate(ada)  # the platform replaced the email long before the retirement steps run
    with on_commit():
        platform_signals.USER_RETIRE_LMS_MISC.send(sender=LMSAccountRetirementView, user=ada)

    # Facts and progress gone; Grace's untouched.
    assert not LearnerFact.objects.filter(user=ada).exists()
    assert not LearnerEvent.objects.filter(user=ada).exists() and LearnerEvent.objects.filter(user=grace).exists()
    assert not Progress.objects.filter(user=ada).exists()
    assert LearnerFact.objects.filter(user=grace).exists() and Progress.objects.filter(user=grace).exists()

    # Revoked, in the status list: the copy the learner (or anyone) kept no longer verifies.
    award.refresh_from_db()
    assert (award.status, award.revocation_source, award.current) == ("revoked", "retirement", None)
    assert award.blocks_reaward
    result = issuance.verify_credential(document)
    assert (result.valid, result.failed, result.reason) == (False, "revocation", "revoked")
    status = client.get(document["credentialStatus"]["statusListCredential"].replace(lms_root_url(), ""))
    assert status.status_code == 200

    # The revocation went to Credly over the outbox, and needed nothing of what was removed.
    revoke = Delivery.objects.get(award=award, action="revoke")
    assert (revoke.state, revoke.attempts, revoke.last_error) == ("delivered", 1, "")
    [request] = credly.requests_to("PUT", f"/badges/{issue.external_id}/revoke$")
    assert request["json"]["reason"] == RETIREMENT_REASON
    assert "ada" not in json.dumps(request["json"]).lower()
    assert credly.badges[issue.external_id]["state"] == "revoked"

    # Personal data scrubbed: the signed document and its salt, the facts in the evidence, errors
    # quoting the learner, the rejected events about her (Grace's stays).
    assert award.document is None and award.recipient_salt == ""
    assert award.evidence == [{"path": "criteria", "requirement": {"type": "course_passed", "course": C1}}]
    issue.refresh_from_db()
    assert "ada@example.com" not in issue.last_error and issue.external_id
    assert list(RejectedEvent.objects.values_list("event_id", flat=True)) == ["e-grace"]

    # The public page and the JSON say "revoked" and nothing else.
    page = client.get(f"/microcred/credentials/{award.uuid}/")
    assert page.status_code == 410
    text = page.content.decode()
    assert "revoked by its issuer" in text and "Python Basics" not in text and "ada" not in text.lower()
    assert client.get(f"/microcred/credentials/{award.uuid}.json").status_code == 410

    # The audit record: what happened and how much, under a keyed hash of the user id only.
    record = RetirementRecord.objects.get()
    assert record.subject == subject_hash(ada.pk) and record.subject != str(ada.pk)
    assert (record.source, record.awards_revoked, record.revocations_queued, record.documents_removed,
            record.facts_deleted, record.progress_deleted, record.rejected_events_deleted) == \
        ("USER_RETIRE_LMS_MISC", 1, 1, 1, 2, 2, 4)
    kept = json.dumps(model_to_dict(record, exclude=["subject", "id"]), default=str).lower()
    for personal in ("ada", "example.com", "retired.invalid", "python basics"):
        assert personal not in kept
    assert not any(f.is_relation for f in RetirementRecord._meta.get_fields())

    # The platform's last step sends USER_RETIRE_LMS_CRITICAL: nothing is left, nothing changes.
    before, requests = snapshot(), len(credly.requests)
    with on_commit():
        platform_signals.USER_RETIRE_LMS_CRITICAL.send(sender=AccountRetirementView, user=ada)
    assert snapshot() == before and len(credly.requests) == requests


def test_the_receivers_are_connected_only_where_the_platform_has_the_signals(platform_signals):
    for name in ("USER_RETIRE_LMS_MISC", "USER_RETIRE_LMS_CRITICAL"):
        assert getattr(platform_signals, name).has_listeners()
    assert not platform_signals.USER_RETIRE_MAILINGS.has_listeners()  # mailing lists are not ours
    assert sorted(connect_retirement_receivers()) == ["USER_RETIRE_LMS_CRITICAL", "USER_RETIRE_LMS_MISC"]
    assert len(platform_signals.USER_RETIRE_LMS_MISC.receivers) == 1  # connecting again adds nothing


def test_the_platforms_retirement_pipeline_revokes_and_scrubs(ada, grace, credly, on_commit):
    """Both of the pipeline's steps (retire_misc, then retire), as the host's platform sends them."""
    award = ada_award()
    with on_commit():
        retire_user(ada)
    award.refresh_from_db()
    assert award.status == Award.Status.REVOKED and award.document is None
    assert not LearnerFact.objects.filter(user=ada).exists() and LearnerFact.objects.filter(user=grace).exists()
    record = RetirementRecord.objects.get(subject=subject_hash(ada.pk))
    assert (record.awards_revoked, record.revocations_queued) == (1, 1)  # the second step found nothing more


def test_without_edx_platform_nothing_is_connected(monkeypatch):
    monkeypatch.setitem(sys.modules, PLATFORM_SIGNALS_MODULE, None)  # "import" fails, as outside the LMS
    assert connect_retirement_receivers() == []


def test_the_management_command_retires_and_is_idempotent(ada, grace, credly, on_commit):
    award = ada_award()
    document = award.document
    out = io.StringIO()
    with on_commit():
        call_command("microcred_retire_user", "ada", stdout=out)
    assert "awards revoked 1" in out.getvalue() and "revocations queued 1" in out.getvalue()
    assert not LearnerFact.objects.filter(user=ada).exists() and not Progress.objects.filter(user=ada).exists()
    assert issuance.verify_credential(document).failed == "revocation"
    assert credly.badges_of("ada@example.com")[0]["state"] == "revoked"
    assert RetirementRecord.objects.get().source == "microcred_retire_user"

    before = snapshot()
    again = io.StringIO()
    with on_commit():
        call_command("microcred_retire_user", "--id", str(ada.pk), stdout=again)
    assert "Nothing to retire" in again.getvalue()
    assert snapshot() == before

    # Grace is untouched.
    assert Award.objects.get(user=grace).status == "active"
    assert LearnerFact.objects.filter(user=grace).exists()


def test_the_command_takes_a_user_id_when_no_username_matches(ada, on_commit):
    with on_commit():
        call_command("microcred_retire_user", str(ada.pk), stdout=io.StringIO())
    assert ada_award().status == "revoked"


@pytest.mark.parametrize("argv", [[], ["nobody"], ["--id", "999999"], ["ada", "--id", "1"]])
def test_the_command_refuses_what_names_no_single_learner(db, argv):
    with pytest.raises(CommandError):
        call_command("microcred_retire_user", *argv, stdout=io.StringIO())


def test_retiring_a_learner_with_nothing_here_keeps_only_the_record(grace):
    result = retire_learner(grace)
    assert isinstance(result, RetirementResult) and not result.changed
    assert all(getattr(result, f.name) == 0 for f in fields(result) if f.name != "record")
    assert RetirementRecord.objects.get().subject == subject_hash(grace.pk)


def test_no_award_comes_back_after_retirement(ada, on_commit):
    with on_commit():
        retire_learner(ada)
    with on_commit():  # a late event from the platform
        events.passing(ada, C1, time=events.at(30))
    assert list(Award.objects.filter(user=ada).values_list("status", flat=True)) == ["revoked"]


def test_an_award_not_yet_signed_is_never_signed_after_retirement(client, learner, make_credential, on_commit,
                                                                  monkeypatch):
    make_credential("basics", {"type": "course_passed", "course": C1})
    monkeypatch.setattr(issue_award_task, "apply_async", lambda *a, **k: None)  # the signing task is late
    with on_commit():
        events.passing(learner, C1)
    with on_commit():
        retire_learner(learner)
    award = Award.objects.get(user=learner)
    assert client.get(f"/microcred/credentials/{award.uuid}/").status_code == 410
    assert client.get(f"/microcred/credentials/{award.uuid}.json").status_code == 410
    award.refresh_from_db()
    assert award.document is None


# --- Every platform ---------------------------------------------------------------------------------


@pytest.fixture
def four_platforms(learner, platforms_with_basics, on_commit):
    """ada's "basics" delivered to the four platforms, then ada retired."""
    with on_commit():
        events.passing(learner, C1)
    assert sorted(Delivery.objects.values_list("platform", "state")) == [
        ("accredible", "delivered"), ("badgr", "delivered"), ("credly", "delivered"), ("obf", "delivered")]
    deactivate(learner)
    with on_commit():
        retire_learner(learner)
    yield platforms_with_basics


def test_every_platform_is_asked_to_revoke_or_delete(four_platforms):
    email = "ada@example.com"
    assert sorted(Delivery.objects.filter(action="revoke").values_list("platform", "state")) == [
        ("accredible", "delivered"), ("badgr", "delivered"), ("credly", "delivered"), ("obf", "delivered")]
    assert four_platforms["credly"].badges_of(email)[0]["state"] == "revoked"
    assert four_platforms["accredible"].credentials_of(email) == []  # Accredible deletes
    assert [a.get("revoked") for a in four_platforms["badgr"].assertions_of(email)] == [True]
    assert four_platforms["obf"].requests_to("DELETE")  # asked; see the next test for what it did


def test_open_badge_factory_revokes_after_the_address_is_gone(four_platforms):
    assert list(four_platforms["obf"].events_of("ada@example.com")[0]["revoked"]) == ["ada@example.com"]


def test_a_late_event_of_a_retired_learner_is_not_recorded(db, learner, on_commit):
    with on_commit():
        retire_learner(learner)
    update = facts.FactUpdate(learner.pk, C1, "passing", {"is_passing": True},
                              "late-event", "org.openedx.learning.course.passing.status.updated.v1",
                              datetime.now(dt_timezone.utc))  # after the retirement
    assert facts.record_fact(update) == facts.IGNORED
    assert not LearnerFact.objects.filter(user=learner).exists()
