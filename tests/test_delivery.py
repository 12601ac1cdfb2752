"""
Delivery to badge platforms, end to end: real signal → award → outbox → delivery task → the local
Credly server over real sockets (no mocking of requests).
"""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from openedx_microcred import delivery
from openedx_microcred.awards import revoke_awards
from openedx_microcred.backends.base import redact
from openedx_microcred.models import Award, Delivery
from openedx_microcred.tasks import deliver_task

from . import events
from .conftest import C1


@pytest.fixture
def badge_credential(make_credential, credly):
    return make_credential("basics", {"type": "course_passed", "course": C1}, validity_days=365,
                           platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])


def award_by_event(learner, on_commit):
    with on_commit():
        events.passing(learner, C1)
    return Award.objects.get(user=learner)


def run_due():
    """What the worker and the sweep do once the backoff has passed: attempt every due row again."""
    Delivery.objects.filter(state=Delivery.State.RETRYING).update(next_attempt_at=timezone.now())
    for pk in Delivery.objects.filter(state__in=("pending", "retrying")).values_list("pk", flat=True):
        delivery.deliver(pk)


def test_signal_to_award_to_badge_upstream(learner, badge_credential, credly, on_commit):
    award = award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert (row.state, row.action, row.attempts, row.platform) == ("delivered", "issue", 1, "credly")
    [badge] = credly.badges_of(learner.email)
    assert row.external_id == badge["id"]
    assert badge["badge_template"]["id"] == credly.default_template_id
    # When the learner earned it (the event's time), not the template's nor when the award was made.
    assert award.earned_at == events.T0 != award.issued_at
    assert badge["issued_at"] == award.earned_at.strftime("%Y-%m-%d %H:%M:%S +0000")
    assert f"/microcred/credentials/{award.uuid}/" in json.dumps(badge)


def test_the_outbox_row_is_written_with_the_award(learner, badge_credential, on_commit, monkeypatch):
    """Broker down: the award and its delivery are both there; the sweep delivers later."""
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(deliver_task, "apply_async", broker_down)
    award = award_by_event(learner, on_commit)
    row = Delivery.objects.get(award=award)
    assert row.state == "pending" and row.attempts == 0
    monkeypatch.undo()
    assert delivery.sweep() == 1
    row.refresh_from_db()
    assert row.state == "delivered"


def test_transient_failures_then_success(learner, badge_credential, credly, on_commit):
    credly.add_fault("error", method="POST", path="/badges$", status=500, times=2)
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "retrying" and "500" in row.last_error
    first_wait = row.next_attempt_at - timezone.now()
    assert timedelta(seconds=0) < first_wait <= timedelta(seconds=1)
    run_due()
    row.refresh_from_db()
    assert row.state == "retrying" and row.attempts == 2
    run_due()
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("delivered", 3, "")
    assert len(credly.badges_of(learner.email)) == 1


def test_429_honours_retry_after(learner, badge_credential, credly, on_commit):
    credly.add_fault("error", method="POST", path="/badges$", status=429, retry_after="120")
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "retrying"
    assert row.next_attempt_at - timezone.now() > timedelta(seconds=110)  # not our 1 s backoff


def test_permanent_failure_is_not_retried(learner, make_credential, credly, on_commit):
    make_credential("basics", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": "no-such-template"}])
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "failed" and row.attempts == 1
    assert "422" in row.last_error
    run_due()
    assert Delivery.objects.get().attempts == 1


def test_gives_up_after_the_maximum_attempts(learner, badge_credential, credly, on_commit):
    credly.add_fault("error", method="POST", path="/badges$", status=503, times=10)
    award_by_event(learner, on_commit)
    for _ in range(5):
        run_due()
    row = Delivery.objects.get()
    assert row.state == "failed" and row.attempts == 4 and "gave up after 4 attempts" in row.last_error


@pytest.mark.parametrize("fault", [
    {"action": "hang", "hang_for": 3.0, "act_first": True},
    {"action": "drop", "act_first": True},
])
def test_outcome_unknown_never_makes_a_second_badge(settings, learner, badge_credential, credly, on_commit, fault):
    # A backoff no busy machine outlasts: the retry queued by the failed attempt (run at once, Celery
    # being eager here) must find the row not yet due, as a worker would; run_due() then makes it due.
    settings.MICROCRED_DELIVERY = {**settings.MICROCRED_DELIVERY, "backoff_base": 60.0, "backoff_cap": 60.0}
    credly.add_fault(method="POST", path="/badges$", **fault)
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "retrying" and row.outcome_unknown
    assert len(credly.badges_of(learner.email)) == 1  # it did reach Credly
    run_due()
    row.refresh_from_db()
    assert row.state == "delivered" and not row.outcome_unknown
    [badge] = credly.badges_of(learner.email)
    assert row.external_id == badge["id"]


def test_a_worker_that_died_while_sending_is_taken_back(learner, badge_credential, credly, on_commit, monkeypatch):
    monkeypatch.setattr(deliver_task, "apply_async", lambda *a, **k: None)
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    # The worker claimed it, sent it, and was killed before recording anything.
    credly.add_badge(learner.email, credly.default_template_id, issuer_earner_id=str(row.award.uuid))
    Delivery.objects.filter(pk=row.pk).update(state="sending", attempts=1,
                                              modified=timezone.now() - timedelta(hours=1))
    monkeypatch.undo()
    delivery.sweep()
    row.refresh_from_db()
    assert row.state == "delivered"
    assert len(credly.badges_of(learner.email)) == 1


def test_revocation_follows_the_badge_upstream(learner, badge_credential, credly, on_commit):
    award = award_by_event(learner, on_commit)
    with on_commit():
        revoke_awards([award.pk], "academic misconduct", source=Award.RevocationSource.OPERATOR)
    revoke = Delivery.objects.get(action="revoke")
    assert revoke.state == "delivered"
    [badge] = credly.badges_of(learner.email)
    assert badge["state"] == "revoked"


def test_revoked_before_delivery_cancels_instead(learner, badge_credential, credly, on_commit, monkeypatch):
    monkeypatch.setattr(deliver_task, "apply_async", lambda *a, **k: None)
    award = award_by_event(learner, on_commit)
    with on_commit():
        revoke_awards([award.pk], "mistake")
    assert list(Delivery.objects.values_list("action", "state")) == [("issue", "cancelled")]
    assert credly.badges_of(learner.email) == []


def test_webhook_updates_the_state_after_confirming_with_credly(client, learner, badge_credential, credly,
                                                                on_commit):
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    credly.badges[row.external_id]["state"] = "accepted"
    event_id = credly.add_event("badge.state_changed", badge_id=row.external_id)
    response = client.post("/microcred/webhooks/credly/credly/", {"id": event_id,
                           "organization_id": credly.organization_id, "event_type": "badge.state_changed"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json() == {"updated": True, "stale": False}
    row.refresh_from_db()
    assert row.upstream_state == "accepted"


@pytest.mark.parametrize("body, status", [
    ({"id": "00000000-0000-0000-0000-000000000000"}, 403),  # an event Credly never sent
    ({"organization_id": "x"}, 400),
])
def test_forged_or_malformed_webhooks_change_nothing(client, learner, badge_credential, credly, on_commit, body,
                                                     status):
    award_by_event(learner, on_commit)
    body.setdefault("organization_id", credly.organization_id)
    # A forger claims the badge was rejected; the body is not believed.
    body["badge"] = {"id": Delivery.objects.get().external_id, "state": "rejected"}
    response = client.post("/microcred/webhooks/credly/credly/", body, content_type="application/json")
    assert response.status_code == status
    assert Delivery.objects.get().upstream_state != "rejected"


def test_webhook_for_another_organization_or_account(client, credly, db):
    event_id, other_org = "7d0c1c52-5c0a-4f5e-9a55-0c6a3c1f2b11", "0b6f6c59-2d5e-4a7e-8f4c-6f1e1b2a3c4d"
    wrong_org = client.post("/microcred/webhooks/credly/credly/", {"id": event_id, "organization_id": other_org},
                            content_type="application/json")
    not_an_org = client.post("/microcred/webhooks/credly/credly/", {"id": event_id, "organization_id": "other"},
                             content_type="application/json")
    unknown = client.post("/microcred/webhooks/credly/nope/", {"id": event_id}, content_type="application/json")
    assert (wrong_org.status_code, not_an_org.status_code, unknown.status_code) == (403, 400, 404)
    assert client.get("/microcred/webhooks/credly/credly/").status_code == 405


def test_secrets_never_appear_in_errors_logs_or_admin(admin_client, learner, make_credential, credly, on_commit,
                                                      settings, caplog):
    settings.MICROCRED_PLATFORM_ACCOUNTS["credly"]["token"] = "wrong-" + credly.token
    secret = settings.MICROCRED_PLATFORM_ACCOUNTS["credly"]["token"]
    make_credential("basics", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
    with caplog.at_level(logging.DEBUG):
        award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "failed" and "401" in row.last_error
    pages = [admin_client.get("/admin/openedx_microcred/delivery/").content.decode(),
             admin_client.get(f"/admin/openedx_microcred/delivery/{row.pk}/change/").content.decode()]
    for text in [row.last_error, caplog.text, *pages]:
        assert secret not in text and credly.token not in text


def test_admin_retry_and_cancel(admin_client, learner, make_credential, credly, on_commit):
    make_credential("basics", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": "missing"}])
    award_by_event(learner, on_commit)
    row = Delivery.objects.get()
    assert row.state == "failed"
    credly.add_template("Fixed", template_id="missing")  # the operator fixed the template upstream
    changelist = "/admin/openedx_microcred/delivery/"
    with on_commit():
        admin_client.post(changelist, {"action": "retry", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.state == "delivered"
    admin_client.post(changelist, {"action": "cancel", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.state == "delivered"  # a delivered row is not cancelled


def test_deliveries_command_lists_and_retries(learner, make_credential, credly, on_commit):
    make_credential("basics", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": "missing"}])
    award_by_event(learner, on_commit)
    out = io.StringIO()
    call_command("microcred_deliveries", "list", "--state", "failed", stdout=out)
    assert "failed" in out.getvalue() and "422" in out.getvalue()
    credly.add_template("Fixed", template_id="missing")
    with on_commit():
        call_command("microcred_deliveries", "retry", stdout=io.StringIO())
    assert Delivery.objects.get().state == "delivered"


def test_platform_targets_are_validated(make_credential):
    with pytest.raises(ValidationError, match="platform_targets\\[0\\]"):
        make_credential("x", {"type": "course_passed", "course": C1}, platform_targets=[{"template_id": "t"}])


def test_rate_limit_spreads_a_burst(settings, learner, badge_credential, credly, on_commit, django_user_model,
                                    monkeypatch):
    settings.MICROCRED_DELIVERY = {**settings.MICROCRED_DELIVERY, "rate_per_second": 2}
    # The budget is per calendar second: the burst is made within one, however busy the machine.
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    with on_commit():
        for i in range(5):
            user = django_user_model.objects.create_user(f"u{i}", f"u{i}@example.com", "pw")
            events.passing(user, C1)
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["delivered"] * 2 + ["retrying"] * 3


def test_redaction_covers_auth_headers_and_echoed_tokens():
    text = ('POST https://x/v1/client/oauth2/token: 401 Authorization: Basic aHVudGVyMjo= '
            '{"access_token": "abc", "client_secret": "s3"} token=zzz basic:aHVudGVyMjo= hunter2')
    cleaned = redact(text, ["hunter2"])
    for leaked in ("aHVudGVyMjo=", "abc", "s3", "zzz", "hunter2"):
        assert leaked not in cleaned
    assert "oauth2/token: 401" in cleaned  # the URL and the status stay readable


def test_every_platform_end_to_end(learner, platforms_with_basics, on_commit):
    """One credential pushed to all four platforms by a real signal, then revoked everywhere."""
    credly, accredible, obf, badgr = (platforms_with_basics[name] for name in ("credly", "accredible", "obf", "badgr"))
    award = award_by_event(learner, on_commit)
    assert sorted(Delivery.objects.values_list("platform", "state")) == [
        ("accredible", "delivered"), ("badgr", "delivered"), ("credly", "delivered"), ("obf", "delivered")]
    assert len(credly.badges_of(learner.email)) == 1
    assert len(accredible.credentials_of(learner.email)) == 1
    assert len(obf.events_of(learner.email)) == 1
    assert len(badgr.assertions_of(learner.email)) == 1

    with on_commit():
        revoke_awards([award.pk], "issued in error", source=Award.RevocationSource.OPERATOR)
    assert sorted(Delivery.objects.filter(action="revoke").values_list("platform", "state")) == [
        ("accredible", "delivered"), ("badgr", "delivered"), ("credly", "delivered"), ("obf", "delivered")]
    assert credly.badges_of(learner.email)[0]["state"] == "revoked"
    assert accredible.credentials_of(learner.email) == []  # Accredible has no revoked state: deleted
    assert list(obf.events_of(learner.email)[0]["revoked"]) == [learner.email]
    assert [a.get("revoked") for a in badgr.assertions_of(learner.email)] == [True]


def test_check_command_validates_targets_against_the_platform(make_credential, credly, settings):
    make_credential("good", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
    out = io.StringIO()
    call_command("microcred_deliveries", "check", stdout=out)
    assert "check out" in out.getvalue()
    settings.MICROCRED_PLATFORM_ACCOUNTS["ghost"] = {"backend": "credly", "organizations": ["DemoX"]}
    make_credential("bad", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": "nope"}, {"account": "ghost"}])
    del settings.MICROCRED_PLATFORM_ACCOUNTS["ghost"]  # the operator removed it since
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("microcred_deliveries", "check", stdout=out)
    assert "bad → credly:" in out.getvalue() and "bad → ghost: no such account" in out.getvalue()
