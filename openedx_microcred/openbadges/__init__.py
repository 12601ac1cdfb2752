"""
Open Badges 3.0 credentials signed as W3C Verifiable Credentials 2.0: the cryptographic core.

This package holds no Django models and never touches the network, so it can be tested (and
reasoned about) on its own:

* :mod:`.jsonld` -- an offline JSON-LD document loader over the contexts bundled in ``contexts/``,
  RDF canonicalization (RDFC-1.0 / URDNA2015) and a "safe mode" check for terms no context
  defines (outside verifiers reject those; pyld would silently drop them from what is signed).
* :mod:`.did` -- Ed25519 keys as Multikey / ``did:key``, ``did:web`` identifiers and the DID
  documents the issuer publishes (with rotated keys kept verifiable).
* :mod:`.proof` -- Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite: sign, verify.
* :mod:`.status_list` -- Bitstring Status List v1.0 (revocation).

Ed25519 comes from ``cryptography``, base58 from ``base58`` and canonicalization from ``pyld``:
nothing cryptographic is written by hand here.
"""
