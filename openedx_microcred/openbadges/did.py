"""
Ed25519 public keys as Multikey, ``did:key`` and ``did:web`` identifiers, and the DID documents
the issuer publishes -- all offline.

Encodings (checked against 1EdTech's OB 3.0 test vector):

* Multikey ``publicKeyMultibase``: ``z`` (multibase base58btc) + base58btc(``0xed 0x01`` (the
  multicodec varint of ed25519-pub) + the 32 raw key bytes), so it always starts ``z6Mk``.
* ``did:key:<multikey>``, with the verification method ``did:key:<multikey>#<multikey>``.
* ``did:web:<host>[%3A<port>][:<path segment>...]``, whose document lives at
  ``https://<host>[:<port>]/.well-known/did.json`` or ``https://<host>[:<port>]/<path>/did.json``.

Key rotation with did:web. A credential names the verification method that signed it, and a
verifier resolves it from the issuer's *current* DID document, so a rotated key must stay in that
document -- both in ``verificationMethod`` and in ``assertionMethod`` (verifiers check that the
method is authorised for the proof purpose) -- or everything it signed stops verifying.

It must not be marked with the Multikey ``revoked`` or ``expires`` properties. Per the
Controlled Identifiers spec (which defines Multikey) systems are expected "to not verify any
proofs associated with the verification method at or after" those times, and verifiers compare
them with the *verification* time, not with when the proof was made, or ignore the date
altogether: Digital Bazaar's ``crypto-ld`` (``LDKeyPair.fromKeyDocument``) and
``jsonld-signatures`` (``LinkedDataSignature``), and the suites derived from them, reject a
method that has a ``revoked`` property at all, whatever its date; other suites reject a method
whose ``expires`` is past. (``@digitalbazaar/data-integrity`` 2.5, which verifies
``eddsa-rdfc-2022``, checks neither -- other verifiers do.) A rotated key is not compromised and
its past signatures are good, so :func:`did_web_document` marks the difference with verification
relationships instead, which every verifier reads the standard way:

* every key: in ``verificationMethod`` and ``assertionMethod`` (old credentials keep verifying);
* the current key only: in ``authentication`` and ``capabilityInvocation`` (only it acts for the
  issuer now), and it comes first in ``verificationMethod`` and ``assertionMethod``.

Which key signs *new* credentials is decided by the issuer's own records (``keys.signing_key``),
not read back from the document. If a key is ever compromised, remove it from the document (or
revoke it properly) -- that is a different operation from rotation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .jsonld import DID_V1, MULTIKEY_V1

__all__ = [
    "DID_CONTEXTS",
    "did_key",
    "did_key_document",
    "did_key_verification_method",
    "did_web",
    "did_web_document",
    "did_web_document_url",
    "multikey_from_public_key",
    "public_key_from_multikey",
    "resolve_verification_method",
]

#: multicodec ``ed25519-pub`` (0xed) as an unsigned varint.
ED25519_PUB_MULTICODEC = b"\xed\x01"
#: multibase prefix of base58btc.
BASE58BTC_PREFIX = "z"
#: The contexts of every DID document made here.
DID_CONTEXTS = [DID_V1, MULTIKEY_V1]

_ED25519_KEY_LENGTH = 32


def _raw(public_key: Ed25519PublicKey) -> bytes:
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError(f"expected an Ed25519PublicKey, got {type(public_key).__name__}")
    return public_key.public_bytes_raw()


def multikey_from_public_key(public_key: Ed25519PublicKey) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 public key (``z6Mk...``)."""
    return BASE58BTC_PREFIX + base58.b58encode(ED25519_PUB_MULTICODEC + _raw(public_key)).decode("ascii")


def public_key_from_multikey(multikey: str) -> Ed25519PublicKey:
    """The Ed25519 public key in a Multikey ``publicKeyMultibase``; ValueError if it is not one."""
    if not isinstance(multikey, str) or not multikey.startswith(BASE58BTC_PREFIX):
        raise ValueError("a Multikey value must be multibase base58btc (start with 'z')")
    try:
        decoded = base58.b58decode(multikey[1:])
    except ValueError as exc:
        raise ValueError(f"not base58btc: {exc}") from exc
    if not decoded.startswith(ED25519_PUB_MULTICODEC):
        raise ValueError("not an Ed25519 public key (multicodec header is not 0xed 0x01)")
    raw = decoded[len(ED25519_PUB_MULTICODEC):]
    if len(raw) != _ED25519_KEY_LENGTH:
        raise ValueError(f"an Ed25519 public key has {_ED25519_KEY_LENGTH} bytes, this one {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


# --- did:key -----------------------------------------------------------------------------


def did_key(public_key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk...`` for an Ed25519 public key."""
    return "did:key:" + multikey_from_public_key(public_key)


def did_key_verification_method(public_key: Ed25519PublicKey) -> str:
    """The verification method id of a did:key: ``did:key:z6Mk...#z6Mk...``."""
    multikey = multikey_from_public_key(public_key)
    return f"did:key:{multikey}#{multikey}"


def _did_key_multikey(did: str) -> str:
    """The multikey of a did:key (validated as an Ed25519 public key)."""
    if not did.startswith("did:key:"):
        raise ValueError(f"not a did:key: {did!r}")
    multikey = did[len("did:key:"):]
    public_key_from_multikey(multikey)  # validates
    return multikey


def did_key_document(did: str) -> dict:
    """
    The DID document a did:key (Ed25519) resolves to, with a Multikey verification method
    usable for authentication, assertions and capabilities. (No ``keyAgreement``: deriving an
    X25519 key from the Ed25519 one is not needed to verify credentials.)
    """
    multikey = _did_key_multikey(did)
    method_id = f"{did}#{multikey}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityDelegation": [method_id],
        "capabilityInvocation": [method_id],
    }


# --- did:web -----------------------------------------------------------------------------


def _did_web_segment(segment: str) -> str:
    """A path segment as DID method-specific-id characters (ALPHA DIGIT . - _ and %XX)."""
    if not segment:
        raise ValueError("did:web path segments cannot be empty")
    return quote(segment, safe="").replace("~", "%7E")


def did_web(host: str, path_segments: Iterable[str] = ()) -> str:
    """
    The did:web for a host (optionally ``host:port``) and optional path:
    ``did_web("example.com:8443", ["microcred"])`` -> ``did:web:example.com%3A8443:microcred``.
    The port's colon is percent-encoded, as the did:web spec requires (``:`` separates path
    segments).
    """
    if not host or any(c in host for c in "/?#@ ") or host.count(":") > 1:
        raise ValueError(f"not a host name (with optional port): {host!r}")
    name, _, port = host.partition(":")
    if not name or (":" in host and not port.isdigit()):
        raise ValueError(f"not a host name (with optional port): {host!r}")
    method_id = name.lower() + (f"%3A{port}" if port else "")
    return ":".join(["did:web", method_id, *(_did_web_segment(s) for s in path_segments)])


def _split_did_web(did: str) -> tuple[str, list[str]]:
    """The host and path segments of a did:web, percent-decoded."""
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise ValueError(f"not a did:web: {did!r}")
    if any(c in did for c in "/?#"):
        raise ValueError(f"a did:web has no path, query or fragment: {did!r}")
    host, *segments = did[len("did:web:"):].split(":")
    host = unquote(host)  # the port's %3A
    if not host or any(not s for s in segments):
        raise ValueError(f"malformed did:web: {did!r}")
    return host, segments


def did_web_document_url(did: str) -> str:
    """
    Where a did:web's DID document is served (did:web spec, "Read"):
    ``did:web:example.com`` -> ``https://example.com/.well-known/did.json``;
    ``did:web:example.com%3A3000:user:alice`` -> ``https://example.com:3000/user/alice/did.json``.
    """
    host, segments = _split_did_web(did)
    path = "/".join(segments) if segments else ".well-known"
    return f"https://{host}/{path}/did.json"


def did_web_document(did: str, keys: Iterable[tuple[str, Ed25519PublicKey, bool]]) -> dict:
    """
    The DID document to publish for a did:web issuer.

    ``keys`` is ``(key id fragment, public key, current)`` for every key that ever signed, exactly
    one of them current. All stay verification methods authorised for assertions, so what they
    signed keeps verifying; only the current one is authorised for authentication and capability
    invocation and is listed first. Rotated keys get neither ``revoked`` nor ``expires``: see the
    module docstring for why.
    """
    _split_did_web(did)
    keys = list(keys)
    current = [fragment for fragment, _, is_current in keys if is_current]
    if len(current) != 1:
        raise ValueError(f"exactly one key must be current, got {len(current)}")
    fragments = [fragment for fragment, _, _ in keys]
    if len(set(fragments)) != len(fragments):
        raise ValueError("key id fragments must be unique")
    if any(not f or any(c in f for c in "#/?: ") for f in fragments):
        raise ValueError("a key id fragment must be a non-empty fragment without '#', '/', '?', ':' or spaces")

    ordered = sorted(keys, key=lambda key: not key[2])  # current first, the rest in given order
    methods = [
        {
            "id": f"{did}#{fragment}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey_from_public_key(public_key),
        }
        for fragment, public_key, _ in ordered
    ]
    current_id = f"{did}#{current[0]}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
        "authentication": [current_id],
        "capabilityInvocation": [current_id],
    }


# --- resolution ----------------------------------------------------------------------------


def _method_ids(document: Mapping, relationship: str, did: str) -> set[str]:
    """The ids of the verification methods ``document`` lists under ``relationship``, made absolute."""
    ids = set()
    for entry in document.get(relationship) or ():
        ref = entry.get("id") if isinstance(entry, Mapping) else entry
        if isinstance(ref, str):
            ids.add(did + ref if ref.startswith("#") else ref)
    return ids


def _find_method(document: Mapping, method_id: str, did: str) -> Mapping | None:
    """The verification method ``method_id`` of ``document``, listed or embedded, or None."""
    candidates = list(document.get("verificationMethod") or ())
    # methods may also be embedded in a relationship
    for relationship in ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"):
        candidates += [entry for entry in document.get(relationship) or () if isinstance(entry, Mapping)]
    for method in candidates:
        ref = method.get("id", "")
        if (did + ref if ref.startswith("#") else ref) == method_id:
            return method
    return None


def resolve_verification_method(
    verification_method: str,
    did_documents: Mapping[str, Mapping] | None = None,
    purpose: str = "assertionMethod",
) -> Ed25519PublicKey:
    """
    The Ed25519 public key of a verification method, without the network.

    * ``did:key:z...#z...`` resolves from the identifier itself.
    * ``did:web:...#fragment`` is looked up in ``did_documents`` (DID -> DID document), e.g. the
      issuer's own document built with :func:`did_web_document`. The method must be a Multikey
      controlled by that DID, authorised for ``purpose`` and not ``revoked``.

    Raises LookupError (with the reason) for anything it cannot resolve.
    """
    method_id = verification_method
    if not isinstance(method_id, str) or "#" not in method_id:
        raise LookupError(f"not a DID verification method id: {method_id!r}")
    did, fragment = method_id.split("#", 1)
    if did.startswith("did:key:"):
        try:
            multikey = _did_key_multikey(did)
        except ValueError as exc:
            raise LookupError(f"malformed did:key {did!r}: {exc}") from exc
        if fragment != multikey:
            raise LookupError(f"a did:key has one verification method, #{multikey}; not #{fragment}")
        return public_key_from_multikey(multikey)
    if did.startswith("did:web:"):
        document = (did_documents or {}).get(did)
        if document is None:
            raise LookupError(f"no DID document for {did}")
        if document.get("id") != did:
            raise LookupError(f"the DID document given for {did} is about {document.get('id')!r}")
        method = _find_method(document, method_id, did)
        if method is None:
            raise LookupError(f"{method_id} is not in the DID document of {did}")
        if method_id not in _method_ids(document, purpose, did):
            raise LookupError(f"{method_id} is not authorised for {purpose}")
        if method.get("type") != "Multikey" or method.get("controller") != did:
            raise LookupError(f"{method_id} is not a Multikey controlled by {did}")
        if "revoked" in method:
            raise LookupError(f"{method_id} has been revoked")
        try:
            return public_key_from_multikey(method.get("publicKeyMultibase"))
        except ValueError as exc:
            raise LookupError(f"{method_id} has no usable Ed25519 publicKeyMultibase: {exc}") from exc
    raise LookupError(f"unsupported DID method in {method_id!r} (only did:key and did:web)")
