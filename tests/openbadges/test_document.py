"""
The Open Badges 3.0 document: schema-valid, fully defined by its contexts, privacy-preserving.

The schema is 1EdTech's JSON schema for AchievementCredential (copied into tests/data so these
tests stand alone); the JSON-LD checks run offline over the contexts bundled in the package.
"""

import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pyld import jsonld as pyld_jsonld

from openedx_microcred.openbadges import document as ob

from .samples import (
    AWARD_EVIDENCE,
    CHILDREN,
    DUMMY_PROOF,
    EMAIL,
    ISSUED_AT,
    ISSUER_DID,
    LMS,
    MICRO_ID,
    PY101,
    PY102,
    SALT,
    SCHEMA,
    STACK_ID,
    STACK_PAGE,
    achievement_url,
    issued,
    micro_achievement,
    schema_errors,
    stack_achievement,
    stack_issued,
    with_proof,
)

try:  # the package's offline loader, canonicalization and safe-mode check
    from openedx_microcred.openbadges import jsonld as ob_jsonld
except ImportError:  # pragma: no cover - only while jsonld.py does not exist yet
    ob_jsonld = None

CONTEXTS = Path(ob.__file__).resolve().parent / "contexts"


@pytest.fixture(params=["microcredential", "stack"])
def document(request):
    """Each sample document: the microcredential's and the stack's."""
    return ob.build_credential(issued() if request.param == "microcredential" else stack_issued())


# --- JSON schema --------------------------------------------------------------------------------


def test_documents_validate_against_the_official_schema(document):
    assert schema_errors(with_proof(document)) == []
    assert schema_errors(document) == []  # proof is optional in the schema; ours is added by proof.py


def test_the_schema_really_checks_what_we_rely_on(document):
    bare_proof = copy.deepcopy(document)
    bare_proof["proof"] = copy.deepcopy(DUMMY_PROOF[0])
    assert any(error.startswith("proof:") for error in schema_errors(bare_proof))

    missing = with_proof(document)
    del missing["validFrom"]
    del missing["credentialSubject"]["achievement"]["criteria"]
    errors = schema_errors(missing)
    assert any("'validFrom' is a required property" in e for e in errors)
    assert any("'criteria' is a required property" in e for e in errors)

    bad_date = with_proof(document)
    bad_date["validFrom"] = "2026-03-14 09:26:53"
    assert schema_errors(bad_date)


def test_required_fields_of_the_schema_are_present(document):
    defs = SCHEMA["$defs"]
    assert set(SCHEMA["required"]) <= set(document)
    subject = document["credentialSubject"]
    assert set(defs["AchievementSubject"]["required"]) <= set(subject)
    assert set(defs["Achievement"]["required"]) <= set(subject["achievement"])
    assert set(defs["Profile"]["required"]) <= set(document["issuer"])
    for identity in subject["identifier"]:
        assert set(defs["IdentityObject"]["required"]) <= set(identity)
    for alignment in subject["achievement"].get("alignment", []):
        assert set(defs["Alignment"]["required"]) <= set(alignment)
    for description in subject["achievement"].get("resultDescription", []):
        assert set(defs["ResultDescription"]["required"]) <= set(description)
    for evidence in document.get("evidence", []):
        assert set(defs["Evidence"]["required"]) <= set(evidence)
    # "Either id or at least one identifier MUST be supplied."
    assert subject.get("id") or subject["identifier"]


def test_document_shape(document):
    assert document["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        f"{LMS}/microcred/contexts/microcredential-v1.jsonld",
    ]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"{LMS}/microcred/credentials/3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b/"
    assert document["issuer"]["id"] == ISSUER_DID
    assert document["issuer"]["address"]["addressCountryCode"] == "NL"
    assert document["validFrom"] == "2026-03-14T09:26:53Z"
    assert document["validUntil"] == "2029-03-13T09:26:53Z"
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["type"] == ["Achievement", "MicrocredentialAchievement"]
    assert achievement["achievementType"] == "MicroCredential"
    assert "proof" not in document
    json.dumps(document)  # plain JSON: no Decimals or datetimes


def test_eu_elements_are_where_the_docs_say():
    document = ob.build_credential(issued())
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["creditsAvailable"] == 3.0
    assert document["credentialSubject"]["creditsEarned"] == 3.0
    assert achievement["workloadHours"] == achievement["timeInvestment"] == 84
    assert achievement["volumeOfLearning"] == "PT84H"
    # Each controlled choice as the ELM concept, and as the Edubadges term where one exists.
    assert achievement["assessmentMethod"] == {
        "id": "http://data.europa.eu/snb/assessment/6e6cb2cc78", "type": "Concept",
        "prefLabel": "written examination", "inScheme": "http://data.europa.eu/snb/assessment/25831c2"}
    assert achievement["assessmentType"] == "testing"
    assert achievement["learningMode"]["id"] == "http://data.europa.eu/snb/learning-assessment/920fbb3cbe"
    assert achievement["learningMode"]["prefLabel"] == "Online"
    assert achievement["participationType"] == "online"
    assert achievement["supervisionMethod"]["prefLabel"] == "Onsite with ID verification"
    assert achievement["supervisionType"] == "onsite with identity verification"
    assert achievement["identityChecked"] is True
    for legacy in ("participationForm", "qualityAssurance", "identityVerified"):
        assert legacy not in achievement  # free-text terms of signed credentials, no longer written
    assert document["issuer"]["address"] == {
        "type": ["Address"], "addressCountry": "Netherlands", "addressCountryCode": "NL", "addressRegion": "Utrecht",
        "addressLocality": "Utrecht", "streetAddress": "Heidelberglaan 15", "postalCode": "3584 CS"}
    assert document["issuer"]["otherIdentifier"] == [
        {"type": "IdentifierEntry", "identifier": "30GB", "identifierType": "ext:BRIN"}]
    assert achievement["prerequisites"] == "Basic programming in any language."
    assert achievement["inLanguage"] == "en"
    assert achievement["fieldOfStudy"] == "Information and Communication Technologies"
    by_type = {}
    for alignment in achievement["alignment"]:
        by_type.setdefault(alignment["targetType"], []).append(alignment)
    assert [a["targetName"] for a in by_type["ext:LearningOutcome"]] == list(micro_achievement().learning_outcomes)
    assert by_type["ext:LearningOutcome"][0]["targetUrl"] == f"{MICRO_ID}#learning-outcome-1"
    assert by_type["ext:EQFLevel"] == [{
        "type": ["Alignment"], "targetName": "EQF level 5", "targetUrl": "http://data.europa.eu/snb/eqf/5",
        "targetType": "ext:EQFLevel", "targetFramework": "European Qualifications Framework", "targetCode": "5",
    }]
    assert by_type["ext:ESCOSkill"][0]["targetFramework"] == "ESCO"
    assert by_type["ext:QualityAssurance"] == [{
        "type": ["Alignment"], "targetName": "NVAO institutional accreditation",
        "targetUrl": "https://qa.example-university.eu/decisions/AV-4223", "targetType": "ext:QualityAssurance",
        "targetFramework": "NVAO institutional accreditation", "targetCode": "AV-4223",
        "targetDescription": "Internal quality assurance of the Faculty of ICT (NVAO-accredited institution)",
    }]
    # Without a URL of its own, quality assurance points at its anchor on the achievement's page.
    bare_qa = ob.build_achievement(micro_achievement(quality_assurance_url=None, quality_assurance_framework="",
                                                     quality_assurance_code=""))
    [qa] = [a for a in bare_qa["alignment"] if a["targetType"] == "ext:QualityAssurance"]
    assert qa["targetUrl"] == f"{MICRO_ID}#quality-assurance" and qa["targetName"] == "Quality assurance"
    [description] = achievement["resultDescription"]
    assert description["resultType"] == "Percent"
    assert description["requiredValue"] == "70"
    assert description["id"] == f"{MICRO_ID}#grade-{PY102}"
    assert document["credentialSubject"]["result"] == [
        {"type": ["Result"], "resultDescription": description["id"], "value": "86"}]
    assert ob.missing_eu_elements(issued()) == []


def test_learning_outcomes_anchor_on_the_public_page():
    achievement = ob.build_credential(stack_issued())["credentialSubject"]["achievement"]
    assert achievement["id"] == STACK_ID
    [outcome] = [a for a in achievement["alignment"] if a["targetType"] == "ext:LearningOutcome"]
    assert outcome["targetUrl"] == f"{STACK_PAGE}#learning-outcome-1"
    assert outcome["targetCode"] == "LO1"


def test_grade_results_from_the_award_evidence():
    assert ob.grade_results_from_award(AWARD_EVIDENCE, MICRO_ID) == (
        ob.GradeResult(percent=Decimal("86.00"), result_description=f"{MICRO_ID}#grade-{PY102}"),)
    assert ob.grade_results_from_award([AWARD_EVIDENCE[0]], MICRO_ID) == ()
    # An explicit result with no description named refers to the only one.
    document = ob.build_credential(issued(grade_results=[ob.GradeResult(Decimal("91.256"))]))
    assert document["credentialSubject"]["result"][0]["value"] == "91.26"


def test_missing_eu_elements_are_reported():
    bare = issued(micro_achievement(learning_outcomes=[], workload_hours=None, ects_credits=None,
                                    assessment_type="", participation_form="", quality_assurance="",
                                    quality_assurance_framework="", quality_assurance_code="",
                                    quality_assurance_url=None),
                  issuer=ob.IssuerProfile(id=ISSUER_DID, name="Example", url=LMS))
    assert ob.missing_eu_elements(bare) == [
        "country of the issuer", "learning outcomes", "notional workload", "type of assessment",
        "form of participation", "type of quality assurance",
    ]
    document = ob.build_credential(bare)
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Badge"  # not described the EU way
    assert "address" not in document["issuer"]
    assert schema_errors(with_proof(document)) == []


# --- JSON-LD: every term defined ----------------------------------------------------------------

_SENTINEL = "urn:x-undefined-term:"


def _local_loader(url, options=None):
    """pyld's document loader, offline: the contexts bundled in the package."""
    files = {
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    }
    if ob.is_extension_context_url(url):
        name = "microcredential-v1.jsonld"
    elif url in files:
        name = files[url]
    else:
        raise pyld_jsonld.JsonLdError(f"offline: {url}", "jsonld.LoadDocumentError", code="loading document failed")
    return {"contextUrl": None, "documentUrl": url, "document": json.loads((CONTEXTS / name).read_text())}


def _sentinel_undefined(document):
    """An independent check: with a catch-all @vocab first, an undefined term expands under it."""
    probe = copy.deepcopy(document)
    probe["@context"] = [{"@vocab": _SENTINEL}] + list(probe["@context"])
    expanded = pyld_jsonld.expand(probe, {"documentLoader": _local_loader})
    found = set()

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key.startswith(_SENTINEL):
                    found.add(key[len(_SENTINEL):])
                if key == "@type" and "@value" not in node:
                    found.update(t[len(_SENTINEL):] for t in value if t.startswith(_SENTINEL))
                if key != "@value":
                    walk(value)

    walk(expanded)
    return sorted(found)


def undefined(document):
    if ob_jsonld is not None:
        return ob_jsonld.undefined_terms(document)
    return _sentinel_undefined(document)


def canonize(document):
    if ob_jsonld is not None:
        return ob_jsonld.canonize(document)
    return pyld_jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                            "documentLoader": _local_loader})


def test_every_property_is_defined_by_the_contexts(document):
    assert undefined(with_proof(document)) == []
    assert _sentinel_undefined(document) == []


def test_an_undefined_property_would_be_detected(document):
    top = copy.deepcopy(document)
    top["learnerEmail"] = "x"
    assert _sentinel_undefined(top) == ["learnerEmail"]
    assert undefined(top)

    nested = copy.deepcopy(document)
    nested["credentialSubject"]["achievement"]["ectsCredits"] = 3
    assert _sentinel_undefined(nested) == ["ectsCredits"]
    assert undefined(nested)

    # The extension terms are scoped to the MicrocredentialAchievement type: without it they are
    # undefined, which is what a verifier in safe mode would reject.
    untyped = copy.deepcopy(document)
    untyped["credentialSubject"]["achievement"]["type"] = ["Achievement"]
    assert {"identityChecked", "assessmentMethod", "learningMode"} <= set(_sentinel_undefined(untyped))
    assert undefined(untyped)

    bad_type = copy.deepcopy(document)
    bad_type["credentialSubject"]["type"].append("MicroCredentialSubject")
    assert _sentinel_undefined(bad_type) == ["MicroCredentialSubject"]
    assert undefined(bad_type)


def test_extension_terms_expand_to_our_vocabulary_with_their_types():
    nquads = canonize(ob.build_credential(stack_issued()))
    subject = f"<{STACK_ID}>"
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    assert f"{subject} {rdf_type} <{ob.VOCAB}MicrocredentialAchievement> ." in nquads
    assert f'{subject} <{ob.VOCAB}workloadHours> "168"^^<http://www.w3.org/2001/XMLSchema#integer> .' in nquads
    edubadges = "https://edubadges.nl/static/obv3-glossary.html#"
    assert f'{subject} <{edubadges}identityChecked> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .' in nquads
    assert f'{subject} <{edubadges}timeInvestment> "168"^^<http://www.w3.org/2001/XMLSchema#integer> .' in nquads
    assert f'{subject} <http://data.europa.eu/snb/model/elm/volumeOfLearning> ' \
        '"PT168H"^^<http://www.w3.org/2001/XMLSchema#duration> .' in nquads
    # A controlled choice: the ELM concept by IRI, with its label and scheme (SKOS), and Edubadges' term.
    blended = "<http://data.europa.eu/snb/learning-assessment/e92d221e4d>"
    skos = "http://www.w3.org/2004/02/skos/core#"
    assert f"{subject} <{ob.VOCAB}learningMode> {blended} ." in nquads
    assert f'{blended} <{skos}prefLabel> "Blended"@en .' in nquads
    assert f"{blended} <{skos}inScheme> <http://data.europa.eu/snb/learning-assessment/25831c2> ." in nquads
    assert f"{blended} {rdf_type} <{skos}Concept> ." in nquads
    assert f"{subject} <{edubadges}participationType> <{edubadges}participation-type-onsite-or-blended> ." in nquads
    assert f'{subject} <{ob.VOCAB}stackKind> "horizontal" .' in nquads
    for slug, name in CHILDREN:
        assert f"{subject} <{ob.VOCAB}stackComponent> <{achievement_url(slug)}> ." in nquads
        assert f'<{achievement_url(slug)}> <https://schema.org/name> "{name}" .' in nquads


def test_extension_context_is_protected_json_ld_1_1_under_a_stable_vocabulary():
    context = ob.load_extension_context()["@context"]
    assert context["@version"] == 1.1 and context["@protected"] is True
    scoped = context["MicrocredentialAchievement"]
    assert scoped["@id"] == f"{ob.VOCAB}MicrocredentialAchievement"
    terms = {k: v for k, v in scoped["@context"].items() if not k.startswith("@") and k not in ("id", "type")}
    assert scoped["@context"]["@protected"] is True
    # Our own terms under our vocabulary; Edubadges' terms under Edubadges' glossary IRIs (the same
    # predicates as their credentials) and ELM's volumeOfLearning under the ELM's.
    edubadges = {"timeInvestment", "identityChecked", "participationType", "supervisionType"}
    assert {k: v["@id"] for k, v in terms.items() if k not in edubadges | {"volumeOfLearning"}} == \
        {k: f"{ob.VOCAB}{k}" for k in terms if k not in edubadges | {"volumeOfLearning"}}
    assert {terms[k]["@id"] for k in edubadges} == {f"https://edubadges.nl/static/obv3-glossary.html#{k}"
                                                    for k in edubadges}
    assert terms["volumeOfLearning"]["@id"] == "http://data.europa.eu/snb/model/elm/volumeOfLearning"
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert terms["workloadHours"]["@type"] == terms["timeInvestment"]["@type"] == xsd + "integer"
    assert terms["identityVerified"]["@type"] == terms["identityChecked"]["@type"] == xsd + "boolean"
    assert terms["stackComponent"]["@type"] == terms["stackableInto"]["@type"] == "@id"
    # Nothing the OB 3.0 Achievement already defines is redefined.
    ob_context = json.loads((CONTEXTS / "ob-v3p0-context-3.0.3.json").read_text())["@context"]
    assert not set(terms) & set(ob_context["Achievement"]["@context"])


def test_extension_context_url():
    assert ob.extension_context_url("https://lms.example.com/") == \
        "https://lms.example.com/microcred/contexts/microcredential-v1.jsonld"
    assert ob.is_extension_context_url(ob.extension_context_url("http://localhost:18000"))
    assert not ob.is_extension_context_url("https://lms.example.com/microcred/contexts/other.jsonld")
    with pytest.raises(ValueError):
        ob.build_credential(issued(extension_context="https://example.com/context.json"))


# --- The recipient ------------------------------------------------------------------------------


def test_recipient_is_a_salted_sha256_of_the_email():
    document = ob.build_credential(issued())
    [identity] = document["credentialSubject"]["identifier"]
    expected = hashlib.sha256(("ada.lovelace@example.org" + SALT).encode("utf-8")).hexdigest()
    assert identity == {
        "type": "IdentityObject", "hashed": True, "identityHash": f"sha256${expected}",
        "identityType": "emailAddress", "salt": SALT,
    }
    # The OB 3.0 specification's own example: 'a@example.com' salted with 'Kosher'.
    assert ob.recipient_identity_hash("a@example.com", "Kosher") == \
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    assert ob.recipient_identity_hash("  A@Example.COM ", "Kosher") == \
        ob.recipient_identity_hash("a@example.com", "Kosher")
    assert len(ob.new_salt()) == 32 and ob.new_salt() != ob.new_salt()


def test_the_email_never_appears(document):
    texts = [json.dumps(document), json.dumps(document, ensure_ascii=False), canonize(document)]
    for text in texts:
        assert EMAIL.lower() not in text.lower()
        assert "ada.lovelace" not in text.lower()
    assert EMAIL not in repr(issued().recipient)


def test_no_learner_name_unless_chosen():
    document = ob.build_credential(issued())
    assert [i["identityType"] for i in document["credentialSubject"]["identifier"]] == ["emailAddress"]
    assert "name" not in document["credentialSubject"]

    named = ob.build_credential(issued(recipient=ob.Recipient(EMAIL, SALT, display_name="Ada Lovelace")))
    assert named["credentialSubject"]["identifier"][1] == {
        "type": "IdentityObject", "hashed": False, "identityHash": "Ada Lovelace", "identityType": "name"}
    assert schema_errors(with_proof(named)) == []
    assert undefined(named) == []


# --- Validity -----------------------------------------------------------------------------------


def test_valid_until_is_omitted_without_expiry():
    document = ob.build_credential(issued(valid_until=None))
    assert "validUntil" not in document
    assert schema_errors(with_proof(document)) == []


def test_dates_must_be_aware_and_in_order():
    with pytest.raises(ValueError):
        ob.build_credential(issued(valid_from=datetime(2026, 3, 14, 9, 0)))
    with pytest.raises(ValueError):
        ob.build_credential(issued(valid_until=ISSUED_AT - timedelta(days=1)))
    cet = timezone(timedelta(hours=1))
    assert ob.xml_datetime(datetime(2026, 3, 14, 10, 26, 53, tzinfo=cet)) == "2026-03-14T09:26:53Z"


# --- Stacks -------------------------------------------------------------------------------------


def test_a_stack_lists_the_credentials_it_is_made_of():
    document = ob.build_credential(stack_issued())
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["stackComponent"] == [
        {"id": achievement_url(slug), "name": name} for slug, name in CHILDREN]
    assert achievement["stackKind"] == "horizontal"
    assert "stackableInto" not in achievement
    assert achievement["criteria"]["narrative"] == (
        "All of the following:\n\n"
        "- Earn Python Data Basics\n"
        "- Earn Python Testing"
    )
    assert [e["id"] for e in document["evidence"]] == [
        f"{LMS}/microcred/credentials/3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b/",
        f"{LMS}/microcred/credentials/9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a/",
    ]
    assert "result" not in document["credentialSubject"]


def test_a_component_says_which_stacks_it_counts_towards():
    achievement = ob.build_credential(issued())["credentialSubject"]["achievement"]
    assert achievement["stackableInto"] == [{"id": STACK_ID, "name": "Python Practitioner"}]
    assert "stackComponent" not in achievement


def test_stack_flag_and_children_must_agree():
    with pytest.raises(ValueError):
        ob.build_achievement(stack_achievement(stack_children=[]))
    with pytest.raises(ValueError):
        ob.build_achievement(micro_achievement(stack_children=[(STACK_ID, "x")]))


# --- Inputs are checked -------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [
    {"eqf_level": 9},
    {"in_language": "English"},
    {"achievement_type": "Nanodegree"},
    {"image": "python.png"},
    {"workload_hours": -1},
    {"skills": [ob.AlignmentTarget("Python", "https://example.org/python", type="Skill")]},
])
def test_bad_achievement_input_is_refused(changes):
    with pytest.raises(ValueError):
        ob.build_achievement(micro_achievement(**changes))


def test_bad_issuer_and_result_input_is_refused():
    with pytest.raises(ValueError):
        ob.build_credential(issued(issuer=ob.IssuerProfile(ISSUER_DID, "X", LMS, country_code="nl")))
    with pytest.raises(ValueError):
        ob.build_credential(issued(grade_results=[ob.GradeResult(86, result_description=f"{MICRO_ID}#other")]))
    with pytest.raises(ValueError):
        ob.build_credential(issued(grade_results=[ob.GradeResult(101)]))


# --- Evidence in words --------------------------------------------------------------------------


def test_evidence_in_words():
    document = ob.build_credential(issued())
    assert document["evidence"] == [
        {"type": ["Evidence"], "id": f"{LMS}/courses/{PY101}/about", "name": "Python Foundations",
         "narrative": "Passed course Python Foundations on 2026-03-10 "
                      "(event id 4b7c1f3e-0d1a-4c55-9a1e-2f6f3c0a9b11)."},
        {"type": ["Evidence"], "id": f"{LMS}/courses/{PY102}/about", "name": "Data Wrangling with Python",
         "narrative": "Reached a grade of 86 % in course Data Wrangling with Python on 2026-03-14 "
                      "(event id a0e2d8b4-6f9e-4a43-8d7c-5c2b1e0f7a22)."},
    ]
