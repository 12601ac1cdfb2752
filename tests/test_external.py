"""
Stacks across institutions (docs/decisions/0012): a requirement on an Open Badges 3.0 credential of
another issuer, which a learner adds on their credentials page or through the REST API, verified
here (signature, status list, expiry, trusted issuer, holder), re-checked on a schedule.

The other issuer is tests/fakes/issuer_server.py: its own did:key, its status list served over a
real socket on 127.0.0.1 (allowed by MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE in these tests only).
"""

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from openedx_microcred import api, external, issuance, retirement, rules, tasks
from openedx_microcred.models import Award, Credential, ExternalCredential, TrustedIssuer

from . import events
from .conftest import C1
from .fakes.issuer_server import ACHIEVEMENT_ID, ACHIEVEMENT_TYPE, OtherIssuer
from .jsverify import js_sign, js_verify


@pytest.fixture
def other_issuer(settings, db):
    """Another university's issuer, served locally, which the plugin may fetch from and DemoX trusts."""
    with OtherIssuer() as issuer:
        settings.MICROCRED_EXTERNAL_FETCH_ORIGINS = [issuer.root_url]
        settings.MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE = True
        settings.MICROCRED_EXTERNAL_FETCH_TIMEOUT = (1, 1)
        TrustedIssuer.objects.create(issuer=issuer.did, org="DemoX", name="Other University")
        yield issuer


@pytest.fixture
def cross_stack(make_credential, other_issuer):
    """py-basics (pass C1) and a stack over it and the other issuer's data-literacy credential."""
    make_credential("py-basics", {"type": "course_passed", "course": C1})
    return make_credential("cross-stack", {"type": "all", "of": [
        {"type": "credential", "credential": "py-basics"},
        {"type": "external_credential", "issuer": other_issuer.did, "achievement": ACHIEVEMENT_ID},
    ]}, revocation_policy=Credential.RevocationPolicy.REVOKE_WHEN_UNMET)


def _upload(client, credential):
    body = json.dumps(credential).encode()
    return client.post(reverse("openedx_microcred:external-credential-add"),
                       {"credential_file": io.BytesIO(body)}, format="multipart")


def _held(user):
    return {a.credential_slug for a in api.get_learner_awards(user)}


def test_a_credential_of_another_issuer_uploaded_on_the_page_completes_a_stack_and_its_revocation_upstream_revokes_it(
        client, learner, cross_stack, other_issuer, on_commit, settings):
    # The other issuer signs with Digital Bazaar's stack (tests/js_verifier/sign.mjs), not with our
    # code: its credential, its status list as it is now, and as it will be once bit 7 is set.
    did, (credential, clear, revoked_list) = js_sign(
        [other_issuer.unsigned("ada@example.com", index=7), other_issuer.unsigned_status_list(set()),
         other_issuer.unsigned_status_list({7})], other_issuer.seed)
    assert did == other_issuer.did and isinstance(credential["proof"], dict)
    other_issuer.status_body = clear
    with on_commit():
        events.passing(learner, C1)
    assert _held(learner) == {"py-basics"}
    client.force_login(learner)
    page = client.get(reverse("openedx_microcred:my-credentials"))
    assert b'enctype="multipart/form-data"' in page.content and b'name="credential_file"' in page.content

    response = _upload(client, credential)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _held(learner) == {"py-basics", "cross-stack"}
    stored = ExternalCredential.objects.get(user=learner)
    assert stored.status == "active" and stored.subject_match == external.MATCH_EMAIL_HASH
    assert stored.status_list_url == other_issuer.status_url and stored.status_index == 7
    page = client.get(reverse("openedx_microcred:my-credentials"))
    assert f'id="external-{stored.pk}"'.encode() in page.content and b'data-status="active"' in page.content

    # The award says, in its signed Open Badges 3.0 evidence, that an external credential met it.
    award = Award.objects.get(user=learner, credential__slug="cross-stack", current=True)
    document = issuance.issue_award(award.pk)
    narratives = " ".join(item["narrative"] for item in document["evidence"])
    assert "external Open Badges 3.0 credential Data literacy" in narratives
    assert other_issuer.did in narratives and stored.credential_id in narratives
    assert api.verify_credential(document).valid
    outside = issuance.contexts_for_outside_verifiers()
    url = document["credentialStatus"]["statusListCredential"]
    outside[url] = issuance.status_list_document(int(url.rsplit("/", 1)[1]))
    assert js_verify(document, outside, check_status=True)["verified"] is True

    # Nothing changes while the list says it is valid; once the issuer revokes it, the scheduled check does.
    settings.MICROCRED_EXTERNAL_RECHECK_HOURS = 0
    assert tasks.recheck_external_credentials_task() == {"changed": 0, "revoked": []}
    other_issuer.status_body = revoked_list
    assert tasks.recheck_external_credentials_task() == {"changed": 1, "revoked": ["cross-stack"]}
    assert _held(learner) == {"py-basics"}
    assert ExternalCredential.objects.get(pk=stored.pk).status == "revoked"
    revoked = Award.objects.get(pk=award.pk)
    assert revoked.status == "revoked" and "criteria.of[1]" in revoked.revocation_reason
    assert len(other_issuer.requests_to("GET", "^/status/1$")) == 3  # upload, and each check


def test_a_stack_that_keeps_once_earned_keeps_its_award_when_the_external_credential_is_revoked(
        learner, make_credential, other_issuer, settings):
    make_credential("keep-stack", {"type": "external_credential", "issuer": other_issuer.did,
                                   "achievement_type": "Achievement"})
    added = api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com", index=1))
    assert added.awarded == ["keep-stack"]
    other_issuer.revoke(1)
    settings.MICROCRED_EXTERNAL_RECHECK_HOURS = 0
    assert api.recheck_external_credentials()["revoked"] == []
    assert _held(learner) == {"keep-stack"}


def test_the_learner_is_told_which_external_credential_a_stack_still_needs(client, learner, cross_stack, on_commit):
    with on_commit():
        events.passing(learner, C1)
    client.force_login(learner)
    widget = client.get(reverse("openedx_microcred:v1:dashboard-widget")).json()
    stack = next(item for item in widget["progress"] if item["credential_slug"] == "cross-stack")
    assert [step["text"] for step in stack["next_steps"]] == [
        f'Hold the Open Badges 3.0 credential {ACHIEVEMENT_ID} from Other University '
        '(add it under "Credentials from other issuers")']
    page = client.get(reverse("openedx_microcred:my-credentials")).content.decode()
    assert f"Hold the Open Badges 3.0 credential {ACHIEVEMENT_ID} from Other University" in page


def test_a_credential_published_after_the_learner_added_what_it_requires_is_awarded(
        learner, make_credential, other_issuer, on_commit):
    api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com"))
    with on_commit():
        make_credential("later", {"type": "external_credential", "issuer": other_issuer.did,
                                  "achievement": ACHIEVEMENT_ID})
    assert _held(learner) == {"later"}


def test_the_rest_api_adds_lists_and_removes_a_learners_external_credential(
        client, learner, cross_stack, other_issuer):
    client.force_login(learner)
    url = reverse("openedx_microcred:v1:my-external-credentials")
    response = client.post(url, {"credential": other_issuer.issue("ada@example.com", index=2)},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["credential"]["issuer"] == other_issuer.did and body["credential"]["status"] == "active"
    assert body["awarded"] == []  # py-basics is still missing
    widget = client.get(reverse("openedx_microcred:v1:dashboard-widget")).json()
    stack = next(item for item in widget["progress"] if item["credential_slug"] == "cross-stack")
    texts = [step["text"] for step in stack["next_steps"]]
    assert not any("Other University" in text for text in texts)  # met: only py-basics is left
    listed = client.get(url).json()["external_credentials"]
    assert [c["id"] for c in listed] == [body["credential"]["id"]]
    detail = reverse("openedx_microcred:v1:my-external-credential", args=[body["credential"]["id"]])
    assert client.delete(detail).status_code == 204
    assert client.delete(detail).status_code == 404
    assert not ExternalCredential.objects.exists()


def test_a_credential_published_at_an_allowed_url_is_fetched_and_added(client, learner, cross_stack, other_issuer):
    url = other_issuer.host("/credentials/ada.json", other_issuer.issue("ada@example.com", index=4))
    client.force_login(learner)
    response = client.post(reverse("openedx_microcred:v1:my-external-credentials"), {"url": url},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert ExternalCredential.objects.get().source_url == url


def test_another_learners_external_credential_cannot_be_removed_by_someone_else(client, learner, other_issuer):
    added = api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com"))
    grace = get_user_model().objects.create_user("grace", "grace@example.com", "pw")
    client.force_login(grace)
    response = client.delete(reverse("openedx_microcred:v1:my-external-credential", args=[added.credential.id]))
    assert response.status_code == 404
    response = client.post(reverse("openedx_microcred:external-credential-remove", args=[added.credential.id]))
    assert response.status_code == 404
    assert ExternalCredential.objects.filter(pk=added.credential.id).exists()


# --- Hostile and broken credentials: each refused with the check that failed, nothing kept -------


def _refused(learner, check, **given):
    """Adding the external credential ``given`` is refused by ``check`` and keeps nothing: the message."""
    with pytest.raises(external.ExternalCredentialRefused) as refused:
        api.add_external_credential(learner, **given)
    assert refused.value.check == check, str(refused.value)
    assert not ExternalCredential.objects.exists()
    return str(refused.value)


def test_a_tampered_credential_is_refused_for_its_signature(learner, other_issuer):
    credential = other_issuer.issue("ada@example.com")
    credential["credentialSubject"]["achievement"]["name"] = "Rocket science"
    assert "signature does not match" in _refused(learner, "signature", credential=credential)


def test_a_credential_signed_by_a_key_other_than_its_issuers_is_refused(learner, other_issuer):
    with OtherIssuer() as impostor:
        credential = impostor.unsigned("ada@example.com")
        credential["issuer"]["id"] = other_issuer.did  # claims to be the trusted issuer
        message = _refused(learner, "signature", credential=impostor.sign(credential))
    assert "not by the issuer" in message


def test_a_credential_of_an_issuer_nobody_trusts_is_refused(learner, other_issuer):
    with OtherIssuer() as stranger:
        message = _refused(learner, "issuer", credential=stranger.issue("ada@example.com"))
    assert "not one this site trusts" in message


def test_an_expired_credential_is_refused(learner, other_issuer):
    credential = other_issuer.issue("ada@example.com", valid_until=datetime.now(timezone.utc) - timedelta(hours=1))
    assert "expired" in _refused(learner, "expiry", credential=credential)


def test_a_credential_already_revoked_upstream_is_refused(learner, other_issuer):
    other_issuer.revoke(5)
    _refused(learner, "revoked", credential=other_issuer.issue("ada@example.com", index=5))


def test_another_learners_credential_is_refused(learner, other_issuer):
    message = _refused(learner, "holder", credential=other_issuer.issue("grace@example.com"))
    assert "does not name you" in message


def test_a_credential_whose_status_list_cannot_be_read_is_refused(learner, other_issuer):
    other_issuer.add_fault("error", path="^/status/1$", status=503)
    assert "HTTP 503" in _refused(learner, "status", credential=other_issuer.issue("ada@example.com"))
    other_issuer.add_fault("hang", path="^/status/1$", hang_for=3)
    assert "could not be read" in _refused(learner, "status", credential=other_issuer.issue("ada@example.com"))


def test_an_oversized_status_list_is_not_read_past_the_limit(learner, other_issuer, settings):
    other_issuer.status_body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert "larger than" in _refused(learner, "status", credential=other_issuer.issue("ada@example.com"))


def test_a_status_list_signed_by_someone_else_is_refused(learner, other_issuer):
    with OtherIssuer() as stranger:
        other_issuer.status_body = stranger.status_list()
        message = _refused(learner, "status", credential=other_issuer.issue("ada@example.com"))
    assert "issued by" in message


def test_nothing_is_fetched_from_a_host_the_operator_did_not_allow(learner, other_issuer, settings):
    url = other_issuer.host("/credentials/ada.json", other_issuer.issue("ada@example.com"))
    settings.MICROCRED_EXTERNAL_FETCH_ORIGINS = ["https://badges.example.org"]
    assert "does not read from" in _refused(learner, "fetch", url=url)
    # Its status list is on that host too: an uploaded credential cannot be checked, so it is refused.
    assert "does not read from" in _refused(learner, "status", credential=other_issuer.issue("ada@example.com"))
    assert other_issuer.requests == []


def test_private_addresses_are_not_fetched_unless_the_operator_allows_them(learner, other_issuer, settings):
    url = other_issuer.host("/credentials/ada.json", other_issuer.issue("ada@example.com"))
    settings.MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE = False
    assert "private or reserved address" in _refused(learner, "fetch", url=url)
    assert other_issuer.requests == []


def test_a_redirect_to_another_host_is_not_followed(learner, other_issuer):
    other_issuer.redirects["/moved.json"] = "http://169.254.169.254/latest/meta-data/"
    assert "redirects to another host" in _refused(learner, "fetch", url=f"{other_issuer.root_url}/moved.json")
    other_issuer.host("/here.json", other_issuer.issue("ada@example.com"))
    other_issuer.redirects["/moved-here.json"] = "/here.json"  # same origin: followed
    api.add_external_credential(learner, url=f"{other_issuer.root_url}/moved-here.json")


def test_an_upload_that_is_too_large_or_too_deep_is_refused(learner, other_issuer):
    assert "longer than" in _refused(learner, "size", upload=b'{"a": "' + b"x" * (600 * 1024) + b'"}')
    assert "deeper" in _refused(learner, "size", upload=b"[" * 100 + b"]" * 100)
    assert "not a credential" in _refused(learner, "size", upload=b"not json")
    # Many small objects: each is a node the signature check would canonicalize (slow), refused before.
    crowded = other_issuer.unsigned("ada@example.com")
    crowded["credentialSubject"]["result"] = [{"type": ["Result"], "value": str(k)} for k in range(300)]
    assert "more than 200 objects" in _refused(learner, "size", credential=other_issuer.sign(crowded))
    _refused(learner, "input")


def test_the_page_shows_a_refusal_as_a_400_with_its_reason(client, learner, other_issuer):
    client.force_login(learner)
    response = _upload(client, other_issuer.issue("grace@example.com"))
    assert response.status_code == 400
    assert b'id="external-error"' in response.content and b"does not name you" in response.content
    response = client.post(reverse("openedx_microcred:v1:my-external-credentials"),
                           {"credential": other_issuer.issue("grace@example.com")}, content_type="application/json")
    assert response.status_code == 400 and response.json()["check"] == "holder"


# --- Around the edges ----------------------------------------------------------------------------


def test_criteria_may_name_only_issuers_the_credentials_organization_trusts(make_credential, other_issuer):
    with OtherIssuer() as stranger:
        with pytest.raises(ValidationError) as invalid:
            make_credential("needs-stranger", {"type": "external_credential", "issuer": stranger.did,
                                               "achievement": ACHIEVEMENT_ID})
        assert "not on the list of issuers organization 'DemoX' trusts" in str(invalid.value)
        TrustedIssuer.objects.create(issuer=stranger.did, org="OtherOrgX")
        with pytest.raises(ValidationError):
            make_credential("needs-stranger", {"type": "external_credential", "issuer": stranger.did,
                                               "achievement": ACHIEVEMENT_ID})
        TrustedIssuer.objects.create(issuer=stranger.did, org="*")
        make_credential("needs-stranger", {"type": "external_credential", "issuer": stranger.did,
                                           "achievement": ACHIEVEMENT_ID})


def test_a_minimum_result_is_compared_with_the_credentials_numeric_result(learner, make_credential, other_issuer):
    make_credential("high-score", {"type": "external_credential", "issuer": other_issuer.did,
                                   "achievement": ACHIEVEMENT_ID, "min_result": 80})
    low = other_issuer.issue("ada@example.com", result=70)
    assert api.add_external_credential(learner, credential=low).awarded == []
    progress = next(p for p in api.get_learner_progress(learner) if p.credential_slug == "high-score")
    # 0 of its 1 requirement met (docs/catalog-format.md, "Progress"); the requirement itself is 70 of 80.
    assert progress.fraction == 0.0
    assert [m.fraction for m in progress.missing] == [pytest.approx(70 / 80)]
    assert api.add_external_credential(
        learner, credential=other_issuer.issue("ada@example.com", result=85)).awarded == ["high-score"]


def test_an_expired_external_credential_stops_counting_at_the_next_check(learner, cross_stack, other_issuer, settings):
    credential = other_issuer.issue("ada@example.com", valid_until=datetime.now(timezone.utc) + timedelta(hours=1))
    api.add_external_credential(learner, credential=credential)
    settings.MICROCRED_EXTERNAL_RECHECK_HOURS = 0
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert api.recheck_external_credentials(now=later)["changed"] == 1
    assert ExternalCredential.objects.get().status == "expired"


def test_an_unreachable_status_list_at_a_recheck_keeps_the_credential_and_records_why(
        learner, cross_stack, other_issuer, settings):
    api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com"))
    other_issuer.add_fault("error", path="^/status/1$", status=500)
    settings.MICROCRED_EXTERNAL_RECHECK_HOURS = 0
    assert api.recheck_external_credentials()["changed"] == 0
    stored = ExternalCredential.objects.get()
    assert stored.status == "active" and "HTTP 500" in stored.last_check_error


def test_retiring_a_learner_removes_the_credentials_they_uploaded(learner, other_issuer):
    api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com"))
    result = retirement.retire_learner(learner)
    assert result.facts_deleted == 1
    assert not ExternalCredential.objects.exists()


def test_the_external_requirement_is_parsed_validated_and_written_back():
    data = {"type": "external_credential", "issuer": "did:key:z6Mk", "achievement_type": ACHIEVEMENT_TYPE,
            "min_result": 3}
    tree = rules.parse_criteria(data)
    assert tree.to_dict() == {**data, "min_result": 3.0}
    for bad, where in (({"type": "external_credential", "achievement": "x"}, "criteria.issuer"),
                       ({"type": "external_credential", "issuer": "did:x"}, "name the achievement"),
                       ({"type": "external_credential", "issuer": "did:x", "achievement": "a", "min_result": "9"},
                        "criteria.min_result"),
                       ({"type": "external_credential", "issuer": "did:x", "achievement": "a", "extra": 1},
                        "unknown field")):
        with pytest.raises(rules.InvalidCriteria, match=where):
            rules.parse_criteria(bad)


def test_operators_manage_trusted_issuers_and_see_learners_external_credentials_in_the_admin(
        admin_client, learner, make_credential, other_issuer):
    added = api.add_external_credential(learner, credential=other_issuer.issue("ada@example.com"))
    credential = make_credential("needs-other", {"type": "external_credential", "issuer": other_issuer.did,
                                                 "achievement": ACHIEVEMENT_ID})
    response = admin_client.post(reverse("admin:openedx_microcred_trustedissuer_add"),
                                 {"issuer": "did:web:badges.example.org", "org": "DemoX", "name": "Example"})
    assert response.status_code == 302
    assert TrustedIssuer.trusted_by("DemoX") == {other_issuer.did, "did:web:badges.example.org"}
    listed = admin_client.get(reverse("admin:openedx_microcred_externalcredential_changelist")).content.decode()
    assert "Data literacy" in listed
    detail = admin_client.get(reverse("admin:openedx_microcred_externalcredential_change", args=[added.credential.id]))
    assert detail.status_code == 200 and added.credential.issuer in detail.content.decode()
    page = admin_client.get(reverse("admin:openedx_microcred_credential_change", args=[credential.pk])).content.decode()
    assert f"Hold the Open Badges 3.0 credential {ACHIEVEMENT_ID} from {other_issuer.did}" in page


def test_a_status_list_on_a_server_that_is_down_is_refused(learner, other_issuer, settings):
    gone = OtherIssuer(seed=other_issuer.seed).start()
    credential = gone.unsigned("ada@example.com")  # the same issuer, its list on a server that then stops
    gone.stop()
    settings.MICROCRED_EXTERNAL_FETCH_ORIGINS = [other_issuer.root_url, gone.root_url]
    message = _refused(learner, "status", credential=other_issuer.sign(credential))
    assert "could not be read: ConnectionError" in message


def test_a_recheck_reads_a_status_list_shared_by_many_credentials_once(make_credential, other_issuer, settings):
    learners = [get_user_model().objects.create_user(f"l{n}", f"l{n}@example.com", "pw") for n in range(3)]
    for n, user in enumerate(learners):
        api.add_external_credential(user, credential=other_issuer.issue(user.email, index=n))
    other_issuer.revoke(1)
    settings.MICROCRED_EXTERNAL_RECHECK_HOURS = 0
    before = len(other_issuer.requests_to("GET", "^/status/1$"))
    assert api.recheck_external_credentials()["changed"] == 1
    assert len(other_issuer.requests_to("GET", "^/status/1$")) == before + 1
    assert dict(ExternalCredential.objects.values_list("user__username", "status")) == {
        "l0": "active", "l1": "revoked", "l2": "active"}
