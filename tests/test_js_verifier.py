"""Credentials checked by an independent verifier: Digital Bazaar's JavaScript VC stack.

``tests/jsverify.py`` runs ``tests/js_verifier/verify.mjs`` (``@digitalbazaar/vc`` 7.x,
``eddsa-rdfc-2022`` Data Integrity proofs, bitstring status lists) fully offline. These tests
fail, never skip, where Node.js is missing: CI has to install it.

First the verifier is checked against 1EdTech's own signed OB 3.0 example (it must accept it and
reject tampered copies), then credentials and status lists signed by our Python code go through it.
"""

import copy
import json
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from openedx_microcred.openbadges import canonical, did
from openedx_microcred.openbadges import document as ob
from openedx_microcred.openbadges import status_list
from openedx_microcred.openbadges.proof import sign

from .credential_corpus import CORPUS
from .jsverify import js_verify
from .openbadges.samples import issued

# 1EdTech's eddsa-rdfc-2022 example for OB 3.0 (key pair, credential, proof options, proofValue),
# shared with tests/openbadges/test_proof.py.
TEST_VECTOR = Path(__file__).resolve().parent / "data" / "ob3-test-vector" / "obv3p0-eddsa-rdfc-2022.json"
VECTOR = json.loads(TEST_VECTOR.read_text())

STATUS_LIST_URL = "https://courses.example.edu/microcred/status/1"
STATUS_INDEX = 7
VERIFY_AT = "2025-06-01T00:00:00Z"


# --- 1EdTech's signed test vector ------------------------------------------------------------


def _vector_credential():
    """The test vector's credential with its published proof (as a one-element array, as the
    OB 3.0 schema wants)."""
    credential = copy.deepcopy(VECTOR["credential"])
    proof = dict(VECTOR["proof_options"], proofValue=VECTOR["proof_value"])
    credential["proof"] = [proof]
    return credential


def _vector_documents():
    """The vector's verification method is an https URL under the issuer id, so the verifier
    needs the issuer's controller document: served locally, DID-core shaped, Multikey key."""
    issuer = VECTOR["credential"]["issuer"]["id"]
    method = VECTOR["proof_options"]["verificationMethod"]
    return {
        issuer: {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": issuer,
            "verificationMethod": [
                {
                    "id": method,
                    "type": "Multikey",
                    "controller": issuer,
                    "publicKeyMultibase": VECTOR["public_key_multibase"],
                }
            ],
            "assertionMethod": [method],
        }
    }


def test_vector_verifies():
    result = js_verify(_vector_credential(), _vector_documents())
    assert result == {"verified": True, "statusRevoked": None, "errors": []}


def test_vector_with_bare_proof_object_verifies():
    credential = _vector_credential()
    credential["proof"] = credential["proof"][0]
    assert js_verify(credential, _vector_documents())["verified"] is True


def test_vector_with_changed_field_fails():
    credential = _vector_credential()
    credential["name"] = "Teamwork Badge (edited)"
    result = js_verify(credential, _vector_documents())
    assert result["verified"] is False
    assert any("Invalid signature" in e for e in result["errors"]), result


def test_vector_with_changed_nested_field_fails():
    credential = _vector_credential()
    credential["credentialSubject"]["achievement"]["name"] = "Leadership"
    assert js_verify(credential, _vector_documents())["verified"] is False


def test_vector_with_altered_proof_value_fails():
    signature = bytearray(bytes.fromhex(VECTOR["signature_hex"]))
    signature[-1] ^= 0x01
    credential = _vector_credential()
    credential["proof"][0]["proofValue"] = "z" + base58.b58encode(bytes(signature)).decode()
    result = js_verify(credential, _vector_documents())
    assert result["verified"] is False
    assert any("Invalid signature" in e for e in result["errors"]), result


@pytest.mark.parametrize("where", ["credential", "credentialSubject", "achievement"])
def test_vector_with_undefined_property_fails_in_safe_mode(where):
    """A property no context defines makes the verifier fail (safe mode), even though it would
    drop out of the canonical form and leave the signature intact."""
    credential = _vector_credential()
    target = {
        "credential": credential,
        "credentialSubject": credential["credentialSubject"],
        "achievement": credential["credentialSubject"]["achievement"],
    }[where]
    target["undefinedByAnyContext"] = "x"
    result = js_verify(credential, _vector_documents())
    assert result["verified"] is False
    assert any("Dropping property that did not expand" in e for e in result["errors"]), result


def test_vector_wrong_key_in_controller_document_fails():
    documents = _vector_documents()
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    (vm,) = next(iter(documents.values()))["verificationMethod"]
    vm["publicKeyMultibase"] = "z" + base58.b58encode(b"\xed\x01" + other).decode()
    assert js_verify(_vector_credential(), documents)["verified"] is False


def test_vector_key_not_authorized_for_assertion_fails():
    documents = _vector_documents()
    next(iter(documents.values()))["assertionMethod"] = []
    result = js_verify(_vector_credential(), documents)
    assert result["verified"] is False
    assert any("not authorized" in e for e in result["errors"]), result


def test_verifier_is_offline():
    """Anything not bundled or supplied is an error naming the URL, never a fetch."""
    credential = _vector_credential()
    credential["@context"].append("https://contexts.example.org/unknown-v1.jsonld")
    result = js_verify(credential, _vector_documents())
    assert result["verified"] is False
    assert any("https://contexts.example.org/unknown-v1.jsonld" in e for e in result["errors"]), result

    result = js_verify(_vector_credential(), documents={})
    assert result["verified"] is False
    assert any(VECTOR["proof_options"]["verificationMethod"] in e for e in result["errors"]), result


def test_verification_time_is_checked():
    result = js_verify(_vector_credential(), _vector_documents(), now="2009-12-31T00:00:00Z")
    assert result["verified"] is False
    assert any("validFrom" in e for e in result["errors"]), result


# --- credentials and status lists signed by our Python code ----------------------------------


@pytest.fixture
def signer():
    """The Python signing API (openedx_microcred.openbadges), keyed with the test vector's key."""
    private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_hex"])[:32])
    public_key = private_key.public_key()

    class Signer:
        """Signs as the test vector's did:key issuer: any document, a copy of its credential, a status list."""

        issuer = did.did_key(public_key)
        verification_method = did.did_key_verification_method(public_key)

        def sign(self, document, **kwargs):
            return sign(copy.deepcopy(document), private_key, self.verification_method, **kwargs)

        def credential(self, status_index=None):
            """The test vector's credential, issued by us, with a status entry at ``status_index`` if given."""
            credential = copy.deepcopy(VECTOR["credential"])
            credential["issuer"]["id"] = self.issuer
            if status_index is not None:
                credential["credentialStatus"] = status_list.status_entry(STATUS_LIST_URL, status_index)
            return self.sign(credential)

        def status_list(self, revoked_indexes):
            unsigned = status_list.status_list_credential(
                STATUS_LIST_URL, self.issuer, status_list.encode(revoked_indexes), "2024-01-01T00:00:00Z"
            )
            return self.sign(unsigned)

    return Signer()


def test_python_signed_credential_verifies(signer):
    assert signer.issuer == "did:key:" + VECTOR["public_key_multibase"]
    credential = signer.credential()
    assert isinstance(credential["proof"], list)
    assert js_verify(credential, now=VERIFY_AT) == {"verified": True, "statusRevoked": None, "errors": []}


def test_python_signed_credential_tampered_fails(signer):
    credential = signer.credential()
    credential["credentialSubject"]["achievement"]["name"] = "Leadership"
    assert js_verify(credential, now=VERIFY_AT)["verified"] is False


@pytest.mark.parametrize(
    "status_index, revoked_indexes, revoked",
    [
        (STATUS_INDEX, [], False),
        (STATUS_INDEX, [STATUS_INDEX], True),
        # neighbouring bits (same byte and the next one) don't revoke it: bit order is right
        (STATUS_INDEX, [STATUS_INDEX - 1, STATUS_INDEX + 1, 0], False),
        (0, [0], True),
        (8, [7, 9], False),
        (131071, [131071], True),
    ],
)
def test_python_signed_status_list(signer, status_index, revoked_indexes, revoked):
    credential = signer.credential(status_index=status_index)
    documents = {STATUS_LIST_URL: signer.status_list(revoked_indexes)}
    result = js_verify(credential, documents, check_status=True, now=VERIFY_AT)
    # a revoked credential still verifies: revocation shows only in the status result
    assert result == {"verified": True, "statusRevoked": revoked, "errors": []}


def test_status_list_with_bad_signature_fails(signer):
    credential = signer.credential(status_index=STATUS_INDEX)
    status_list_credential = signer.status_list([STATUS_INDEX])
    # swapping the list for a clean one without re-signing must not un-revoke the credential
    status_list_credential["credentialSubject"]["encodedList"] = signer.status_list([])["credentialSubject"][
        "encodedList"
    ]
    result = js_verify(credential, {STATUS_LIST_URL: status_list_credential}, check_status=True, now=VERIFY_AT)
    assert result["verified"] is False
    assert result["statusRevoked"] is None
    assert any("BitstringStatusListCredential" in e for e in result["errors"]), result


def test_status_list_from_another_issuer_fails(signer):
    other = Ed25519PrivateKey.generate()
    other_issuer = did.did_key(other.public_key())
    foreign_list = sign(
        status_list.status_list_credential(STATUS_LIST_URL, other_issuer, status_list.encode([]),
                                           "2024-01-01T00:00:00Z"),
        other,
        did.did_key_verification_method(other.public_key()),
    )
    credential = signer.credential(status_index=STATUS_INDEX)
    result = js_verify(credential, {STATUS_LIST_URL: foreign_list}, check_status=True, now=VERIFY_AT)
    assert result["verified"] is False
    mismatch = "Issuers of the status list credential and verifiable credential do not match"
    assert any(mismatch in e for e in result["errors"])


def test_status_list_missing_fails(signer):
    credential = signer.credential(status_index=STATUS_INDEX)
    result = js_verify(credential, {}, check_status=True, now=VERIFY_AT)
    assert result["verified"] is False
    assert any(STATUS_LIST_URL in e for e in result["errors"]), result


def test_python_signed_undefined_term_is_rejected_outside(signer):
    """Why ``sign`` refuses terms no context defines: signed anyway (check off), the signature
    would not cover the term and Digital Bazaar's verifier rejects the credential."""
    credential = copy.deepcopy(VECTOR["credential"])
    credential["issuer"]["id"] = signer.issuer
    credential["credentialSubject"]["workloadHours"] = 30  # only defined inside MicrocredentialAchievement
    result = js_verify(signer.sign(credential, check_terms=False), now=VERIFY_AT)
    assert result["verified"] is False
    assert any("Dropping property that did not expand" in e and "workloadHours" in e for e in result["errors"])


def test_python_signed_with_microcredential_context(signer):
    """The plugin's extension context, served from the bundled file under the deployment's URL."""
    credential = copy.deepcopy(VECTOR["credential"])
    credential["@context"].append("https://courses.example.edu/microcred/contexts/microcredential-v1.jsonld")
    credential["issuer"]["id"] = signer.issuer
    achievement = credential["credentialSubject"]["achievement"]
    achievement["type"] = ["Achievement", "MicrocredentialAchievement"]
    achievement.update(workloadHours=30, assessmentType="exam", identityVerified=True)
    assert js_verify(signer.sign(credential), now=VERIFY_AT) == {"verified": True, "statusRevoked": None, "errors": []}


def test_python_signed_did_web_with_rotated_key():
    """A did:web issuer: the DID document is served via ``documents``; what a rotated key signed
    keeps verifying, a key missing from the document does not."""
    issuer = did.did_web("courses.example.edu", ["microcred"])
    old, new, stranger = (Ed25519PrivateKey.generate() for _ in range(3))
    did_document = did.did_web_document(
        issuer, [("key-1", old.public_key(), False), ("key-2", new.public_key(), True)]
    )
    documents = {issuer: did_document}

    def signed_with(private_key, fragment):
        credential = copy.deepcopy(VECTOR["credential"])
        credential["issuer"]["id"] = issuer
        return sign(credential, private_key, f"{issuer}#{fragment}")

    for private_key, fragment in ((new, "key-2"), (old, "key-1")):
        result = js_verify(signed_with(private_key, fragment), documents, now=VERIFY_AT)
        assert result == {"verified": True, "statusRevoked": None, "errors": []}, fragment
    # the right method id, the wrong key
    assert js_verify(signed_with(stranger, "key-2"), documents, now=VERIFY_AT)["verified"] is False
    # a method the DID document does not have
    result = js_verify(signed_with(new, "key-3"), documents, now=VERIFY_AT)
    assert result["verified"] is False
    assert any(f"{issuer}#key-3" in e for e in result["errors"]), result


def test_python_signed_eu_microcredential_verifies(signer):
    """A microcredential with every EU element (ELM concepts with their labels, Edubadges' terms,
    quality assurance as an alignment, the issuer's address and institution code) as document.py
    builds it: every term is defined (safe mode drops none), and it verifies; without the
    MicrocredentialAchievement type the same terms are undefined and the credential is rejected."""
    unsigned = ob.build_credential(issued())
    unsigned["issuer"]["id"] = signer.issuer
    achievement = unsigned["credentialSubject"]["achievement"]
    assert {"learningMode", "assessmentMethod", "supervisionMethod", "participationType", "supervisionType",
            "identityChecked", "timeInvestment", "volumeOfLearning"} <= set(achievement)
    during = "2027-01-01T00:00:00Z"  # inside the credential's validity period
    assert js_verify(signer.sign(unsigned), now=during) == {"verified": True, "statusRevoked": None, "errors": []}

    untyped = copy.deepcopy(unsigned)
    untyped["credentialSubject"]["achievement"]["type"] = ["Achievement"]
    result = js_verify(signer.sign(untyped, check_terms=False), now=during)
    assert result["verified"] is False
    assert any("Dropping property that did not expand" in e for e in result["errors"])
# --- the canonicalization corpus, signed through the template path ---------------------------


def test_every_credential_of_the_corpus_is_accepted_on_both_signing_paths(signer):
    """tests/credential_corpus.py: the first award of each credential is canonicalized by pyld, the
    next ones from the template by Oxigraph (openbadges/canonical.py): outside, both verify."""
    canonical.clear_caches()
    before = canonical.cache_info()["templated"]
    for name, make in sorted(CORPUS.items()):
        for n in (0, 1):
            credential = signer.sign(make(n, issuer=signer.issuer))
            result = js_verify(credential, now="2027-06-01T00:00:00Z")
            assert result == {"verified": True, "statusRevoked": None, "errors": []}, (name, n, result)
    assert canonical.cache_info()["templated"] >= before + 2 * len(CORPUS)  # documents and proofs of n = 1
