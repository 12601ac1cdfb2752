"""
Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC Data Integrity EdDSA
Cryptosuites v1.0), as Open Badges 3.0 credentials carry them.

What is signed (reproduces 1EdTech's known-answer test vector byte for byte)::

    sha256(RDFC-1.0(proof options, with the document's @context))
      || sha256(RDFC-1.0(document without its proof))

signed with Ed25519; ``proofValue`` is ``z`` + base58btc(64-byte signature).

:func:`sign` wraps the proof in an array, because the OB 3.0 JSON schema requires ``proof`` to
be one; :func:`verify_proof` accepts an object or an array of one.

Before checking a signature, :func:`verify_proof` rejects documents that use terms no context
defines, as Digital Bazaar's verifiers (JSON-LD safe mode) do: pyld would drop such a field from
the canonical form, so the signature would say nothing about it, and outside verifiers would
refuse the credential anyway. Call :func:`openbadges.jsonld.undefined_terms` before signing, too.

Canonicalization and the undefined-terms check go through :mod:`openbadges.canonical`, which gives
pyld's exact bytes from a per-shape template and Oxigraph's RDFC-1.0 when it safely can, and
pyld's full path otherwise.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import canonize, undefined_terms
from .jsonld import JsonLdError

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "ProofResult",
    "create_proof",
    "format_datetime",
    "hash_data",
    "sign",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"

_SIGNATURE_LENGTH = 64
# XML Schema dateTime (what `created` is typed as in the data-integrity context)
_XSD_DATETIME = re.compile(
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?"
    r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$"
)


def format_datetime(value: datetime) -> str:
    """An aware datetime as an XML Schema dateTime in UTC, seconds precision: ``2026-01-31T12:00:00Z``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes in credentials must be timezone-aware")
    return value.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _created(created: datetime | str | None) -> str:
    """The proof's ``created`` as an XSD dateTime: now, a given datetime, or a string already in that form."""
    if created is None:
        return format_datetime(datetime.now(timezone.utc))
    if isinstance(created, datetime):
        return format_datetime(created)
    if isinstance(created, str) and _XSD_DATETIME.match(created):
        return created
    raise ValueError(f"created must be a datetime or an XML Schema dateTime string, not {created!r}")


def _copy(node):
    """A deep copy of JSON data (dicts and lists new, strings and numbers shared): 3× deepcopy's speed."""
    if isinstance(node, dict):
        return {key: _copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copy(value) for value in node]
    if node is None or isinstance(node, (str, int, float)):
        return node
    return copy.deepcopy(node)


def _without_proof(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "proof"}


def hash_data(document: dict, proof_options: dict) -> bytes:
    """
    The 64 bytes an eddsa-rdfc-2022 signature covers: the SHA-256 of the canonical proof
    configuration (``proof_options`` without ``proofValue``, under the document's ``@context``)
    followed by the SHA-256 of the canonical document without its ``proof``.
    """
    proof_config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    if "@context" in document:
        proof_config["@context"] = document["@context"]
    else:
        proof_config.pop("@context", None)
    proof_hash = hashlib.sha256(canonize(proof_config).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonize(_without_proof(document)).encode("utf-8")).digest()
    return proof_hash + document_hash


def create_proof(
    document: dict,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str | None = None,
    proof_purpose: str = "assertionMethod",
) -> dict:
    """
    A ``DataIntegrityProof`` (``eddsa-rdfc-2022``) over ``document`` (any ``proof`` it already
    has is left out of what is signed). ``created`` defaults to now; a datetime is written in
    UTC without microseconds.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError(f"expected an Ed25519PrivateKey, got {type(private_key).__name__}")
    if not verification_method or not isinstance(verification_method, str):
        raise ValueError("a verification method id is required")
    proof = {
        "type": PROOF_TYPE,
        "created": _created(created),
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": proof_purpose,
    }
    signature = private_key.sign(hash_data(document, proof))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return proof


def sign(
    document: dict,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str | None = None,
    *,
    check_terms: bool = True,
) -> dict:
    """
    A signed copy of ``document``: the same fields plus ``"proof": [proof]`` (an array, as the
    OB 3.0 schema wants). The input is not modified. A document that already has a proof is an
    error: proof sets and chains are not supported.

    With ``check_terms`` (the default) a document using terms that no context defines is refused
    (ValueError naming them): the signature would not cover them and outside verifiers would
    reject the credential.
    """
    if "proof" in document:
        raise ValueError("the document already has a proof")
    if check_terms:
        undefined = undefined_terms(document)
        if undefined:
            raise ValueError("terms no JSON-LD context defines (add them to a context): " + ", ".join(undefined))
    signed = _copy(document)
    signed["proof"] = [create_proof(document, private_key, verification_method, created)]
    return signed


@dataclass(frozen=True)
class ProofResult:
    """The outcome of :func:`verify_proof`; truthy only when the proof is valid."""

    valid: bool
    #: why it is not valid, one of a few fixed phrases (see :func:`verify_proof`)
    reason: str | None = None
    verification_method: str | None = None
    #: more about the failure when there is more to say (the resolver's or pyld's message)
    detail: str | None = None

    def __bool__(self) -> bool:
        return self.valid


def _decode_proof_value(proof_value) -> bytes | None:
    """The signature bytes of a multibase (base58btc, ``z``) proofValue, or None if it is not one."""
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        return None
    try:
        signature = base58.b58decode(proof_value[1:])
    except ValueError:
        return None
    return signature if len(signature) == _SIGNATURE_LENGTH else None


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def verify_proof(
    document: dict,
    resolve: Callable[[str], Ed25519PublicKey],
    proof_purpose: str = "assertionMethod",
) -> ProofResult:
    """
    Check the ``eddsa-rdfc-2022`` proof of ``document``.

    ``resolve`` maps a verification method id to its Ed25519 public key and raises LookupError
    when it does not know it (e.g. ``lambda vm: did.resolve_verification_method(vm, docs)``).
    ``proof`` may be an object or an array holding one. Reasons for failure: ``no proof``,
    ``expected exactly one proof``, ``malformed proof``, ``unsupported cryptosuite``,
    ``unexpected proof purpose``, ``malformed proof value``, ``proof @context does not match the
    document``, ``undefined terms: <paths>``, ``JSON-LD processing failed``, ``unknown verification
    method``, ``signature does not match`` (``detail`` adds the resolver's or pyld's message).

    This checks the signature only: validity dates and credential status are the caller's.
    """
    if not isinstance(document, dict) or "proof" not in document:
        return ProofResult(False, "no proof")
    proofs = _as_list(document["proof"])
    if len(proofs) != 1:
        return ProofResult(False, "expected exactly one proof")
    proof = proofs[0]
    if not isinstance(proof, dict):
        return ProofResult(False, "malformed proof")
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) and method else None

    def fail(reason, detail=None):
        return ProofResult(False, reason, method, detail)

    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return fail("unsupported cryptosuite")
    if proof.get("proofPurpose") != proof_purpose:
        return fail("unexpected proof purpose")
    if method is None:
        return fail("malformed proof")
    if "created" in proof and not (isinstance(proof["created"], str) and _XSD_DATETIME.match(proof["created"])):
        return fail("malformed proof")
    signature = _decode_proof_value(proof.get("proofValue"))
    if signature is None:
        return fail("malformed proof value")

    unsecured = _without_proof(document)
    proof_options = {key: value for key, value in proof.items() if key != "@context"}
    if "@context" in proof:
        # A proof may carry its own @context; the document's must start with it (VC DI, verify).
        proof_context = _as_list(proof["@context"])
        if _as_list(document.get("@context", []))[: len(proof_context)] != proof_context:
            return fail("proof @context does not match the document")
        unsecured["@context"] = proof["@context"]

    try:
        undefined = undefined_terms(document)
    except JsonLdError as exc:
        return fail("JSON-LD processing failed", exc.args[0] if exc.args else str(exc))
    if undefined:
        return fail("undefined terms: " + ", ".join(undefined))

    try:
        public_key = resolve(method)
    except LookupError as exc:
        return fail("unknown verification method", str(exc) or None)
    try:
        data = hash_data(unsecured, proof_options)
    except JsonLdError as exc:
        return fail("JSON-LD processing failed", exc.args[0] if exc.args else str(exc))
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return fail("signature does not match")
    return ProofResult(True, None, method)
