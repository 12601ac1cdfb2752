"""
Revocation through W3C Bitstring Status List v1.0.

Each credential gets an index into a published list credential; bit ``i`` set means credential
``i`` is revoked. The list is a bitstring of at least 131,072 bits (16 KiB, the spec's minimum,
so that one credential's status check does not single it out), gzip-compressed, base64url
without padding, with the multibase prefix ``u``. Bit 0 is the most significant bit of the
first byte (checked against Digital Bazaar's ``@digitalbazaar/vc-bitstring-status-list``).

A mostly-empty list compresses to a few dozen bytes, so publishing one list for many
credentials is cheap.

Note for checkers: a revoked credential still has a valid proof. Whoever checks it must read the
status list (and verify the list credential's own proof) to learn that it is revoked.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Iterable
from datetime import datetime

from .jsonld import CREDENTIALS_V2
from .proof import format_datetime

__all__ = [
    "DEFAULT_SIZE",
    "decode",
    "encode",
    "is_set",
    "status_entry",
    "status_list_credential",
]

#: The spec's minimum bitstring length: 131,072 bits (16 KiB).
DEFAULT_SIZE = 131072
#: Refuse to inflate a received list beyond this (a gzip bomb would otherwise exhaust memory).
MAX_DECODED_BYTES = 16 * 1024 * 1024
MULTIBASE_BASE64URL = "u"


def encode(set_indexes: Iterable[int], size: int = DEFAULT_SIZE) -> str:
    """
    The ``encodedList`` of a bitstring of ``size`` bits with the bits at ``set_indexes`` set.
    ``size`` must be a multiple of 8 and at least :data:`DEFAULT_SIZE`. The gzip header carries no
    timestamp, so the same set always encodes to the same string.
    """
    if size < DEFAULT_SIZE or size % 8:
        raise ValueError(f"a status list has a multiple of 8 bits, at least {DEFAULT_SIZE}; not {size}")
    bits = bytearray(size // 8)
    for index in set_indexes:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise ValueError(f"status list index {index!r} is outside 0..{size - 1}")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring (as bytes) of an ``encodedList``; ValueError if it is not one."""
    if not isinstance(encoded, str) or not encoded.startswith(MULTIBASE_BASE64URL):
        raise ValueError("an encodedList is multibase base64url: it starts with 'u'")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"encodedList is not base64url: {exc}") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container
    try:
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise ValueError(f"encodedList is not gzip data: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ValueError(f"encodedList inflates to more than {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise ValueError("encodedList is truncated gzip data")
    return bits


def is_set(encoded: str, index: int) -> bool:
    """Whether bit ``index`` of an ``encodedList`` is set (IndexError if the list is shorter)."""
    bits = decode(encoded)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bits) * 8:
        raise IndexError(f"status list index {index!r} is outside 0..{len(bits) * 8 - 1}")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_entry(list_credential_url: str, index: int, purpose: str = "revocation") -> dict:
    """
    The ``credentialStatus`` of a credential at ``index`` in the list published at
    ``list_credential_url``. ``statusListIndex`` is a string, as the spec requires.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"a status list index is a non-negative integer, not {index!r}")
    return {
        "id": f"{list_credential_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }


def status_list_credential(
    url: str,
    issuer: str | dict,
    encoded: str,
    valid_from: datetime | str,
    purpose: str = "revocation",
) -> dict:
    """
    The unsigned ``BitstringStatusListCredential`` published at ``url`` (sign it with
    :func:`openbadges.proof.sign`, with the same issuer key as the credentials it covers).
    """
    decode(encoded)  # never publish something that is not a status list
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from) if isinstance(valid_from, datetime) else valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }
