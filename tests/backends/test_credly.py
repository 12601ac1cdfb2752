"""
The Credly backend against a local Credly (tests/fakes/credly_server.py) over real sockets: what it
sends, and how each way the platform can fail reaches the delivery task.
"""

import base64
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from openedx_microcred.backends.base import BadgeRequest, DeliveryError, OutcomeUnknown, PermanentError, TransientError
from openedx_microcred.backends.credly import CredlyBackend, credly_time, split_name
from tests.fakes.credly_server import CredlyServer

TIMEOUT = (1, 1)


@pytest.fixture
def credly():
    with CredlyServer() as server:
        yield server


@pytest.fixture
def make_backend(credly):
    """make(**config): a Credly backend on the local server (quick timeouts), its sessions closed after the test."""
    sessions = []

    def make(**config):
        session = requests.Session()
        sessions.append(session)
        config = {"backend": "credly", "base_url": credly.base_url, "organization_id": credly.organization_id,
                  "token": credly.token, "timeout": TIMEOUT, **config}
        return CredlyBackend("credly-test", config, session=session)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def backend(make_backend):
    return make_backend()


def badge_request(credly, **fields):
    """A BadgeRequest for Ada's award of "Python Foundations" on the server's template; ``fields`` replace values."""
    values = {
        "delivery_id": 1, "award_uuid": "6f1c2a1e-8b3f-4c55-9d1e-0a7b9b0c1d2e", "recipient_email": "ada@example.com",
        "first_name": "Ada", "last_name": "Lovelace",
        "issued_at": datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2))),
        "expires_at": None, "credential_title": "Python Foundations", "credential_description": "Three courses.",
        "evidence_url": "https://lms.example.com/microcred/credentials/6f1c2a1e/",
        "credential_json_url": "https://lms.example.com/microcred/credentials/6f1c2a1e.json",
        "target": {"account": "credly-test", "template_id": credly.default_template_id},
    }
    values.update(fields)
    return BadgeRequest(**values)


def posts(credly):
    return [r for r in credly.requests if r["method"] == "POST"]


# --- issuing --------------------------------------------------------------------------------------


def test_issue_sends_the_documented_payload(credly, make_backend):
    backend = make_backend(suppress_badge_notification_email=True, locale="fr")
    request = badge_request(credly, expires_at=datetime(2028, 1, 2, 3, 4, 5, tzinfo=timezone.utc))

    result = backend.issue(request)

    assert result.external_id in credly.badges and result.state == "pending"
    assert result.url == credly.badges[result.external_id]["badge_url"]
    [post] = posts(credly)
    assert post["authorized"] is True  # Basic, token as user name, empty password
    assert post["path"] == f"/v1/organizations/{credly.organization_id}/badges"
    assert post["json"] == {
        "badge_template_id": credly.default_template_id,
        "recipient_email": "ada@example.com",
        "issued_to_first_name": "Ada",
        "issued_to_last_name": "Lovelace",
        "issued_at": "2026-03-04 05:06:07 +0000",  # the award time, in UTC
        "expires_at": "2028-01-02 03:04:05 +0000",
        "issuer_earner_id": request.award_uuid,
        "suppress_badge_notification_email": True,
        "locale": "fr",
        "evidence": [{"type": "UrlEvidence", "name": "Python Foundations", "value": request.evidence_url}],
    }


def test_issue_without_expiry_or_evidence_leaves_them_out(credly, backend):
    backend.issue(badge_request(credly, evidence_url=""))

    sent = posts(credly)[0]["json"]
    assert "expires_at" not in sent and "evidence" not in sent and "locale" not in sent
    assert sent["suppress_badge_notification_email"] is False


def test_credly_time_is_utc_and_naive_means_utc():
    assert credly_time(datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))) == "2026-01-01 05:30:00 +0000"
    assert credly_time(datetime(2026, 1, 1, 0, 30)) == "2026-01-01 00:30:00 +0000"


@pytest.mark.parametrize("first, last, expected", [
    ("Ada", "Lovelace", ("Ada", "Lovelace")),
    ("Ada", "", ("Ada", "-")),
    ("", "Lovelace", ("Lovelace", "-")),
    ("Ada King Lovelace", "", ("Ada King", "Lovelace")),
    ("  ", " ", ("ada", "-")),
])
def test_both_names_are_never_empty(first, last, expected):
    assert split_name(first, last, "ada@example.com") == expected


def test_a_learner_with_one_name_gets_a_badge(credly, backend):
    result = backend.issue(badge_request(credly, first_name="Ada", last_name=""))

    badge = credly.badges[result.external_id]
    assert (badge["issued_to_first_name"], badge["issued_to_last_name"]) == ("Ada", "-")


def test_a_target_without_template_fails_for_good_without_calling_credly(credly, backend):
    with pytest.raises(PermanentError, match="template_id"):
        backend.issue(badge_request(credly, target={"account": "credly-test"}))
    assert credly.requests == []


# --- refusals ---------------------------------------------------------------------------------------


def test_a_bad_token_is_permanent_and_never_shown(credly, make_backend):
    token = "wrong-token-7Hq2ZpLx9s"
    backend = make_backend(token=token)

    with pytest.raises(PermanentError) as caught:
        backend.issue(badge_request(credly))

    assert caught.value.status == 401
    assert token not in str(caught.value) and token not in repr(caught.value.args)
    assert base64.b64encode(f"{token}:".encode()).decode() not in str(caught.value)
    assert credly.badges == {}


def test_another_organization_is_not_found(credly, make_backend):
    backend = make_backend(organization_id="00000000-0000-0000-0000-000000000000")

    with pytest.raises(PermanentError) as caught:
        backend.fetch_state("anything")
    assert caught.value.status == 404


def test_an_unknown_template_fails_with_the_platforms_message(credly, backend):
    with pytest.raises(PermanentError) as caught:
        backend.issue(badge_request(credly, target={"template_id": "no-such-template"}))

    assert caught.value.status == 422
    assert "Badge template not found" in str(caught.value)
    assert credly.badges == {}


def test_the_fake_reports_missing_fields_the_way_credly_does(credly):
    response = requests.post(f"{credly.base_url}organizations/{credly.organization_id}/badges",
                             json={"recipient_email": "ada@example.com"}, auth=(credly.token, ""), timeout=TIMEOUT)

    assert response.status_code == 422
    attributes = {error["attribute"] for error in response.json()["data"]["errors"]}
    assert attributes == {"issued_to_first_name", "issued_to_last_name", "badge_template_id", "issued_at"}


def test_an_archived_template_is_refused(credly, backend):
    archived = credly.add_template("Old", state="archived")

    with pytest.raises(PermanentError, match="archived"):
        backend.issue(badge_request(credly, target={"template_id": archived}))


# --- transient failures -------------------------------------------------------------------------------


def test_a_server_error_on_create_leaves_the_outcome_unknown(credly, backend):
    """A 5xx on a create may come after the badge was made (a proxy's 502/504): look it up first."""
    credly.add_fault("error", method="POST", status=500)

    with pytest.raises(OutcomeUnknown) as caught:
        backend.issue(badge_request(credly))

    assert caught.value.status == 500
    assert credly.badges == {}
    assert backend.issue(badge_request(credly)).external_id in credly.badges  # the next attempt goes through


def test_a_server_error_after_creating_does_not_duplicate_on_retry(credly, backend):
    credly.add_fault("error", method="POST", status=500, act_first=True)

    with pytest.raises(TransientError):
        backend.issue(badge_request(credly))
    [created] = credly.badges

    assert backend.issue(badge_request(credly)).external_id == created  # 422 "already has" -> looked up
    assert len(credly.badges) == 1


def test_throttling_is_transient_with_the_platforms_delay(credly, backend):
    credly.add_fault("error", status=429, retry_after="7")

    with pytest.raises(TransientError) as caught:
        backend.issue(badge_request(credly))

    assert caught.value.status == 429 and caught.value.retry_after == 7.0
    assert credly.badges == {}


def test_a_timeout_after_creating_leaves_the_outcome_unknown_and_the_badge_findable(credly, backend):
    credly.add_fault("hang", method="POST", act_first=True, hang_for=10)
    request = badge_request(credly)

    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        backend.issue(request)
    assert time.monotonic() - started < 5  # the read timeout, not the server's stall

    [created] = credly.badges
    found = backend.find_existing(request)
    assert found is not None and found.external_id == created and found.state == "pending"
    assert len(credly.badges) == 1


def test_a_dropped_connection_after_creating_leaves_the_outcome_unknown(credly, backend):
    credly.add_fault("drop", method="POST", act_first=True)
    request = badge_request(credly)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    [created] = credly.badges
    assert backend.find_existing(request).external_id == created


def test_a_dropped_connection_before_creating_is_unknown_too_and_finds_nothing(credly, backend):
    credly.add_fault("drop", method="POST")
    request = badge_request(credly)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    assert backend.find_existing(request) is None
    assert backend.issue(request).external_id in credly.badges


def test_a_timeout_on_a_read_is_transient_not_unknown(credly, backend):
    badge_id = credly.add_badge("ada@example.com")
    credly.add_fault("hang", method="GET", hang_for=10)

    with pytest.raises(TransientError) as caught:
        backend.fetch_state(badge_id)
    assert not isinstance(caught.value, OutcomeUnknown)


def test_an_unreachable_platform_is_transient(make_backend, credly):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = make_backend(base_url=f"http://127.0.0.1:{port}/v1/")

    with pytest.raises(TransientError) as caught:
        backend.issue(badge_request(credly))
    assert not isinstance(caught.value, OutcomeUnknown)


# --- duplicates and lookups ---------------------------------------------------------------------------


def test_already_has_this_badge_returns_the_existing_one(credly, backend):
    first = backend.issue(badge_request(credly))

    again = backend.issue(badge_request(credly, award_uuid="0b5e0c4e-1111-4222-8333-944455556666"))

    assert again.external_id == first.external_id
    assert len(credly.badges) == 1
    assert [r["status"] for r in posts(credly)] == [201, 422]


def test_find_existing_pages_and_skips_revoked_and_other_badges(credly, backend):
    credly.per_page = 2
    request = badge_request(credly)
    other_template = credly.add_template("Data Analysis")
    for n in range(5):
        credly.add_badge(f"someone{n}@example.com")
    credly.add_badge("ada@example.com", template_id=other_template)
    credly.add_badge("ada@example.com", state="revoked")
    credly.add_badge("ada@example.com", state="revoked")
    live = credly.add_badge("ADA@example.com", state="accepted")
    credly.add_badge("ada@example.com", state="revoked")

    found = backend.find_existing(request)

    assert found.external_id == live and found.state == "accepted"
    pages = [r["query"].get("page") for r in credly.requests if r["method"] == "GET"]
    assert pages == ["1", "2"]  # four matches, two per page
    assert credly.requests[0]["query"]["filter"] == \
        f"recipient_email_all::ada@example.com|badge_template_id::{credly.default_template_id}"


def test_find_existing_prefers_our_own_badge(credly, backend):
    request = badge_request(credly)
    credly.add_badge("ada@example.com", state="accepted")
    ours = credly.add_badge("ada@example.com", issuer_earner_id=request.award_uuid)

    assert backend.find_existing(request).external_id == ours


def test_find_existing_finds_nothing(credly, backend):
    assert backend.find_existing(badge_request(credly)) is None


# --- revoking and states -------------------------------------------------------------------------------


def test_revoking_twice_is_fine(credly, make_backend):
    backend = make_backend(suppress_revoke_notification_email=True)
    request = badge_request(credly)
    badge_id = backend.issue(request).external_id

    backend.revoke(badge_id, request, "grades were corrected")
    backend.revoke(badge_id, request, "grades were corrected")

    badge = credly.badges[badge_id]
    assert badge["state"] == "revoked" and badge["revocation_reason"] == "grades were corrected"
    puts = [r for r in credly.requests if r["method"] == "PUT"]
    assert puts[0]["path"].endswith(f"/badges/{badge_id}/revoke")
    assert puts[0]["json"] == {"reason": "grades were corrected", "suppress_revoke_notification_email": True}
    assert [r["status"] for r in puts] == [200, 422]
    assert backend.fetch_state(badge_id) == "revoked"
    assert backend.find_existing(request) is None


def test_revoking_an_unknown_badge_fails(credly, backend):
    with pytest.raises(PermanentError) as caught:
        backend.revoke("no-such-badge", badge_request(credly), "x")
    assert caught.value.status == 404


def test_revoking_needs_no_reason_from_us(credly, backend):
    request = badge_request(credly)
    badge_id = backend.issue(request).external_id

    backend.revoke(badge_id, request, "")

    assert credly.badges[badge_id]["state"] == "revoked"


def test_fetch_state(credly, backend):
    badge_id = credly.add_badge("ada@example.com", state="accepted")

    assert backend.fetch_state(badge_id) == "accepted"
    with pytest.raises(PermanentError):
        backend.fetch_state("no-such-badge")


# --- templates -----------------------------------------------------------------------------------------


def test_validate_target_reads_every_page_of_active_templates(credly, backend):
    credly.per_page = 2
    for n in range(4):
        credly.add_template(f"Template {n}")
    archived = credly.add_template("Archived", state="archived")
    last = credly.add_template("The last one")

    assert backend.validate_target({"template_id": last}) == []
    assert [r["query"]["page"] for r in credly.requests] == ["1", "2", "3"]
    assert all(r["query"]["filter"] == "state::active" for r in credly.requests)
    assert backend.validate_target({"template_id": archived})[0].startswith(f"{archived!r} is not an active")
    assert backend.validate_target({"template_id": "nope"}) != []
    assert "template_id is required" in backend.validate_target({})[0]


def test_validate_target_reports_a_platform_it_cannot_ask(credly, make_backend):
    token = "bad-token-Zx81Qw"
    problems = make_backend(token=token).validate_target({"template_id": credly.default_template_id})

    assert len(problems) == 1 and "401" in problems[0] and token not in problems[0]


# --- webhook confirmation -------------------------------------------------------------------------------


def test_fetch_event(credly, backend):
    badge_id = credly.add_badge("ada@example.com", state="accepted")
    event_id = credly.add_event("badge.state.changed", badge_id)

    event = backend.fetch_event(event_id)

    assert event["id"] == event_id and event["event_type"] == "badge.state.changed"
    assert event["organization_id"] == credly.organization_id
    assert event["badge"]["id"] == badge_id and event["badge"]["state"] == "accepted"


def test_fetch_event_of_an_id_not_in_credlys_format_asks_nothing(credly, backend):
    badge_id = credly.add_badge("ada@example.com")

    # Quoting alone cannot stop "." and "..": URL joining resolves them to another path.
    for forged in ("no-such-event", ".", "..", f"../badges/{badge_id}", "x?filter=y", f"{badge_id}\n"):
        with pytest.raises(PermanentError) as caught:
            backend.fetch_event(forged)
        assert caught.value.status is None and "not a Credly event id" in str(caught.value)
    assert credly.requests == []


def test_fetch_event_of_an_unknown_id_is_not_found(credly, backend):
    with pytest.raises(PermanentError) as caught:
        backend.fetch_event("00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 404
    assert all(r["path"].startswith(f"/v1/organizations/{credly.organization_id}/events/") for r in credly.requests)


def test_the_template_list_is_every_active_template_over_all_pages(credly, make_backend):
    """What the Studio picker offers: Credly's active templates, page after page (per_page 50)."""
    ids = [credly.add_template(f"Template {i}") for i in range(60)]
    credly.add_template("Old", state="archived")
    templates = make_backend().list_templates()
    assert {tid for tid, _name in templates} == {credly.default_template_id, *ids}
    assert (credly.default_template_id, "Python Foundations") in templates
    assert len([r for r in credly.requests if "badge_templates" in r["path"]]) == 2


def test_the_template_list_fails_with_a_delivery_error_that_names_no_secret(credly, make_backend):
    backend = make_backend(token="wrong-token-secret")
    with pytest.raises(DeliveryError) as raised:
        backend.list_templates()
    assert "wrong-token-secret" not in str(raised.value)
