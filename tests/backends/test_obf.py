"""
The Open Badge Factory backend against a local OBF (tests/fakes/obf_server.py) over real sockets:
the OAuth2 token cache and its refetch on 403, payloads, error classification, lost answers,
revocation, state, targets.
"""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from openedx_microcred.backends import oauth
from openedx_microcred.backends.base import OutcomeUnknown, PermanentError, TransientError
from openedx_microcred.backends.obf import OpenBadgeFactoryBackend
from tests.fakes.faults import badge_request
from tests.fakes.obf_server import OBFServer

TIMEOUT = (1, 1)


@pytest.fixture
def obf():
    with OBFServer() as server:
        yield server


def make_backend(server, account="obf-test", **config):
    settings = {"backend": "obf", "base_url": server.base_url, "client_id": server.client_id,
                "client_secret": server.client_secret, "timeout": TIMEOUT}
    settings.update(config)
    return OpenBadgeFactoryBackend(account, settings, session=requests.Session())


def request_for(server, **fields):
    return badge_request({"badge_id": server.default_badge_id}, **fields)


def test_issue_fetches_a_token_and_sends_the_documented_event(obf):
    issued = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    request = request_for(obf, issued_at=issued, expires_at=expires)

    result = make_backend(obf).issue(request)

    [token_call] = obf.requests_to("POST", r"/oauth2/token$")
    assert token_call["form"] == {"grant_type": "client_credentials", "client_id": obf.client_id,
                                  "client_secret": obf.client_secret}
    [sent] = obf.requests_to("POST", r"^/v1/badge/")
    assert sent["path"] == f"/v1/badge/{obf.client_id}/{obf.default_badge_id}"
    assert sent["headers"]["Authorization"].startswith("Bearer ")
    body = sent["json"]
    assert body["recipient"] == ["ada@example.com"]
    assert body["issued_on"] == int(issued.timestamp())
    assert body["expires"] == int(expires.timestamp())
    assert body["send_email"] is True
    assert body["log_entry"]["award_uuid"] == request.award_uuid
    [event] = obf.events_of("ada@example.com")
    assert result.external_id == event["id"]
    assert result.state == "issued"


def test_issue_without_expiry_or_email_and_with_the_targets_texts(obf):
    request = badge_request({"badge_id": obf.default_badge_id, "email_subject": "Well done",
                             "email_body": "You earned it."})
    make_backend(obf, send_email=False).issue(request)
    [sent] = obf.requests_to("POST", r"^/v1/badge/")
    assert "expires" not in sent["json"]
    assert sent["json"]["send_email"] is False
    assert sent["json"]["email_subject"] == "Well done" and sent["json"]["email_body"] == "You earned it."


def test_a_wrong_secret_is_permanent_and_never_shown(obf):
    wrong = "wrong-secret-0123456789"
    with pytest.raises(PermanentError) as caught:
        make_backend(obf, client_secret=wrong).issue(request_for(obf))
    assert caught.value.status == 401
    assert "invalid_client" in str(caught.value)
    assert wrong not in str(caught.value) and obf.client_secret not in str(caught.value)
    assert not obf.events


def test_a_draft_badge_is_permanent_with_the_platform_message(obf):
    draft = obf.add_badge("Not ready", draft=True)
    with pytest.raises(PermanentError) as caught:
        make_backend(obf).issue(badge_request({"badge_id": draft}))
    assert caught.value.status == 400 and "draft badge cannot be issued" in str(caught.value)


def test_an_invalid_email_is_permanent_with_the_platform_message(obf):
    with pytest.raises(PermanentError) as caught:
        make_backend(obf).issue(request_for(obf, recipient_email="ada-at-example"))
    assert "Invalid recipient email address" in str(caught.value)


def test_an_unknown_badge_is_permanent(obf):
    with pytest.raises(PermanentError) as caught:
        make_backend(obf).issue(badge_request({"badge_id": "NOPE"}))
    assert caught.value.status == 404


def test_server_errors_and_throttling_are_transient(obf):
    backend = make_backend(obf)
    obf.add_fault("error", method="POST", path=r"^/v1/badge/", status=500)
    with pytest.raises(TransientError) as caught:
        backend.issue(request_for(obf))
    assert caught.value.status == 500
    obf.add_fault("error", method="POST", path=r"^/v1/badge/", status=429, retry_after="30")
    with pytest.raises(TransientError) as caught:
        backend.issue(request_for(obf))
    assert caught.value.status == 429 and caught.value.retry_after == 30.0
    assert not obf.events


def test_a_throttled_token_endpoint_is_transient(obf):
    obf.add_fault("error", method="POST", path=r"/oauth2/token$", status=429, retry_after="10")
    with pytest.raises(TransientError) as caught:
        make_backend(obf).fetch_state("X")
    assert caught.value.retry_after == 10.0


def test_a_hang_after_issuing_leaves_the_outcome_unknown_and_the_lookup_finds_it(obf):
    obf.add_fault("hang", method="POST", path=r"^/v1/badge/", act_first=True, hang_for=3)
    backend = make_backend(obf)
    request = request_for(obf)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    [event] = obf.events_of("ada@example.com")
    assert backend.find_existing(request).external_id == event["id"]
    assert len(obf.requests_to("POST", r"^/v1/badge/")) == 1


def test_a_dropped_connection_before_issuing_is_unknown_and_the_retry_issues_once(obf):
    obf.add_fault("drop", method="POST", path=r"^/v1/badge/")
    backend = make_backend(obf)
    request = request_for(obf)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)
    assert backend.find_existing(request) is None
    result = backend.issue(request)

    [event] = obf.events_of("ada@example.com")
    assert result.external_id == event["id"]


def test_find_existing_returns_only_this_awards_event(obf):
    other_badge = obf.add_badge("Data Science")
    backend = make_backend(obf)
    request = request_for(obf)
    obf.add_event("ada@example.com", log_entry={"award_uuid": "another-award"})
    obf.add_event("ada@example.com", badge_id=other_badge)
    revoked = obf.add_event("ada@example.com")
    obf.events[revoked]["revoked"] = {"ada@example.com": 1}
    obf.add_event("bob@example.com")

    assert backend.find_existing(request) is None

    obf.add_event("ada@example.com")  # issued in OBF's own interface: never ours to revoke
    assert backend.find_existing(request) is None
    named = obf.add_event("Ada Lovelace <ADA@example.com>", log_entry={"award_uuid": request.award_uuid})
    assert backend.find_existing(request).external_id == named
    del obf.events[named]

    ours = backend.issue(request)
    assert backend.find_existing(request).external_id == ours.external_id
    [listing] = obf.requests_to("GET", rf"^/v1/event/{obf.client_id}$")[:1]
    assert listing["query"] == {"badge_id": obf.default_badge_id, "email": "ada@example.com"}


def test_revoke_is_idempotent_and_names_the_recipient(obf):
    backend = make_backend(obf)
    request = request_for(obf)
    result = backend.issue(request)

    backend.revoke(result.external_id, request, "revoked by the registrar")
    backend.revoke(result.external_id, request, "revoked by the registrar")
    backend.revoke("GONE", request, "revoked by the registrar")  # an event deleted upstream

    deletes = obf.requests_to("DELETE")
    assert deletes[0]["path"] == f"/v1/event/{obf.client_id}/{result.external_id}"
    assert deletes[0]["query"] == {"email": "ada@example.com"}
    assert obf.events[result.external_id]["revoked"].keys() == {"ada@example.com"}
    assert backend.fetch_state(result.external_id) == "revoked"
    assert backend.find_existing(request) is None


def test_fetch_state(obf):
    backend = make_backend(obf)
    live = backend.issue(request_for(obf))
    past = int((datetime.now(timezone.utc) - timedelta(days=1)).timestamp())
    expired = obf.add_event("bob@example.com", expires=past)

    assert backend.fetch_state(live.external_id) == "issued"
    assert backend.fetch_state(expired) == "expired"
    assert backend.fetch_state("NOSUCHEVENT") == "deleted"


def test_validate_target(obf):
    draft = obf.add_badge("Draft", draft=True)
    backend = make_backend(obf)
    assert backend.validate_target({"badge_id": obf.default_badge_id}) == []
    assert "no badge" in backend.validate_target({"badge_id": "NOPE"})[0]
    assert "draft" in backend.validate_target({"badge_id": draft})[0]
    assert "needs a badge_id" in backend.validate_target({})[0]
    [problem] = make_backend(obf, account="other", client_secret="bad-secret-value").validate_target(
        {"badge_id": obf.default_badge_id})
    assert "401" in problem and "bad-secret-value" not in problem


# --- the token cache ----------------------------------------------------------------------------


def test_the_token_is_cached_per_account_across_backend_objects(obf):
    for _ in range(3):
        make_backend(obf).fetch_state("X")  # a new backend object per delivery, as get_backend does
    assert obf.token_fetches == 1
    make_backend(obf, account="another-account").fetch_state("X")
    assert obf.token_fetches == 2


def test_an_expired_token_gets_403_and_is_fetched_again_once(obf):
    obf.token_max_uses = 2  # the server drops it sooner than expires_in said
    backend = make_backend(obf)
    first = backend.issue(request_for(obf))
    backend.fetch_state(first.external_id)

    second = backend.issue(request_for(obf, recipient_email="bob@example.com"))  # 403, new token, resent

    assert obf.token_fetches == 2
    assert [r["status"] for r in obf.requests_to("POST", r"^/v1/badge/")] == [201, 403, 201]
    assert len(obf.events) == 2 and second.external_id in obf.events


def test_a_token_refused_right_after_its_fetch_is_not_fetched_again(obf):
    obf.add_fault("error", method="GET", path=r"^/v1/event/", status=403, times=3)
    backend = make_backend(obf)
    with pytest.raises(PermanentError):
        backend.fetch_state("X")  # fresh token refused: a real refusal
    assert obf.token_fetches == 1
    with pytest.raises(PermanentError):
        backend.fetch_state("X")  # cached token refused: one new token, refused too, no loop
    assert obf.token_fetches == 2
    assert len(obf.requests_to("GET", r"^/v1/event/")) == 3


def test_the_token_is_renewed_before_the_announced_expiry(obf, monkeypatch):
    obf.token_expires_in = 100
    clock = [time.monotonic()]
    monkeypatch.setattr(oauth, "_now", lambda: clock[0])
    backend = make_backend(obf)
    backend.fetch_state("X")
    clock[0] += 85
    backend.fetch_state("X")
    assert obf.token_fetches == 1
    clock[0] += 6  # 91 s: within the margin (a tenth of its life)
    backend.fetch_state("X")
    assert obf.token_fetches == 2
    assert not [r for r in obf.requests if r["status"] == 403]


def test_concurrent_callers_share_one_token_fetch(obf):
    obf.add_fault("delay", method="POST", path=r"/oauth2/token$", hang_for=0.3)  # a slow token endpoint
    errors = []

    def work():
        try:
            make_backend(obf, timeout=(5, 5)).fetch_state("X")  # eight at once on a busy machine
        except Exception as exc:  # pylint: disable=broad-except  (a thread's error is asserted on by the test)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert obf.token_fetches == 1
    assert len(obf.requests_to("GET", r"^/v1/event/")) == 8
