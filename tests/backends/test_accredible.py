"""
The Accredible backend against a local Accredible (tests/fakes/accredible_server.py) over real
sockets: payloads, error classification, lost answers, revocation, state, targets.
"""

from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from openedx_microcred.backends.accredible import AccredibleBackend
from openedx_microcred.backends.base import OutcomeUnknown, PermanentError, TransientError
from tests.fakes.accredible_server import AccredibleServer
from tests.fakes.faults import badge_request

TIMEOUT = (1, 1)


@pytest.fixture
def accredible():
    with AccredibleServer() as server:
        yield server


def make_backend(server, **config):
    settings = {"backend": "accredible", "base_url": server.base_url, "api_key": server.api_key, "timeout": TIMEOUT}
    settings.update(config)
    return AccredibleBackend("accredible-test", settings, session=requests.Session())


def request_for(server, **fields):
    return badge_request({"group_id": server.default_group_id}, **fields)


def test_issue_sends_the_documented_credential(accredible):
    expires = datetime(2030, 5, 17, 12, tzinfo=timezone.utc)
    request = request_for(accredible, issued_at=datetime(2026, 3, 4, 23, 30, tzinfo=timezone.utc), expires_at=expires)

    result = make_backend(accredible).issue(request)

    [sent] = accredible.requests_to("POST", r"^/v1/credentials$")
    assert sent["headers"]["Authorization"] == f"Token token={accredible.api_key}"
    credential = sent["json"]["credential"]
    assert credential["recipient"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert credential["group_id"] == accredible.default_group_id
    assert credential["name"] == "Python Foundations"
    assert credential["description"] == "Three courses of Python."
    assert credential["issued_on"] == "2026-03-04"
    assert credential["expired_on"] == "2030-05-17"
    assert credential["complete"] is True
    assert credential["evidence_items"] == [
        {"description": "Credential record", "url": request.evidence_url, "category": "url"}]
    assert credential["custom_attributes"] == {"award_uuid": request.award_uuid}
    [stored] = accredible.credentials_of("ada@example.com")
    assert result.external_id == str(stored["id"])
    assert result.url == stored["url"]
    assert result.state == "published"


def test_a_string_group_id_is_sent_as_a_number(accredible):
    make_backend(accredible).issue(badge_request({"group_id": str(accredible.default_group_id)}))
    [sent] = accredible.requests_to("POST", r"^/v1/credentials$")
    assert sent["json"]["credential"]["group_id"] == accredible.default_group_id


def test_a_wrong_api_key_is_permanent_and_never_shown(accredible):
    accredible.echo_authorization = True  # the worst case: the platform echoes what it got
    wrong_key = "wrong-key-0123456789abcdef"

    with pytest.raises(PermanentError) as caught:
        make_backend(accredible, api_key=wrong_key).issue(request_for(accredible))

    assert caught.value.status == 401
    assert "Invalid API key" in str(caught.value)
    assert wrong_key not in str(caught.value)
    assert accredible.api_key not in str(caught.value)
    assert not accredible.credentials


def test_an_invalid_email_is_permanent_with_the_platform_message(accredible):
    with pytest.raises(PermanentError) as caught:
        make_backend(accredible).issue(request_for(accredible, recipient_email="not-an-email"))
    assert caught.value.status == 422
    assert "recipient_email" in str(caught.value) and "is invalid" in str(caught.value)


def test_an_unknown_group_is_permanent(accredible):
    with pytest.raises(PermanentError) as caught:
        make_backend(accredible).issue(badge_request({"group_id": 424242}))
    assert caught.value.status == 422
    assert "group not found" in str(caught.value)


def test_a_target_without_group_is_permanent_before_any_call(accredible):
    with pytest.raises(PermanentError):
        make_backend(accredible).issue(badge_request({}))
    assert not accredible.requests


def test_a_server_error_is_transient(accredible):
    accredible.add_fault("error", method="POST", path=r"^/v1/credentials$", status=500)
    backend = make_backend(accredible)
    request = request_for(accredible)
    with pytest.raises(TransientError) as caught:  # (on a create, base.call makes it OutcomeUnknown)
        backend.issue(request)
    assert caught.value.status == 500
    assert backend.find_existing(request) is None and not accredible.credentials

    accredible.add_fault("error", method="GET", status=503)
    with pytest.raises(TransientError) as caught:
        backend.fetch_state("10000001")
    assert caught.value.status == 503 and not isinstance(caught.value, OutcomeUnknown)


def test_throttling_is_transient_with_the_platform_retry_after(accredible):
    accredible.add_fault("error", method="POST", path=r"^/v1/credentials$", status=429, retry_after="17")
    with pytest.raises(TransientError) as caught:
        make_backend(accredible).issue(request_for(accredible))
    assert caught.value.status == 429
    assert caught.value.retry_after == 17.0


def test_a_hang_after_creating_leaves_the_outcome_unknown_and_the_lookup_finds_it(accredible):
    accredible.add_fault("hang", method="POST", path=r"^/v1/credentials$", act_first=True, hang_for=3)
    backend = make_backend(accredible)
    request = request_for(accredible)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    found = backend.find_existing(request)  # what the delivery task does next
    [stored] = accredible.credentials_of("ada@example.com")
    assert found is not None and found.external_id == str(stored["id"])
    assert len(accredible.requests_to("POST", r"^/v1/credentials$")) == 1  # nothing sent twice


def test_a_dropped_connection_after_creating_is_unknown_and_found(accredible):
    accredible.add_fault("drop", method="POST", path=r"^/v1/credentials$", act_first=True)
    backend = make_backend(accredible)
    request = request_for(accredible)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    assert backend.find_existing(request).external_id == str(accredible.credentials_of("ada@example.com")[0]["id"])


def test_a_dropped_connection_before_creating_is_unknown_and_the_retry_issues_once(accredible):
    accredible.add_fault("drop", method="POST", path=r"^/v1/credentials$")
    backend = make_backend(accredible)
    request = request_for(accredible)

    with pytest.raises(OutcomeUnknown):
        backend.issue(request)
    assert backend.find_existing(request) is None
    result = backend.issue(request)

    [stored] = accredible.credentials_of("ada@example.com")
    assert result.external_id == str(stored["id"])


def test_resending_after_a_lost_answer_adopts_our_own_credential(accredible):
    accredible.add_fault("drop", method="POST", path=r"^/v1/credentials$", act_first=True)
    backend = make_backend(accredible)
    request = request_for(accredible)
    with pytest.raises(OutcomeUnknown):
        backend.issue(request)

    result = backend.issue(request)  # without a look-up first: the group refuses the duplicate

    [stored] = accredible.credentials_of("ada@example.com")
    assert result.external_id == str(stored["id"])


def test_someone_elses_credential_in_the_group_is_not_adopted_on_issue(accredible):
    accredible.add_credential("ada@example.com", custom_attributes={"award_uuid": "another-award"})
    with pytest.raises(PermanentError) as caught:
        make_backend(accredible).issue(request_for(accredible))
    assert "already has a credential" in str(caught.value)


def test_find_existing_returns_only_this_awards_credential(accredible):
    group = accredible.add_group("Repeatable", allow_duplicates=True)
    accredible.add_credential("ada@example.com", group_id=group, custom_attributes={"award_uuid": "another-award"})
    accredible.add_credential("ada@example.com", group_id=group)  # issued by hand: never ours to revoke
    accredible.add_credential("someone@example.com", group_id=group)
    backend = make_backend(accredible)
    request = badge_request({"group_id": group})
    accredible.add_credential("ada@example.com", group_id=accredible.default_group_id,
                              custom_attributes={"award_uuid": request.award_uuid})  # another group

    assert backend.find_existing(request) is None

    ours = backend.issue(request)
    assert backend.find_existing(request).external_id == ours.external_id


def test_find_existing_reads_the_evidence_link_when_the_attribute_was_not_kept(accredible):
    request = request_for(accredible)
    kept_link_only = accredible.add_credential(
        "ada@example.com", evidence_items=[{"description": "Credential record", "url": request.evidence_url}])

    assert make_backend(accredible).find_existing(request).external_id == str(kept_link_only)
    assert accredible.requests_to("GET", rf"^/v1/credentials/{kept_link_only}$")  # the search leaves it out


def test_find_existing_reads_every_page(accredible):
    accredible.page_size_max = 2
    group = accredible.add_group("Repeatable", allow_duplicates=True)
    for _ in range(5):
        accredible.add_credential("ada@example.com", group_id=group, custom_attributes={"award_uuid": "old"})
    request = badge_request({"group_id": group})
    ours = make_backend(accredible).issue(request)

    assert make_backend(accredible).find_existing(request).external_id == ours.external_id
    assert len(accredible.requests_to("POST", r"/search$")) == 3


def test_revoke_deletes_and_is_idempotent(accredible):
    backend = make_backend(accredible)
    request = request_for(accredible)
    result = backend.issue(request)

    backend.revoke(result.external_id, request, "academic misconduct")
    backend.revoke(result.external_id, request, "academic misconduct")

    assert not accredible.credentials
    assert backend.fetch_state(result.external_id) == "deleted"
    assert backend.find_existing(request) is None
    assert len(accredible.requests_to("DELETE")) == 2


def test_revoke_with_a_wrong_key_is_permanent(accredible):
    result = make_backend(accredible).issue(request_for(accredible))
    with pytest.raises(PermanentError):
        make_backend(accredible, api_key="nope").revoke(result.external_id, request_for(accredible), "r")
    assert accredible.credentials


def test_fetch_state(accredible):
    backend = make_backend(accredible)
    live = backend.issue(request_for(accredible))
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    expired = accredible.add_credential("bob@example.com", expired_on=yesterday)
    draft = accredible.add_credential("cy@example.com", approve=False)

    assert backend.fetch_state(live.external_id) == "published"
    assert backend.fetch_state(str(expired)) == "expired"
    assert backend.fetch_state(str(draft)) == "unpublished"
    assert backend.fetch_state("999") == "deleted"


def test_a_read_timeout_on_a_lookup_is_plainly_transient(accredible):
    accredible.add_fault("hang", method="GET", hang_for=3)
    with pytest.raises(TransientError) as caught:
        make_backend(accredible).fetch_state("10000001")
    assert not isinstance(caught.value, OutcomeUnknown)


def test_validate_target(accredible):
    accredible.page_size_max = 1
    other = accredible.add_group("Data Science")
    backend = make_backend(accredible)

    assert backend.validate_target({"group_id": accredible.default_group_id}) == []
    assert backend.validate_target({"group_id": str(other)}) == []  # on the second page
    assert "no group" in backend.validate_target({"group_id": 31337})[0]
    assert "needs a group_id" in backend.validate_target({})[0]
    [problem] = make_backend(accredible, api_key="wrong-key-value").validate_target({"group_id": other})
    assert "401" in problem and "wrong-key-value" not in problem


def test_the_template_list_is_every_group_over_all_pages_and_ids_are_stored_as_numbers(accredible):
    accredible.page_size_max = 1
    other = accredible.add_group("Data Science")
    backend = make_backend(accredible)
    templates = backend.list_templates()
    assert [tid for tid, _name in templates] == [str(accredible.default_group_id), str(other)]
    assert templates[1][1] == "Data Science"
    assert backend.target_value(str(other)) == other  # as the groups' ids are numbers
