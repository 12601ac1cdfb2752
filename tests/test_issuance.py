"""Signed Open Badges 3.0 credentials: issued on award, hosted, revocable, verifiable offline."""

import base64
import copy
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy

from openedx_microcred import api, issuance, keys, links
from openedx_microcred.awards import revoke_awards
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import Award, Credential, IssuerKey
from openedx_microcred.openbadges import did, jsonld, proof, status_list

from . import events
from .conftest import C1, C2
from .jsverify import js_verify

SCHEMA = json.loads((Path(__file__).parent / "data" / "ob_v3p0_achievementcredential_schema.json").read_text())


def test_award_is_issued_as_a_schema_valid_signed_credential(awarded, learner):
    award = awarded["basics"]
    document = award.document
    assert document is not None, "the issuing task did not run"
    jsonschema.Draft201909Validator(SCHEMA).validate(document)
    assert document["id"] == links.credential_url(award.uuid)
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["issuer"]["id"].startswith("did:key:z6Mk")
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert "validUntil" in document
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["name"] == "Python Basics"
    assert achievement["creditsAvailable"] == 1
    assert learner.email not in json.dumps(document)  # only the salted hash
    assert jsonld.undefined_terms(document) == []
    assert api.verify_credential(document).valid


def test_stack_credential_names_what_it_is_made_of(awarded):
    stack = awarded["stack"].document
    text = json.dumps(stack)
    assert str(awarded["basics"].credential.uuid) in text
    assert api.verify_credential(stack).valid


def test_issuing_twice_changes_nothing(awarded):
    award = awarded["basics"]
    assert issuance.issue_award(award.pk) == award.document
    assert Award.objects.get(pk=award.pk).document == award.document


def test_changed_field_fails_the_signature(awarded):
    forged = copy.deepcopy(awarded["basics"].document)
    forged["credentialSubject"]["achievement"]["name"] = "Python Grandmaster"
    result = api.verify_credential(forged)
    assert (result.valid, result.failed, result.reason) == (False, "signature", "signature does not match")


def test_wrong_key_fails(awarded):
    unsigned = {k: v for k, v in awarded["basics"].document.items() if k != "proof"}
    stranger = Ed25519PrivateKey.generate()
    # Signed by someone else but claiming our verification method.
    signed = proof.sign(unsigned, stranger, awarded["basics"].document["proof"][0]["verificationMethod"])
    assert api.verify_credential(signed).failed == "signature"


def test_revoked_status_bit_fails(awarded, on_commit):
    award = awarded["basics"]
    with on_commit():
        revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR)
    result = api.verify_credential(award.document)
    assert (result.valid, result.failed, result.reason) == (False, "revocation", "revoked")
    assert api.verify_credential(awarded["stack"].document).valid  # other bits are untouched


def test_expired_credential_fails(awarded):
    later = timezone.now() + timedelta(days=731)
    result = api.verify_credential(awarded["basics"].document, now=later)
    assert (result.valid, result.failed) == (False, "expiry")


def test_status_indexes_are_distinct(awarded):
    indexes = {(a.status_list_id, a.status_index) for a in Award.objects.all()}
    assert len(indexes) == Award.objects.count() and None not in {i for _, i in indexes}


def test_public_page_shows_what_was_achieved_and_that_it_verifies(client, awarded, learner):
    award = awarded["basics"]
    response = client.get(f"/microcred/credentials/{award.uuid}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Python Basics" in page and "Verified" in page and "linkedin.com/profile/add" in page
    assert f"/microcred/credentials/{award.uuid}.json?download=1" in page
    # Whole words: random hex and base58 in the page may contain "ada" by chance.
    assert learner.email not in page and not re.search(rf"\b{learner.username}\b", page)


def test_public_page_of_a_revoked_credential_says_so(client, awarded, on_commit):
    award = awarded["basics"]
    with on_commit():
        revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR)
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert "Not valid" in page and "revoked by its issuer" in page


def test_credential_json_at_a_stable_url(client, awarded):
    award = awarded["basics"]
    response = client.get(f"/microcred/credentials/{award.uuid}.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vc+ld+json")
    assert json.loads(response.content) == award.document
    download = client.get(f"/microcred/credentials/{award.uuid}.json?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="{award.uuid}.json"'


def test_unknown_credential_is_404(client, db):
    assert client.get("/microcred/credentials/8d8ac610-566d-4ef0-9c22-186b2a5ed793/").status_code == 404
    assert client.get("/microcred/credentials/not-a-uuid/").status_code == 404


def test_status_list_is_hosted_and_signed(client, awarded, on_commit):
    award = awarded["basics"]
    with on_commit():
        revoke_awards([award.pk], "misconduct")
    url = award.document["credentialStatus"]["statusListCredential"]
    response = client.get(url.replace(lms_root_url(), ""))
    assert response.status_code == 200
    listed = json.loads(response.content)
    assert "BitstringStatusListCredential" in listed["type"]
    assert status_list.is_set(listed["credentialSubject"]["encodedList"], award.status_index)
    assert client.get("/microcred/status/999").status_code == 404


def test_extension_context_is_served(client, db):
    response = client.get("/microcred/contexts/microcredential-v1.jsonld")
    assert response.status_code == 200 and "@context" in json.loads(response.content)


# --- Keys -----------------------------------------------------------------------------------


def test_keys_are_stored_encrypted_and_never_printed(db):
    out = io.StringIO()
    call_command("microcred_keys", "generate", stdout=out)
    stored = IssuerKey.objects.get()
    private = keys.signing_key().private_key.private_bytes_raw()
    for encoding in (private.hex(), base64.b64encode(private).decode(), base64.urlsafe_b64encode(private).decode()):
        assert encoding not in stored.encrypted_private_key
        assert encoding not in out.getvalue()
    assert "not shown" in out.getvalue()
    assert "private" not in repr(keys.signing_key()).lower()


def test_generate_refuses_a_second_key_and_rotate_keeps_the_old_one(db):
    call_command("microcred_keys", "generate", stdout=io.StringIO())
    with pytest.raises(CommandError, match="rotate it instead"):
        call_command("microcred_keys", "generate", stdout=io.StringIO())
    call_command("microcred_keys", "generate", "--if-missing", stdout=io.StringIO())
    call_command("microcred_keys", "rotate", stdout=io.StringIO())
    assert IssuerKey.objects.count() == 2
    assert IssuerKey.objects.filter(current=True).count() == 1
    assert IssuerKey.objects.filter(retired_at__isnull=False).count() == 1
    listing = io.StringIO()
    call_command("microcred_keys", "list", stdout=listing)
    assert "current" in listing.getvalue() and "retired" in listing.getvalue()


def test_a_different_secret_key_cannot_decrypt(db, settings):
    keys.generate_key()
    settings.SECRET_KEY = "another-secret"
    with pytest.raises(keys.SigningKeyError, match="cannot be decrypted"):
        keys.signing_key()


def test_configured_encryption_keys_and_their_rotation(db, settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MICROCRED_KEY_ENCRYPTION_KEYS = [first]
    keys.generate_key()
    original = keys.signing_key().public_key
    settings.MICROCRED_KEY_ENCRYPTION_KEYS = [second, first]  # the new key first, the old still decrypts
    assert keys.signing_key().public_key.public_bytes_raw() == original.public_bytes_raw()


def test_signing_key_from_settings(db, settings):
    private = Ed25519PrivateKey.generate()
    settings.MICROCRED_SIGNING_KEY = base64.b64encode(private.private_bytes_raw()).decode()
    assert keys.signing_key().public_key.public_bytes_raw() == private.public_key().public_bytes_raw()
    assert IssuerKey.objects.count() == 0


# --- did:web and rotation -------------------------------------------------------------------------


@pytest.fixture
def did_web(settings):
    settings.MICROCRED_DID_METHOD = "web"
    settings.MICROCRED_LMS_ROOT_URL = "https://lms.example.org"


def test_did_web_document_is_served_and_rotation_keeps_old_credentials_valid(did_web, client, learner,
                                                                             make_credential, on_commit):
    make_credential("basics", {"type": "course_passed", "course": C1})
    make_credential("data", {"type": "course_grade", "course": C2, "min_percent": 50})
    with on_commit():
        events.passing(learner, C1)
    old = Award.objects.get(credential__slug="basics").document
    assert old["issuer"]["id"] == "did:web:lms.example.org:microcred"
    keys.generate_key(rotate=True)
    with on_commit():
        events.grade(learner.pk, C2, 0.9, time=events.at(1))
    new = Award.objects.get(credential__slug="data").document
    assert old["proof"][0]["verificationMethod"] != new["proof"][0]["verificationMethod"]
    assert api.verify_credential(old).valid and api.verify_credential(new).valid
    served = json.loads(client.get("/microcred/did.json").content)
    assert served["id"] == "did:web:lms.example.org:microcred"
    assert did.did_web_document_url(served["id"]) == "https://lms.example.org/microcred/did.json"
    methods = {m["id"] for m in served["verificationMethod"]}
    assert {old["proof"][0]["verificationMethod"], new["proof"][0]["verificationMethod"]} <= methods


def test_did_document_is_404_for_did_key(client, db):
    assert client.get("/microcred/did.json").status_code == 404


# --- Commands -------------------------------------------------------------------------------


def test_export_writes_every_credential_and_verify_checks_them(awarded, tmp_path, on_commit):
    out = io.StringIO()
    call_command("microcred_export", str(tmp_path), stdout=out)
    files = sorted(tmp_path.glob("*.json"))
    assert [f.stem for f in files] == sorted(str(a.uuid) for a in awarded.values())
    assert "Wrote 2 credential(s)" in out.getvalue()
    good = tmp_path / f"{awarded['basics'].uuid}.json"
    verified = io.StringIO()
    call_command("microcred_verify", str(good), stdout=verified)
    assert "VALID" in verified.getvalue() and "signature: ok" in verified.getvalue()
    with on_commit():
        revoke_awards([awarded["basics"].pk], "misconduct")
    with pytest.raises(CommandError, match="NOT VALID: revocation: revoked"):
        call_command("microcred_verify", str(good), stdout=io.StringIO())


def test_verify_command_bad_input(tmp_path, db):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("microcred_verify", str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("microcred_verify", str(bad))
    bad.write_text("{}")
    with pytest.raises(CommandError, match="NOT VALID: signature: no proof"):
        call_command("microcred_verify", str(bad), stdout=io.StringIO())


def test_a_learner_without_email_is_not_issued_a_broken_credential(learner, make_credential, on_commit):
    learner.email = ""
    learner.save()
    make_credential("basics", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get()
    assert award.document is None  # the issuing task failed loudly (logged) instead
    with pytest.raises(ValueError, match="no email"):
        issuance.issue_award(award.pk)
    assert Credential.objects.count() == 1
    for url in (f"/microcred/credentials/{award.uuid}/", f"/microcred/credentials/{award.uuid}.json"):
        response = Client().get(url)
        assert response.status_code == 503 and b"could not be issued yet" in response.content


# --- An independent verifier ------------------------------------------------------------------


def _outside_documents(*credentials):
    """What a verifier elsewhere would fetch: our context, our DID document, our status lists."""
    documents = issuance.contexts_for_outside_verifiers()
    for credential in credentials:
        url = credential["credentialStatus"]["statusListCredential"]
        documents[url] = issuance.status_list_document(int(url.rsplit("/", 1)[1]))
    return documents


@pytest.mark.parametrize("method", ["key", "web"])
def test_digital_bazaars_verifier_accepts_our_credentials_and_sees_revocation(method, settings, learner,
                                                                              make_credential, on_commit):
    settings.MICROCRED_DID_METHOD = method
    settings.MICROCRED_LMS_ROOT_URL = "https://lms.example.org"
    make_credential("basics", {"type": "course_passed", "course": C1}, learning_outcomes=["Write Python"],
                    workload_hours=30, ects_credits=1, eqf_level=4, assessment_type="written-examination",
                    participation_form="online", validity_days=365)
    make_credential("stack", {"type": "credential", "credential": "basics"}, stack_kind="vertical")
    with on_commit():
        events.passing(learner, C1)
    basics, stack = (Award.objects.get(credential__slug=s) for s in ("basics", "stack"))
    for award in (basics, stack):
        outcome = js_verify(award.document, _outside_documents(award.document), check_status=True)
        assert outcome == {"verified": True, "statusRevoked": False, "errors": []}, outcome
    forged = copy.deepcopy(basics.document)
    forged["credentialSubject"]["achievement"]["name"] = "Forged"
    assert js_verify(forged, _outside_documents(forged), check_status=True)["verified"] is False
    with on_commit():
        revoke_awards([basics.pk], "misconduct")
    outcome = js_verify(basics.document, _outside_documents(basics.document), check_status=True)
    assert outcome["statusRevoked"] is True


def test_did_key_rotation_keeps_old_credentials_and_their_status_checkable(settings, learner, make_credential,
                                                                           on_commit):
    """Under did:key the issuer changes with the key: each status list stays with the key that issued it."""
    make_credential("basics", {"type": "course_passed", "course": C1})
    make_credential("data", {"type": "course_grade", "course": C2, "min_percent": 50})
    with on_commit():
        events.passing(learner, C1)
    keys.generate_key(rotate=True)
    with on_commit():
        events.grade(learner.pk, C2, 0.9, time=events.at(1))
    old, new = (Award.objects.get(credential__slug=s) for s in ("basics", "data"))
    assert old.document["issuer"]["id"] != new.document["issuer"]["id"]
    assert old.status_list_id != new.status_list_id
    for award in (old, new):
        assert api.verify_credential(award.document).valid
        outcome = js_verify(award.document, _outside_documents(award.document), check_status=True)
        assert outcome == {"verified": True, "statusRevoked": False, "errors": []}, outcome


def test_grades_and_learning_outcomes_are_in_the_credential_and_on_its_page(client, learner, make_credential,
                                                                            on_commit):
    make_credential("data", {"type": "course_grade", "course": C2, "min_percent": 70},
                    learning_outcomes=["Clean tabular data", "Present findings"])
    with on_commit():
        events.grade(learner.pk, C2, 0.85)
    award = Award.objects.get()
    subject = award.document["credentialSubject"]
    assert subject["result"][0]["value"] == "85"
    assert subject["result"][0]["resultDescription"] == subject["achievement"]["resultDescription"][0]["id"]
    outcome_urls = [a["targetUrl"] for a in subject["achievement"]["alignment"]
                    if a["targetType"] == "ext:LearningOutcome"]
    assert outcome_urls == [f"{links.credential_url(award.uuid)}#learning-outcome-{n}" for n in (1, 2)]
    jsonschema.Draft201909Validator(SCHEMA).validate(award.document)
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert 'id="learning-outcome-2">Present findings' in page and "85%" not in page  # the learner's choice
    api.set_sharing(learner, show_grade=True)
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert "85%" in page


# --- Settings that are lazy translations, as edx-platform's are --------------------------------


def test_the_platforms_lazy_default_platform_name_is_signed_shown_and_linked_as_text(client, awarded, settings):
    """edx-platform's PLATFORM_NAME is gettext_lazy("Your Platform Name Here"), and so is the sandbox's."""
    assert isinstance(settings.PLATFORM_NAME, Promise) and not settings.MICROCRED_ISSUER.get("name")
    award = awarded["basics"]
    assert award.document is not None, "the award stayed unsigned"
    assert award.document["issuer"]["name"] == "Your Platform Name Here"
    assert api.verify_credential(award.document).valid
    page = client.get(f"/microcred/credentials/{award.uuid}/")
    assert page.status_code == 200 and "Your Platform Name Here" in page.content.decode()
    assert json.loads(client.get(f"/microcred/credentials/{award.uuid}.json").content) == award.document
    # An award not signed yet is linked with the configured name.
    link = api.linkedin_url(award_uuid=award.uuid, name="Python Basics", issued_at=award.issued_at)
    assert parse_qs(urlsplit(link).query)["organizationName"] == ["Your Platform Name Here"]


def test_lazy_issuer_settings_enter_the_credential_as_text(settings, learner, make_credential, on_commit):
    settings.MICROCRED_ISSUER = {"name": gettext_lazy("Demo University"), "description": gettext_lazy("A school"),
                                 "url": gettext_lazy("https://demo.example.org/")}
    settings.LMS_ROOT_URL = gettext_lazy("https://lms.example.org")
    make_credential("basics", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get()
    issuer = award.document["issuer"]
    assert (issuer["name"], issuer["description"], issuer["url"]) == ("Demo University", "A school",
                                                                      "https://demo.example.org/")
    assert award.document["id"] == f"https://lms.example.org/microcred/credentials/{award.uuid}/"
    assert api.verify_credential(award.document).valid


def test_the_issuer_is_named_in_the_sites_language_whoever_triggers_the_signing(settings, learner,
                                                                                make_credential, on_commit):
    # A lazy value that shows the language it was made text in.
    settings.PLATFORM_NAME = lazy(lambda: f"Platform ({translation.get_language()})", str)()
    make_credential("basics", {"type": "course_passed", "course": C1})
    with translation.override("fr"), on_commit():
        events.passing(learner, C1)
    assert Award.objects.get().document["issuer"]["name"] == f"Platform ({settings.LANGUAGE_CODE})"
