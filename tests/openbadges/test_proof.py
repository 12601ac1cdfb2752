"""eddsa-rdfc-2022 Data Integrity proofs and the offline JSON-LD layer under them.

1EdTech's known-answer test vector (tests/data/ob3-test-vector, a copy of the project's
ob3/test-vector; its source is recorded inside) pins the canonical forms, the hashes and the
proofValue byte for byte. No test here needs the database or the network.
"""

import copy
import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld.jsonld import JsonLdError

from openedx_microcred.openbadges import did, jsonld
from openedx_microcred.openbadges.proof import (
    CRYPTOSUITE,
    PROOF_TYPE,
    ProofResult,
    create_proof,
    hash_data,
    sign,
    verify_proof,
)

VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "ob3-test-vector"
VECTOR = json.loads((VECTOR_DIR / "obv3p0-eddsa-rdfc-2022.json").read_text())
DOCUMENT_CANON = (VECTOR_DIR / "document-canon.nq").read_text()
PROOF_CANON = (VECTOR_DIR / "proof-canon.nq").read_text()

VECTOR_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_hex"])[:32])
VECTOR_METHOD = VECTOR["proof_options"]["verificationMethod"]


def vector_credential():
    return copy.deepcopy(VECTOR["credential"])


def resolve_vector_key(method):
    """The vector's verification method is an https URL under the issuer: resolve it by table."""
    if method == VECTOR_METHOD:
        return VECTOR_KEY.public_key()
    raise LookupError(method)


def resolve_did(method):
    return did.resolve_verification_method(method)


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def signed(key):
    """A test-vector credential issued by a did:key and signed by us."""
    credential = vector_credential()
    credential["issuer"]["id"] = did.did_key(key.public_key())
    return sign(credential, key, did.did_key_verification_method(key.public_key()))


# --- the known-answer test vector ---------------------------------------------------------


def test_private_key_matches_vector_public_key():
    assert VECTOR_KEY.public_key().public_bytes_raw().hex() == VECTOR["public_key_hex"]


def test_vector_document_canonical_form_byte_for_byte():
    assert jsonld.canonize(vector_credential()) == DOCUMENT_CANON


def test_vector_proof_options_canonical_form_byte_for_byte():
    """The proof options are canonicalized under the credential's @context."""
    proof_config = dict(VECTOR["proof_options"], **{"@context": VECTOR["credential"]["@context"]})
    assert jsonld.canonize(proof_config) == PROOF_CANON


def test_vector_hashes_proof_first():
    data = hash_data(vector_credential(), VECTOR["proof_options"])
    assert data.hex() == VECTOR["proof_hash_hex"] + VECTOR["document_hash_hex"]


def test_vector_proof_value_reproduced():
    options = VECTOR["proof_options"]
    proof = create_proof(vector_credential(), VECTOR_KEY, VECTOR_METHOD, created=options["created"])
    assert proof == dict(options, proofValue=VECTOR["proof_value"])
    assert base58.b58decode(proof["proofValue"][1:]).hex() == VECTOR["signature_hex"]


@pytest.mark.parametrize("as_array", [True, False])
def test_vector_verifies(as_array):
    credential = vector_credential()
    proof = dict(VECTOR["proof_options"], proofValue=VECTOR["proof_value"])
    credential["proof"] = [proof] if as_array else proof
    assert verify_proof(credential, resolve_vector_key) == ProofResult(True, None, VECTOR_METHOD)


def test_hash_ignores_an_existing_proof():
    credential = vector_credential()
    credential["proof"] = [dict(VECTOR["proof_options"], proofValue=VECTOR["proof_value"])]
    expected = VECTOR["proof_hash_hex"] + VECTOR["document_hash_hex"]
    assert hash_data(credential, VECTOR["proof_options"]).hex() == expected


# --- signing --------------------------------------------------------------------------------


def test_sign_adds_proof_array_and_leaves_input_alone(key):
    credential = vector_credential()
    before = copy.deepcopy(credential)
    method = did.did_key_verification_method(key.public_key())
    signed = sign(credential, key, method)
    assert credential == before
    assert {k: v for k, v in signed.items() if k != "proof"} == before
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 1
    (proof,) = signed["proof"]
    assert proof["type"] == PROOF_TYPE == "DataIntegrityProof"
    assert proof["cryptosuite"] == CRYPTOSUITE == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == method
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")
    assert len(base58.b58decode(proof["proofValue"][1:])) == 64


def test_created_is_utc_without_microseconds(key):
    created = datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    proof = create_proof(vector_credential(), key, "did:key:x#x", created=created)
    assert proof["created"] == "2026-03-01T12:30:15Z"


def test_created_defaults_to_now(key):
    proof = create_proof(vector_credential(), key, "did:key:x#x")
    created = datetime.strptime(proof["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=1)


@pytest.mark.parametrize("created", [datetime(2026, 1, 1), "yesterday", "2026-01-01"])
def test_created_must_be_an_aware_datetime_or_xsd_datetime(key, created):
    with pytest.raises(ValueError):
        create_proof(vector_credential(), key, "did:key:x#x", created=created)


def test_sign_refuses_a_document_with_a_proof(signed, key):
    with pytest.raises(ValueError, match="already has a proof"):
        sign(signed, key, "did:key:x#x")


def test_sign_refuses_undefined_terms(key):
    credential = vector_credential()
    credential["credentialSubject"]["achievement"]["workload"] = 30
    with pytest.raises(ValueError, match=r"credentialSubject\.achievement\.workload"):
        sign(credential, key, "did:key:x#x")


# --- verification ---------------------------------------------------------------------------


def test_sign_then_verify(signed, key):
    result = verify_proof(signed, resolve_did)
    assert result.valid and result
    assert result.reason is None
    assert result.verification_method == did.did_key_verification_method(key.public_key())


def test_sign_then_verify_with_did_web_after_rotation():
    """A credential signed by a key that was rotated out still verifies from the new document."""
    issuer = did.did_web("lms.example.edu")
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    credential = vector_credential()
    credential["issuer"]["id"] = issuer
    old_signed = sign(credential, old_key, f"{issuer}#key-1")
    new_signed = sign(credential, new_key, f"{issuer}#key-2")
    document = did.did_web_document(
        issuer, [("key-1", old_key.public_key(), False), ("key-2", new_key.public_key(), True)]
    )

    def resolve(method):
        return did.resolve_verification_method(method, {issuer: document})

    assert verify_proof(old_signed, resolve).valid
    assert verify_proof(new_signed, resolve).valid


@pytest.mark.parametrize(
    "path, value",
    [
        (("name",), "Teamwork Badge (edited)"),
        (("validFrom",), "2010-01-01T00:00:01Z"),
        (("credentialSubject", "id"), "did:example:someone-else"),
        (("credentialSubject", "achievement", "name"), "Leadership"),
        (("credentialSubject", "achievement", "criteria", "narrative"), "Anyone."),
    ],
)
def test_changed_field_fails(signed, path, value):
    *parents, last = path
    target = signed
    for step in parents:
        target = target[step]
    target[last] = value
    assert verify_proof(signed, resolve_did).reason == "signature does not match"


def test_changed_proof_option_fails(signed):
    signed["proof"][0]["created"] = "2030-01-01T00:00:00Z"
    assert verify_proof(signed, resolve_did).reason == "signature does not match"


def test_wrong_key_fails(signed):
    other = Ed25519PrivateKey.generate().public_key()
    result = verify_proof(signed, lambda method: other)
    assert not result.valid
    assert result.reason == "signature does not match"


def test_swapped_proof_value_fails(signed, key):
    """A valid signature, but of another document (same key, same proof options)."""
    other = copy.deepcopy(signed)
    del other["proof"]
    other["name"] = "Another Badge"
    created = signed["proof"][0]["created"]
    other_proof = create_proof(other, key, signed["proof"][0]["verificationMethod"], created=created)
    signed["proof"][0]["proofValue"] = other_proof["proofValue"]
    assert verify_proof(signed, resolve_did).reason == "signature does not match"


def test_unknown_verification_method_fails(signed):
    def resolve(method):
        raise LookupError(f"never heard of {method}")

    result = verify_proof(signed, resolve)
    assert result.reason == "unknown verification method"
    assert result.verification_method == signed["proof"][0]["verificationMethod"]
    assert "never heard of" in result.detail


def test_did_key_verification_method_with_wrong_fragment_is_unknown(signed, key):
    multikey = did.multikey_from_public_key(key.public_key())
    signed["proof"][0]["verificationMethod"] = f"did:key:{multikey}#key-1"
    assert verify_proof(signed, resolve_did).reason == "unknown verification method"


@pytest.mark.parametrize(
    "where, expected",
    [
        ((), "surprise"),
        (("credentialSubject",), "credentialSubject.surprise"),
        (("credentialSubject", "achievement"), "credentialSubject.achievement.surprise"),
    ],
)
def test_undefined_term_fails_before_the_signature(key, where, expected):
    """Signed with the undefined property already there: pyld drops it from the canonical form,
    so the signature is fine -- and the document must still be rejected, as safe-mode verifiers
    reject it."""
    credential = vector_credential()
    credential["issuer"]["id"] = did.did_key(key.public_key())
    target = credential
    for step in where:
        target = target[step]
    target["surprise"] = "not in any context"
    signed = sign(credential, key, did.did_key_verification_method(key.public_key()), check_terms=False)
    result = verify_proof(signed, resolve_did)
    assert not result.valid
    assert result.reason == f"undefined terms: {expected}"


def test_undefined_term_added_after_signing_fails(signed):
    signed["credentialSubject"]["achievement"]["surprise"] = 1
    assert verify_proof(signed, resolve_did).reason == "undefined terms: credentialSubject.achievement.surprise"


def test_undefined_term_in_proof_fails(signed):
    signed["proof"][0]["note"] = "hi"
    assert verify_proof(signed, resolve_did).reason == "undefined terms: proof[0].note"


def test_no_proof():
    assert verify_proof(vector_credential(), resolve_did) == ProofResult(False, "no proof")


def test_more_than_one_proof(signed):
    signed["proof"].append(copy.deepcopy(signed["proof"][0]))
    assert verify_proof(signed, resolve_did).reason == "expected exactly one proof"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "unsupported cryptosuite"),
        ({"cryptosuite": "eddsa-jcs-2022"}, "unsupported cryptosuite"),
        ({"type": "Ed25519Signature2020"}, "unsupported cryptosuite"),
        ({"proofPurpose": "authentication"}, "unexpected proof purpose"),
        ({"verificationMethod": None}, "malformed proof"),
        ({"created": "last week"}, "malformed proof"),
        ({"proofValue": None}, "malformed proof value"),
        ({"proofValue": "u" + "A" * 86}, "malformed proof value"),
        ({"proofValue": "z0OIl"}, "malformed proof value"),
        ({"proofValue": "z" + base58.b58encode(bytes(63)).decode()}, "malformed proof value"),
    ],
)
def test_malformed_or_unsupported_proofs(signed, change, reason):
    signed["proof"][0].update(change)
    assert verify_proof(signed, resolve_did).reason == reason


def test_proof_context_must_prefix_document_context(signed):
    """A proof may repeat the document's @context (VC Data Integrity); one that is not a prefix of
    the document's is rejected before any hashing."""
    proof = signed["proof"][0]
    proof["@context"] = list(signed["@context"])
    assert verify_proof(signed, resolve_did).valid
    proof["@context"] = [jsonld.OB_V3P0]
    assert verify_proof(signed, resolve_did).reason == "proof @context does not match the document"


def test_unknown_context_fails_without_fetching(signed):
    signed["@context"].append("https://contexts.example.org/unknown-v1.jsonld")
    result = verify_proof(signed, resolve_did)
    assert result.reason == "JSON-LD processing failed"
    assert "https://contexts.example.org/unknown-v1.jsonld" in result.detail


# --- the offline JSON-LD layer --------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve a host name or open a socket fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):  # pylint: disable=super-init-not-called  (refused before any socket)
            refuse("socket", *args)

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse("create_connection", *a))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse("getaddrinfo", *a))
    return attempts


@pytest.fixture
def cold_caches():
    """Start without parsed or resolved contexts, so loading really happens in the test."""
    jsonld.clear_caches()


def test_canonize_sign_and_verify_never_touch_the_network(no_network, cold_caches, key):
    assert jsonld.canonize(vector_credential()) == DOCUMENT_CANON
    credential = vector_credential()
    credential["issuer"]["id"] = did.did_key(key.public_key())
    assert verify_proof(sign(credential, key, did.did_key_verification_method(key.public_key())), resolve_did)
    assert no_network == []


def test_unknown_url_is_an_error_naming_it(no_network, cold_caches):
    url = "https://contexts.example.org/unknown-v1.jsonld"
    with pytest.raises(JsonLdError) as raised:
        jsonld.document_loader(url)
    assert raised.value.code == "loading document failed"
    assert url in str(raised.value)

    credential = vector_credential()
    credential["@context"].append(url)
    with pytest.raises(JsonLdError) as raised:
        jsonld.canonize(credential)
    assert raised.value.code == "loading document failed"
    assert url in str(raised.value)
    assert no_network == []


def test_bundled_contexts_load_by_exact_url(cold_caches):
    for url in (
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://www.w3.org/ns/did/v1",
    ):
        remote = jsonld.document_loader(url)
        assert remote["documentUrl"] == url
        assert "@context" in remote["document"]
    with pytest.raises(JsonLdError):
        jsonld.document_loader("https://www.w3.org/ns/credentials/v2/")  # exact URLs only


def test_loader_returns_copies():
    first = jsonld.document_loader(jsonld.CREDENTIALS_V2)["document"]
    first["@context"]["name"] = "https://example.org/tampered"
    assert jsonld.document_loader(jsonld.CREDENTIALS_V2)["document"]["@context"]["name"] == "https://schema.org/name"


@pytest.fixture
def microcred_context(tmp_path, monkeypatch, cold_caches):
    """A contexts directory under the test's control (the real extension context is written
    elsewhere; this tests only the URL rule and the lazy, clear-failing load)."""
    for name in jsonld.BUNDLED_CONTEXTS.values():
        (tmp_path / name).write_text((jsonld.CONTEXTS_DIR / name).read_text())
    monkeypatch.setattr(jsonld, "CONTEXTS_DIR", tmp_path)
    context = {"@context": {"@protected": True, "workloadHours": {"@id": "https://example.org/vocab#workloadHours"}}}
    return tmp_path / jsonld.MICROCRED_CONTEXT_FILE, context


@pytest.mark.parametrize(
    "url",
    [
        "https://lms.example.edu/microcred/contexts/microcredential-v1.jsonld",
        "http://localhost:8000/microcred/contexts/microcredential-v1.jsonld",
        "https://courses.example.org/prefix/microcred/contexts/microcredential-v1.jsonld",
    ],
)
def test_microcred_context_any_deployment_url(microcred_context, url):
    path, context = microcred_context
    path.write_text(json.dumps(context))
    assert jsonld.document_loader(url)["document"] == context
    credential = vector_credential()
    credential["@context"].append(url)
    credential["workloadHours"] = 30
    assert jsonld.undefined_terms(credential) == []
    assert "<https://example.org/vocab#workloadHours>" in jsonld.canonize(credential)


@pytest.mark.parametrize(
    "url",
    [
        "https://lms.example.edu/microcred/contexts/microcredential-v2.jsonld",
        "https://lms.example.edu/microcred/contexts/microcredential-v1.jsonld?x=1",
        "ftp://lms.example.edu/microcred/contexts/microcredential-v1.jsonld",
        "https://lms.example.edu/contexts/microcredential-v1.jsonld",
    ],
)
def test_microcred_context_rule_is_narrow(microcred_context, url):
    path, context = microcred_context
    path.write_text(json.dumps(context))
    with pytest.raises(JsonLdError, match="never fetched"):
        jsonld.document_loader(url)


def test_microcred_context_missing_file_is_a_clear_error(microcred_context):
    path, _ = microcred_context
    assert not path.exists()
    url = "https://lms.example.edu/microcred/contexts/microcredential-v1.jsonld"
    with pytest.raises(JsonLdError) as raised:
        jsonld.document_loader(url)
    assert raised.value.code == "loading document failed"
    assert url in str(raised.value) and "microcredential-v1.jsonld" in str(raised.value)
    assert "missing" in str(raised.value)


def test_register_document(monkeypatch):
    monkeypatch.setattr(jsonld, "_registered", {})
    url = "https://contexts.example.org/extra-v1.jsonld"
    context = {"@context": {"extra": "https://example.org/vocab#extra"}}
    jsonld.register_document(url, context)
    credential = vector_credential()
    credential["@context"].append(url)
    credential["extra"] = "x"
    assert jsonld.undefined_terms(credential) == []
    assert '<https://example.org/vocab#extra> "x"' in jsonld.canonize(credential)
    jsonld.unregister_document(url)
    with pytest.raises(JsonLdError):
        jsonld.canonize(credential)


def test_bundled_contexts_cannot_be_replaced():
    with pytest.raises(ValueError):
        jsonld.register_document(jsonld.CREDENTIALS_V2, {"@context": {}})
    with pytest.raises(ValueError):
        jsonld.register_document("https://x.example/microcred/contexts/microcredential-v1.jsonld", {"@context": {}})


# --- undefined terms (safe mode) --------------------------------------------------------------


def test_clean_documents_have_no_undefined_terms(signed):
    assert jsonld.undefined_terms(vector_credential()) == []
    assert jsonld.undefined_terms(signed) == []


def test_undefined_terms_top_level_and_nested():
    credential = vector_credential()
    credential["topLevel"] = 1
    credential["credentialSubject"]["achievement"]["nested"] = {"deeper": "not reported separately"}
    credential["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": "ESCO", "targetUrl": "https://esco.example/1", "inList": 1}
    ]
    assert sorted(jsonld.undefined_terms(credential)) == [
        "credentialSubject.achievement.alignment[0].inList",
        "credentialSubject.achievement.nested",
        "topLevel",
    ]


def test_undefined_terms_follow_scoped_contexts():
    """A name defined in one type-scoped context is undefined elsewhere: 'achievementType' exists
    for an Achievement, not for the credential; 'creditsEarned' for an AchievementSubject, not
    for an Achievement."""
    credential = vector_credential()
    credential["credentialSubject"]["achievement"]["achievementType"] = "Badge"  # defined here
    credential["achievementType"] = "Badge"  # not here
    credential["credentialSubject"]["creditsEarned"] = 5  # defined here
    credential["credentialSubject"]["achievement"]["creditsEarned"] = 5  # not here
    assert sorted(jsonld.undefined_terms(credential)) == [
        "achievementType",
        "credentialSubject.achievement.creditsEarned",
    ]


def test_undefined_type():
    credential = vector_credential()
    credential["credentialSubject"]["achievement"]["type"].append("MicroCredential")
    assert jsonld.undefined_terms(credential) == ["credentialSubject.achievement.type=MicroCredential"]


def test_canonize_does_not_invent_iris_for_relative_references():
    """pyld with an empty base would sign http://example.org/base/...; jsonld.js leaves relative
    references out of the RDF. We do the same."""
    credential = vector_credential()
    credential["credentialSubject"]["achievement"]["type"].append("MicroCredential")
    assert "example.org/base" not in jsonld.canonize(credential)
    assert jsonld.canonize(credential) == DOCUMENT_CANON


def test_the_signed_copy_shares_no_container_with_the_input(key):
    credential = vector_credential()
    credential["credentialSubject"]["tuple"] = ({"a": [1]},)  # not JSON, but copied all the same
    signed = sign(credential, key, "did:key:x#x", check_terms=False)
    signed["credentialSubject"]["achievement"]["name"] = "changed"
    signed["credentialSubject"]["tuple"][0]["a"].append(2)
    signed["type"].append("X")
    assert credential == dict(vector_credential(), credentialSubject=dict(
        vector_credential()["credentialSubject"], tuple=({"a": [1]},)))
