"""
The Canvas Credentials (Badgr) backend against a local Badgr (tests/fakes/badgr_server.py) over
real sockets: token grants and their refresh, the wrapped answers, error classification, lost
answers, revocation, state, targets.
"""

from datetime import datetime, timedelta, timezone

import pytest
import requests

from openedx_microcred.backends.badgr import BadgrBackend
from openedx_microcred.backends.base import OutcomeUnknown, PermanentError, TransientError
from tests.fakes.badgr_server import BadgrServer
from tests.fakes.faults import badge_request

TIMEOUT = (1, 1)


@pytest.fixture
def badgr():
    with BadgrServer() as server:
        yield server


def make_backend(server, account="badgr-test", **config):
    settings = {"backend": "badgr", "base_url": server.base_url, "username": server.username,
                "password": server.password, "timeout": TIMEOUT}
    settings.update(config)
    return BadgrBackend(account, {k: v for k, v in settings.items() if v is not None}, session=requests.Session())


def request_for(server, **fields):
    return badge_request({"badgeclass": server.default_badgeclass_id}, **fields)


def _time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_issue_with_a_password_grant_sends_the_documented_assertion(badgr):
    issued = datetime(2026, 3, 4, 10, 30, tzinfo=timezone.utc)
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    request = request_for(badgr, issued_at=issued, expires_at=expires)

    result = make_backend(badgr).issue(request)

    [token_call] = badgr.requests_to("POST", r"^/o/token$")
    assert token_call["form"] == {"grant_type": "password", "username": badgr.username, "password": badgr.password}
    [sent] = badgr.requests_to("POST", r"/assertions$")
    assert sent["path"] == f"/v2/badgeclasses/{badgr.default_badgeclass_id}/assertions"
    assert sent["headers"]["Authorization"].startswith("Bearer ")
    body = sent["json"]
    assert body["recipient"] == {"identity": "ada@example.com", "type": "email", "hashed": True}
    assert _time(body["issuedOn"]) == issued
    assert _time(body["expires"]) == expires
    assert body["notify"] is True
    assert body["evidence"] == [{"url": request.evidence_url, "narrative": "Awarded for Python Foundations."}]
    assert body["allowDuplicateAwards"] is False
    [stored] = badgr.assertions_of("ada@example.com")
    assert stored["recipient"]["identity"].startswith("sha256$")
    assert result.external_id == stored["entityId"]
    assert result.url == stored["openBadgeId"]
    assert result.state == "Unaccepted"


def test_issue_with_client_credentials_unhashed_and_silent(badgr):
    backend = make_backend(badgr, username=None, password=None, client_id=badgr.client_id,
                           client_secret=badgr.client_secret, scope="rw:issuer", hashed=False, notify=False)
    backend.issue(request_for(badgr))
    [token_call] = badgr.requests_to("POST", r"^/o/token$")
    assert token_call["form"] == {"grant_type": "client_credentials", "client_id": badgr.client_id,
                                  "client_secret": badgr.client_secret, "scope": "rw:issuer"}
    [sent] = badgr.requests_to("POST", r"/assertions$")
    assert sent["json"]["recipient"]["hashed"] is False and sent["json"]["notify"] is False


def test_an_issued_on_ahead_of_the_platform_clock_is_pulled_back(badgr):
    make_backend(badgr).issue(request_for(badgr, issued_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
    [sent] = badgr.requests_to("POST", r"/assertions$")
    assert _time(sent["json"]["issuedOn"]) <= datetime.now(timezone.utc) - timedelta(seconds=59)


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
def test_wrong_credentials_are_permanent_and_never_shown(badgr, grant):
    wrong = "wrong-credential-0123456789"
    config = {"password": wrong} if grant == "password" else {
        "username": None, "password": None, "client_id": badgr.client_id, "client_secret": wrong}
    with pytest.raises(PermanentError) as caught:
        make_backend(badgr, **config).issue(request_for(badgr))
    assert caught.value.status in (400, 401)
    assert "invalid_grant" in str(caught.value) or "invalid_client" in str(caught.value)
    for secret in (wrong, badgr.password, badgr.client_secret):
        assert secret not in str(caught.value)
    assert not badgr.assertions


def test_an_invalid_email_is_permanent_with_the_platform_message(badgr):
    with pytest.raises(PermanentError) as caught:
        make_backend(badgr).issue(request_for(badgr, recipient_email="ada-at-example"))
    assert caught.value.status == 400
    assert "Enter a valid email address." in str(caught.value)


def test_an_unknown_badgeclass_is_permanent(badgr):
    with pytest.raises(PermanentError) as caught:
        make_backend(badgr).issue(badge_request({"badgeclass": "nope"}))
    assert caught.value.status == 404


def test_server_errors_and_throttling_are_transient(badgr):
    backend = make_backend(badgr)
    badgr.add_fault("error", method="POST", path=r"/assertions$", status=502)
    with pytest.raises(TransientError) as caught:
        backend.issue(request_for(badgr))
    assert caught.value.status == 502
    badgr.add_fault("error", method="POST", path=r"/assertions$", status=429, retry_after="45")
    with pytest.raises(TransientError) as caught:
        backend.issue(request_for(badgr))
    assert caught.value.status == 429 and caught.value.retry_after == 45.0
    assert not badgr.assertions


def test_a_hang_after_issuing_leaves_the_outcome_unknown_and_the_lookup_finds_it(badgr):
    badgr.add_fault("hang", method="POST", path=r"/assertions$", act_first=True, hang_for=3)
    backend = make_backend(badgr)
    request = request_for(badgr)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    [stored] = badgr.assertions_of("ada@example.com")  # hashed: the look-up compares hashes itself
    assert backend.find_existing(request).external_id == stored["entityId"]
    assert len(badgr.requests_to("POST", r"/assertions$")) == 1


def test_resending_after_a_lost_answer_adopts_our_own_assertion(badgr):
    badgr.add_fault("drop", method="POST", path=r"/assertions$", act_first=True)
    backend = make_backend(badgr)
    request = request_for(badgr)
    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    result = backend.issue(request)  # refused as a duplicate award, recognised as ours

    [stored] = badgr.assertions_of("ada@example.com")
    assert result.external_id == stored["entityId"]


def test_another_awards_assertion_is_not_adopted_on_issue(badgr):
    badgr.add_assertion("ada@example.com", evidence=[
        {"url": "https://lms.example.org/microcred/credentials/0b5e3e4c-3f7e-4a62-9a43-6f0b2f0d9c11/"}])
    with pytest.raises(PermanentError) as caught:
        make_backend(badgr).issue(request_for(badgr))
    assert "A previous award of this badge already exists" in str(caught.value)


def test_find_existing_returns_only_this_awards_assertion(badgr):
    other_class = badgr.add_badgeclass("Data Science")
    backend = make_backend(badgr)
    request = request_for(badgr)
    badgr.add_assertion("ada@example.com", evidence=[
        {"url": "https://lms.example.org/microcred/credentials/0b5e3e4c-3f7e-4a62-9a43-6f0b2f0d9c11/"}])
    badgr.add_assertion("ada@example.com", badgeclass_id=other_class)
    revoked = badgr.add_assertion("ada@example.com")
    badgr.assertions[revoked]["revoked"] = True
    badgr.add_assertion("bob@example.com")

    assert backend.find_existing(request) is None

    badgr.add_assertion("ada@example.com")  # issued in Badgr's own interface: never ours to revoke
    assert backend.find_existing(request) is None

    unhashed = badgr.add_assertion("ada@example.com", recipient={"identity": "ada@example.com", "hashed": False},
                                   evidence=[{"url": request.evidence_url}])
    assert backend.find_existing(request).external_id == unhashed

    badgr.assertions[unhashed]["revoked"] = True
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    ours = badgr.add_assertion("ada@example.com", evidence=[{"url": request.evidence_url}], expires=past)
    found = backend.find_existing(request)  # expired, but it is this award's
    assert found.external_id == ours and found.state == "expired"
    listing = badgr.requests_to("GET", r"/assertions$")[-1]
    assert listing["query"] == {"recipient": "ada@example.com", "include_expired": "true"}


def test_revoke_sends_the_reason_and_is_idempotent(badgr):
    backend = make_backend(badgr)
    request = request_for(badgr)
    result = backend.issue(request)

    backend.revoke(result.external_id, request, "academic misconduct")
    backend.revoke(result.external_id, request, "academic misconduct")  # 400 "already revoked": done
    backend.revoke("no-such-assertion", request, "academic misconduct")  # 404: done

    first = badgr.requests_to("DELETE")[0]
    assert first["path"] == f"/v2/assertions/{result.external_id}"
    assert first["json"]["revocation_reason"] == "academic misconduct"
    assert badgr.assertions[result.external_id]["revocationReason"] == "academic misconduct"
    assert backend.fetch_state(result.external_id) == "revoked"
    assert backend.find_existing(request) is None


def test_a_revoke_refused_for_another_reason_stays_refused(badgr):
    backend = make_backend(badgr)
    request = request_for(badgr)
    result = backend.issue(request)
    badgr.add_fault("error", method="DELETE", status=400)
    with pytest.raises(PermanentError):
        backend.revoke(result.external_id, request, "r")
    assert not badgr.assertions[result.external_id]["revoked"]


def test_fetch_state(badgr):
    backend = make_backend(badgr)
    live = backend.issue(request_for(badgr))
    expired = badgr.add_assertion("bob@example.com",
                                  expires=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    assert backend.fetch_state(live.external_id) == "Unaccepted"
    assert backend.fetch_state(expired) == "expired"
    assert backend.fetch_state("nope") == "deleted"


def test_validate_target(badgr):
    archived = badgr.add_badgeclass("Old", archived=True)
    backend = make_backend(badgr)
    assert backend.validate_target({"badgeclass": badgr.default_badgeclass_id}) == []
    assert "no BadgeClass" in backend.validate_target({"badgeclass": "nope"})[0]
    assert "archived" in backend.validate_target({"badgeclass": archived})[0]
    assert "needs a badgeclass" in backend.validate_target({})[0]
    assert backend.validate_target({"badgeclass_id": badgr.default_badgeclass_id}) == []


# --- the token ------------------------------------------------------------------------------------


@pytest.mark.parametrize("expired_status", [401, 403])
def test_an_expired_token_is_fetched_again_once(expired_status):
    with BadgrServer(token_max_uses=1, expired_token_status=expired_status) as badgr:
        backend = make_backend(badgr)
        first = backend.issue(request_for(badgr))

        backend.fetch_state(first.external_id)  # refused, new token, sent again

        assert badgr.token_fetches == 2
        assert [r["status"] for r in badgr.requests_to("GET", r"^/v2/assertions/")] == [expired_status, 200]


def test_a_fresh_token_refused_is_a_real_refusal(badgr):
    badgr.add_fault("error", method="POST", path=r"/assertions$", status=403, times=2)
    with pytest.raises(PermanentError) as caught:
        make_backend(badgr).issue(request_for(badgr))
    assert caught.value.status == 403
    assert badgr.token_fetches == 1
    assert len(badgr.requests_to("POST", r"/assertions$")) == 1


def test_the_token_is_shared_by_backend_objects_and_not_shown(badgr):
    for _ in range(3):
        make_backend(badgr).fetch_state("nope")
    assert badgr.token_fetches == 1
    backend = make_backend(badgr)
    [token] = list(badgr.tokens)
    assert token not in backend.redact(f"the platform said: bad token {token}")
