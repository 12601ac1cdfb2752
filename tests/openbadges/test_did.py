"""Multikey, did:key and did:web: encodings, DID documents, rotation and offline resolution."""

import json
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from openedx_microcred.openbadges import did, jsonld

VECTOR = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "ob3-test-vector" / "obv3p0-eddsa-rdfc-2022.json").read_text()
)
VECTOR_PUBLIC = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VECTOR["public_key_hex"]))
VECTOR_MULTIKEY = VECTOR["public_key_multibase"]


def new_key():
    return Ed25519PrivateKey.generate().public_key()


# --- Multikey / did:key ---------------------------------------------------------------------


def test_multikey_of_vector_key():
    assert did.multikey_from_public_key(VECTOR_PUBLIC) == VECTOR_MULTIKEY


def test_multikey_encoding_is_ed01_prefix_plus_raw_key():
    decoded = base58.b58decode(VECTOR_MULTIKEY[1:])
    assert VECTOR_MULTIKEY.startswith("z6Mk")
    assert decoded[:2] == b"\xed\x01"
    assert decoded[2:].hex() == VECTOR["public_key_hex"]


def test_public_key_from_multikey_round_trip():
    assert did.public_key_from_multikey(VECTOR_MULTIKEY).public_bytes_raw().hex() == VECTOR["public_key_hex"]
    key = new_key()
    assert did.public_key_from_multikey(did.multikey_from_public_key(key)) == key


@pytest.mark.parametrize(
    "value",
    [
        VECTOR_MULTIKEY[1:],  # no multibase prefix
        "u" + VECTOR_MULTIKEY[1:],  # another multibase
        "z" + base58.b58encode(b"\xe7\x01" + bytes(33)).decode(),  # secp256k1-pub, not ed25519
        "z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(),  # short key
        "z0OIl",  # not base58
        None,
    ],
)
def test_public_key_from_multikey_rejects(value):
    with pytest.raises(ValueError):
        did.public_key_from_multikey(value)


def test_did_key_and_verification_method():
    assert did.did_key(VECTOR_PUBLIC) == f"did:key:{VECTOR_MULTIKEY}"
    assert did.did_key_verification_method(VECTOR_PUBLIC) == f"did:key:{VECTOR_MULTIKEY}#{VECTOR_MULTIKEY}"


def test_did_key_document():
    subject = f"did:key:{VECTOR_MULTIKEY}"
    method = f"{subject}#{VECTOR_MULTIKEY}"
    document = did.did_key_document(subject)
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert document["id"] == subject
    assert document["verificationMethod"] == [
        {"id": method, "type": "Multikey", "controller": subject, "publicKeyMultibase": VECTOR_MULTIKEY}
    ]
    assert document["assertionMethod"] == [method]
    assert document["authentication"] == [method]
    assert jsonld.undefined_terms(document) == []


def test_did_key_document_rejects_other_dids():
    with pytest.raises(ValueError):
        did.did_key_document("did:web:example.com")
    with pytest.raises(ValueError):
        did.did_key_document("did:key:zNotAKey")


# --- did:web ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, segments, expected",
    [
        # the did:web spec's examples
        ("w3c-ccg.github.io", [], "did:web:w3c-ccg.github.io"),
        ("w3c-ccg.github.io", ["user", "alice"], "did:web:w3c-ccg.github.io:user:alice"),
        ("example.com:3000", ["user", "alice"], "did:web:example.com%3A3000:user:alice"),
        ("localhost:8000", [], "did:web:localhost%3A8000"),
        ("LMS.Example.EDU", ["microcred"], "did:web:lms.example.edu:microcred"),
        ("example.com", ["a b", "c~d", "é"], "did:web:example.com:a%20b:c%7Ed:%C3%A9"),
    ],
)
def test_did_web(host, segments, expected):
    assert did.did_web(host, segments) == expected


@pytest.mark.parametrize("host", ["", "example.com/path", "example.com:port", "a:1:2", ":8000", "user@example.com"])
def test_did_web_rejects_bad_hosts(host):
    with pytest.raises(ValueError):
        did.did_web(host)


def test_did_web_rejects_empty_segment():
    with pytest.raises(ValueError):
        did.did_web("example.com", ["ok", ""])


@pytest.mark.parametrize(
    "subject, url",
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
    ],
)
def test_did_web_document_url(subject, url):
    assert did.did_web_document_url(subject) == url


def test_did_web_round_trip_to_url():
    subject = did.did_web("lms.example.edu:8443", ["microcred", "issuer"])
    assert did.did_web_document_url(subject) == "https://lms.example.edu:8443/microcred/issuer/did.json"


@pytest.mark.parametrize(
    "subject", ["did:key:" + VECTOR_MULTIKEY, "did:web:", "did:web:example.com#key-1", "did:web:example.com::x"]
)
def test_did_web_document_url_rejects(subject):
    with pytest.raises(ValueError):
        did.did_web_document_url(subject)


ISSUER = "did:web:lms.example.edu"


@pytest.fixture
def rotated():
    """Two keys signed in the past, a third one signs now."""
    keys = [("key-1", new_key(), False), ("key-2", new_key(), False), ("key-3", new_key(), True)]
    return keys, did.did_web_document(ISSUER, keys)


def test_did_web_document_keeps_rotated_keys_for_assertions(rotated):
    keys, document = rotated
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert document["id"] == ISSUER
    ids = [method["id"] for method in document["verificationMethod"]]
    assert ids == [f"{ISSUER}#key-3", f"{ISSUER}#key-1", f"{ISSUER}#key-2"]  # current first
    assert document["assertionMethod"] == ids
    for fragment, public_key, _ in keys:
        (method,) = [m for m in document["verificationMethod"] if m["id"] == f"{ISSUER}#{fragment}"]
        assert method == {
            "id": f"{ISSUER}#{fragment}",
            "type": "Multikey",
            "controller": ISSUER,
            "publicKeyMultibase": did.multikey_from_public_key(public_key),
        }


def test_rotated_keys_are_not_revoked_or_expired(rotated):
    """Verifiers reject a method with `revoked` (whatever its date) or a past `expires`; a rotated
    key is neither, so it is marked only by losing authentication / capabilityInvocation."""
    _, document = rotated
    assert not any({"revoked", "expires"} & set(method) for method in document["verificationMethod"])
    assert document["authentication"] == [f"{ISSUER}#key-3"]
    assert document["capabilityInvocation"] == [f"{ISSUER}#key-3"]


def test_did_web_document_uses_only_defined_terms(rotated):
    _, document = rotated
    assert jsonld.undefined_terms(document) == []
    assert "https://w3id.org/security#publicKeyMultibase" in jsonld.canonize(document)


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [("key-1", VECTOR_PUBLIC, False)],
        [("key-1", VECTOR_PUBLIC, True), ("key-2", VECTOR_PUBLIC, True)],
        [("key-1", VECTOR_PUBLIC, True), ("key-1", VECTOR_PUBLIC, False)],
        [("key#1", VECTOR_PUBLIC, True)],
        [("", VECTOR_PUBLIC, True)],
    ],
)
def test_did_web_document_rejects_bad_key_lists(keys):
    with pytest.raises(ValueError):
        did.did_web_document(ISSUER, keys)


# --- resolution ------------------------------------------------------------------------------


def test_resolve_did_key():
    method = did.did_key_verification_method(VECTOR_PUBLIC)
    assert did.resolve_verification_method(method) == VECTOR_PUBLIC


@pytest.mark.parametrize(
    "method",
    [
        f"did:key:{VECTOR_MULTIKEY}",  # no fragment
        f"did:key:{VECTOR_MULTIKEY}#key-1",  # a did:key has one method, named after the key
        "did:key:zNotAKey#zNotAKey",
        "https://example.edu/issuers/565049#key-1",
        "did:example:123#key-1",
        None,
    ],
)
def test_resolve_rejects(method):
    with pytest.raises(LookupError):
        did.resolve_verification_method(method)


def test_resolve_did_web_current_and_rotated(rotated):
    keys, document = rotated
    for fragment, public_key, _ in keys:
        assert did.resolve_verification_method(f"{ISSUER}#{fragment}", {ISSUER: document}) == public_key


def test_resolve_did_web_never_fetches(rotated):
    with pytest.raises(LookupError, match="no DID document"):
        did.resolve_verification_method(f"{ISSUER}#key-3")
    with pytest.raises(LookupError, match="not in the DID document"):
        did.resolve_verification_method(f"{ISSUER}#key-9", {ISSUER: rotated[1]})


def test_resolve_did_web_requires_assertion_method(rotated):
    _, document = rotated
    document["assertionMethod"] = [f"{ISSUER}#key-3"]
    with pytest.raises(LookupError, match="not authorised"):
        did.resolve_verification_method(f"{ISSUER}#key-1", {ISSUER: document})


def test_resolve_did_web_accepts_relative_references(rotated):
    _, document = rotated
    document["assertionMethod"] = ["#key-1"]
    document["verificationMethod"][1]["id"] = "#key-1"
    assert did.resolve_verification_method(f"{ISSUER}#key-1", {ISSUER: document})


def test_resolve_did_web_refuses_revoked_methods(rotated):
    _, document = rotated
    document["verificationMethod"][1]["revoked"] = "2026-01-01T00:00:00Z"
    with pytest.raises(LookupError, match="revoked"):
        did.resolve_verification_method(document["verificationMethod"][1]["id"], {ISSUER: document})


def test_resolve_did_web_checks_document_identity(rotated):
    _, document = rotated
    with pytest.raises(LookupError):
        did.resolve_verification_method("did:web:other.example#key-3", {"did:web:other.example": document})


# --- the bundled DID context -----------------------------------------------------------------


def test_did_v1_context_is_the_w3c_one():
    context = jsonld.document_loader("https://www.w3.org/ns/did/v1")["document"]["@context"]
    assert context["@protected"] is True
    assert context["assertionMethod"] == {
        "@id": "https://w3id.org/security#assertionMethod",
        "@type": "@id",
        "@container": "@set",
    }
    assert context["verificationMethod"] == {"@id": "https://w3id.org/security#verificationMethod", "@type": "@id"}
    assert set(context) == {
        "@protected", "id", "type", "alsoKnownAs", "assertionMethod", "authentication",
        "capabilityDelegation", "capabilityInvocation", "controller", "keyAgreement", "service",
        "verificationMethod",
    }  # fmt: skip


def test_every_bundled_context_has_its_source_recorded():
    sources = (jsonld.CONTEXTS_DIR / "SOURCES.md").read_text()
    bundled = sorted(p.name for p in jsonld.CONTEXTS_DIR.iterdir() if p.suffix in (".json", ".jsonld"))
    assert set(jsonld.BUNDLED_CONTEXTS.values()) <= set(bundled) | {jsonld.MICROCRED_CONTEXT_FILE}
    for name in set(bundled) | set(jsonld.BUNDLED_CONTEXTS.values()) | {jsonld.MICROCRED_CONTEXT_FILE}:
        assert f"`{name}`" in sources, name
    for url in jsonld.BUNDLED_CONTEXTS:
        assert f"`{url}`" in sources, url
