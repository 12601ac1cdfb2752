"""
The fast canonicalization (openbadges/canonical.py) gives pyld's canonical N-Quads byte for byte.

Reference: pyld's own ``normalize`` (URDNA2015) with the package's offline loader, untouched —
what every credential was signed with before; 1EdTech's test vector pins it. ``jsonld.canonize``
(pyld with type-scoped contexts processed once) is checked against it too. Each case runs a
credential twice: the first award of a shape goes through pyld and builds the template, the next
award of the same credential (other ids, learner, salt, dates, evidence) goes through the template
and Oxigraph, and the tests check that it really did (the counters of ``cache_info``). Hostile
values, put where the template has a literal or an IRI, must come out exactly as pyld writes
them, whichever path they take.
"""

import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld_jsonld

from openedx_microcred.openbadges import canonical, did, jsonld
from openedx_microcred.openbadges.proof import hash_data, sign, verify_proof

from ..credential_corpus import CORPUS, VECTOR

VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "ob3-test-vector"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def empty_caches():
    canonical.clear_caches()
    yield
    canonical.clear_caches()


def reference(document):
    """pyld, as it is: the bytes every credential was signed over before canonical.py."""
    return pyld_jsonld.normalize(document, jsonld.processing_options(algorithm="URDNA2015",
                                                                     format="application/n-quads"))


def templated():
    return canonical.cache_info()["templated"]


def pyld_hash_data(document, proof_options):
    """What hash_data computed before canonical.py: pyld only."""
    proof_config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    proof_config["@context"] = document["@context"]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return (hashlib.sha256(reference(proof_config).encode()).digest()
            + hashlib.sha256(reference(unsecured).encode()).digest())


# --- the corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_credential_of_the_corpus_canonicalizes_to_pyld_bytes_on_both_paths(name):
    make = CORPUS[name]
    first = make(0)
    assert canonical.canonize(first) == reference(first) == jsonld.canonize(first)
    for n in (1, 2, 37):
        award = make(n)
        before = templated()
        assert canonical.canonize(award) == reference(award) == jsonld.canonize(award), n
        assert templated() == before + 1, "the award did not take the template path"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_signing_the_corpus_hashes_what_pyld_hashes(name):
    key = Ed25519PrivateKey.generate()
    method = did.did_key_verification_method(key.public_key())
    make = CORPUS[name]
    before = templated()
    for n in (0, 1, 2):
        signed = sign(make(n), key, method)
        proof = signed["proof"][0]
        assert hash_data(signed, proof) == pyld_hash_data(signed, proof)
        assert verify_proof(signed, did.resolve_verification_method)
    assert templated() >= before + 4  # awards 1 and 2: document and proof configuration


def test_the_corpus_has_no_undefined_terms_and_the_check_is_kept_per_shape():
    for make in CORPUS.values():
        assert canonical.undefined_terms(make(0)) == jsonld.undefined_terms(make(0)) == []
    document = CORPUS["eu-elements"](3)
    document["credentialSubject"]["achievement"]["notATerm"] = "x"
    assert canonical.undefined_terms(document) == ["credentialSubject.achievement.notATerm"]
    assert canonical.undefined_terms(CORPUS["eu-elements"](4)) == []


def test_1edtech_vector_canonical_forms_byte_for_byte_on_both_paths():
    document_canon = (VECTOR_DIR / "document-canon.nq").read_text()
    proof_canon = (VECTOR_DIR / "proof-canon.nq").read_text()
    proof_config = dict(VECTOR["proof_options"], **{"@context": VECTOR["credential"]["@context"]})
    before = templated()
    for _ in range(2):  # first: pyld and a new template; second: the template
        assert canonical.canonize(copy.deepcopy(VECTOR["credential"])) == document_canon
        assert canonical.canonize(proof_config) == proof_canon
    assert templated() == before + 2


def test_the_vector_tested_is_the_projects_shared_copy():
    """tests/data holds a copy of the project's shared/ob3/test-vector (beside the repository)."""
    candidates = [root / "shared" / "ob3" / "test-vector" for root in (REPO.parent, REPO.parent.parent)]
    shared = next((path for path in candidates if path.is_dir()), None)
    if shared is None:
        pytest.skip("the project's shared/ folder is not beside this checkout")
    for name in ("obv3p0-eddsa-rdfc-2022.json", "document-canon.nq", "proof-canon.nq"):
        assert (shared / name).read_bytes() == (VECTOR_DIR / name).read_bytes(), name


# --- hostile values --------------------------------------------------------------------------

HOSTILE_TEXT = [
    "", " ", "\t", "a\tb", 'quote " inside', "back\\slash", "\\", '\\"', "line\nfeed", "carriage\rreturn",
    "\r\n", "\x00", "\x01", "bell\x07", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\u2028", "\u2029",
    "\ufeff", "\ufffe", "\uffff", "\U0001f600", "\U0010ffff", "e\u0301", "\ud800", "lone \udfff",
    "_:b0", "_:c14n0", '" . <urn:x> <urn:y> "z', "> <urn:p> <urn:o> .\n<urn:s", "x microcred slot 0 .",
    "urn:x-microcred-slot-0.invalid", "@id", "@type", "https://x.example/a b", "https://x.example/<a>",
    "xsd:string", "schema:name", "did:key:z6Mk", "http://www.w3.org/2001/XMLSchema#string",
    "Achievement", "name", "id", "type",
]
# Where the shape has an IRI (subject and object positions) and where it has literals.
IRI_PLACES = [("id",), ("issuer", "id"), ("credentialSubject", "achievement", "id"),
              ("credentialSubject", "achievement", "criteria", "id")]
LITERAL_PLACES = [("credentialSubject", "achievement", "name"), ("credentialSubject", "achievement", "description"),
                  ("issuer", "name")]
HOSTILE_IRI = [
    "https://x.example/a b", "https://x.example/<a>", 'https://x.example/"', "https://x.example/{a}",
    "https://x.example/a\\b", "https://x.example/\u00e9", "https://x.example/%zz", "https://x.example/%41",
    "https://x.example/a#b#c", "https:no-slashes", "urn:uuid:1", "did:key:z6Mk#z6Mk", "_:b0", "_:c14n1",
    "relative/path", "", "#fragment", "xsd:string", "schema:name", "dc:title", "sec:proof", "cred:issuer",
    "mailto:a@b.example", "HTTPS://X.EXAMPLE/", "x:y", "\ttab:x", "https://x.example/\n",
    "https://x.example/\U0001f600", "Achievement", "@id",
]


def _set(document, path, value):
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _compare(document):
    """Our canonical form of ``document`` is pyld's, or both refuse it with the same error code."""
    try:
        expected = reference(document)
    except pyld_jsonld.JsonLdError as exc:
        with pytest.raises(jsonld.JsonLdError) as raised:
            canonical.canonize(document)
        assert raised.value.code == exc.code
        return
    assert canonical.canonize(document) == expected


@pytest.mark.parametrize("path", LITERAL_PLACES + IRI_PLACES)
def test_hostile_values_come_out_as_pyld_writes_them(path):
    make = CORPUS["plain"]
    canonical.canonize(make(0))  # the template exists: every value below meets it first
    before = templated()
    for n, value in enumerate(HOSTILE_TEXT + HOSTILE_IRI, start=1):
        document = make(n)
        _set(document, path, value)
        _compare(document)
    assert templated() > before  # the harmless ones did go through the template
    _compare(make(1000))  # and it still serves ordinary awards


def test_values_pyld_and_oxigraph_write_differently_take_pyld_path():
    make = CORPUS["plain"]
    canonical.canonize(make(0))
    for value in ("\x01", "\x7f", "\ufffe", "\ud800"):
        document = make(1)
        _set(document, ("credentialSubject", "achievement", "name"), value)
        before = canonical.cache_info()
        assert canonical.canonize(document) == reference(document)
        assert canonical.cache_info()["templated"] == before["templated"]


def test_an_iri_slot_refuses_a_value_that_is_a_term_name():
    make = CORPUS["plain"]
    canonical.canonize(make(0))
    document = make(1)
    document["id"] = "https://www.w3.org/ns/credentials/v2"  # an IRI-shaped value, not a term
    _compare(document)
    for term in ("xsd:dateTime", "schema:name"):
        document["id"] = term
        _compare(document)


def test_equal_values_in_several_places_collapse_as_pyld_does():
    make = CORPUS["eu-elements"]
    canonical.canonize(make(0))
    document = make(1)
    document["credentialSubject"]["achievement"]["id"] = document["id"]
    document["issuer"]["id"] = document["id"]
    document["credentialSubject"]["achievement"]["name"] = document["name"]
    _compare(document)


def test_a_vocabulary_term_value_is_a_constant_of_the_template():
    """proofPurpose is a term expanded through @vocab: its value picks the template."""
    proof_config = dict(VECTOR["proof_options"], **{"@context": VECTOR["credential"]["@context"]})
    for purpose in ("assertionMethod", "authentication", "assertionMethod", "capabilityInvocation",
                    "no such purpose", "https://x.example/purpose"):
        config = dict(proof_config, proofPurpose=purpose)
        for created in ("2026-01-01T00:00:00Z", "2026-12-31T23:59:59Z"):
            config["created"] = created
            _compare(config)


def test_registering_a_document_forgets_the_templates():
    document = CORPUS["plain"](0)
    canonical.canonize(document)
    before = templated()
    canonical.canonize(CORPUS["plain"](1))
    assert templated() == before + 1
    jsonld.register_document("https://x.example/unrelated", {"@context": {}})
    try:
        before = canonical.cache_info()["full"]
        canonical.canonize(CORPUS["plain"](2))
        assert canonical.cache_info()["full"] == before + 1
    finally:
        jsonld.unregister_document("https://x.example/unrelated")


def test_shapes_that_cannot_be_templated_still_canonicalize():
    documents = [
        {"@context": {"@vocab": "https://x.example/"}, "@graph": [{"a": "1"}, {"b": "2"}]},
        {"@context": {"@vocab": "https://x.example/", "kind": "@type"}, "kind": "T", "a": "b"},
        {"@context": {"@vocab": "https://x.example/", "j": {"@type": "@json"}}, "j": "v", "a": "b"},
        {"@context": {"@vocab": "https://x.example/", "r": {"@type": "@id"}}, "r": "relative", "a": "b"},
        {"@context": {"ex": "https://x.example/", "r": {"@id": "ex:r", "@type": "@id"}}, "r": "ex:thing"},
        {"@context": {"@vocab": "https://x.example/", "l": {"@language": "de"}}, "l": "Haus"},
        {"@context": {"@vocab": "https://x.example/"}, "n": [1, 1.5, True, None, "s"], "@id": "urn:x:1"},
        {"@context": {"@vocab": "https://x.example/", "@base": "https://b.example/"}, "@id": "rel", "a": "b"},
    ]
    for document in documents:
        for _ in range(2):
            _compare(document)
            _compare(json.loads(json.dumps(document).replace('"b"', '"other"')))


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40), description=st.text(max_size=40),
       iri=st.from_regex(r"\A(https://[a-z.]{1,12}/[A-Za-z0-9%/#?=&._~-]{0,20}"
                         r"|urn:[a-z]{1,5}:[^\s]{0,12}|[a-z]{1,4}:[^ ]{0,10})\Z"))
def test_random_values_come_out_as_pyld_writes_them(name, description, iri):
    make = CORPUS["plain"]
    canonical.canonize(make(0))
    document = make(1)
    document["credentialSubject"]["achievement"]["name"] = name
    document["credentialSubject"]["achievement"]["description"] = description
    document["credentialSubject"]["achievement"]["id"] = iri
    _compare(document)


def test_a_first_award_whose_values_refuse_the_template_does_not_close_it_to_the_next():
    make = CORPUS["plain"]
    first = make(0)
    first["credentialSubject"]["achievement"]["name"] = "control \x01 character"
    assert canonical.canonize(first) == reference(first)
    canonical.canonize(make(1))  # builds the template, checked on this award
    before = templated()
    assert canonical.canonize(make(2)) == reference(make(2))
    assert templated() == before + 1


def test_typed_literals_keep_their_lexical_form_on_both_paths():
    """validFrom is an xsd:dateTime: neither path may normalize what the issuer wrote."""
    make = CORPUS["eu-elements"]
    canonical.canonize(make(0))
    before = templated()
    values = ["2026-01-01T00:00:00.000+00:00", "2026-1-1", "0010", " 2026-01-01T00:00:00Z ", "yesterday",
              "2026-01-01T00:00:00.5000Z", "+002026-01-01T00:00:00Z", "2026-01-01T24:00:00Z"]
    for n, value in enumerate(values, start=1):
        document = make(n)
        document["validFrom"] = value
        _compare(document)
    assert templated() == before + len(values)


@pytest.mark.parametrize("name", ["status-list", "eu-elements"])
def test_verification_takes_the_template_path_too(name):
    """Status lists and the public credential pages verify with proof.verify_proof."""
    key = Ed25519PrivateKey.generate()
    method = did.did_key_verification_method(key.public_key())
    make = CORPUS[name]
    signed = [sign(make(n, issuer=did.did_key(key.public_key())), key, method) for n in range(3)]
    canonical.clear_caches()
    assert verify_proof(signed[0], did.resolve_verification_method)  # builds the templates
    before = templated()
    for credential in signed[1:]:
        assert verify_proof(credential, did.resolve_verification_method)
    assert templated() == before + 4  # document and proof configuration, twice
    tampered = copy.deepcopy(signed[2])
    tampered["validFrom"] = "2027-01-01T00:00:00Z"  # a slot of the template: still checked
    result = verify_proof(tampered, did.resolve_verification_method)
    assert result.reason == "signature does not match"
