"""Bitstring Status List v1.0: encoding, bit order, entries and the list credential."""

import base64
import gzip
import re
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from openedx_microcred.openbadges import did, jsonld, status_list
from openedx_microcred.openbadges.proof import sign, verify_proof

LIST_URL = "https://lms.example.edu/microcred/status/1"


def test_default_size_is_the_spec_minimum():
    assert status_list.DEFAULT_SIZE == 131072 == 16 * 1024 * 8


def test_set_bits_round_trip():
    encoded = status_list.encode([0, 7, 8, 131071])
    for index in (0, 7, 8, 131071):
        assert status_list.is_set(encoded, index)
    for index in (1, 6, 9, 15, 16, 65536, 131070):
        assert not status_list.is_set(encoded, index)
    bits = status_list.decode(encoded)
    assert len(bits) == 16384
    assert sum(bin(byte).count("1") for byte in bits) == 4


def test_bit_zero_is_the_most_significant_bit_of_byte_zero():
    bits = status_list.decode(status_list.encode([0, 7, 9]))
    # byte 0: bits 0 and 7 -> 1000 0001; byte 1: bit 9 is its second bit -> 0100 0000
    assert bits[0] == 0b1000_0001 == 0x81
    assert bits[1] == 0b0100_0000 == 0x40
    assert bits[2:] == bytes(16382)
    assert status_list.decode(status_list.encode([131071]))[-1] == 0x01


def test_encoding_format():
    encoded = status_list.encode([3])
    assert encoded.startswith("u")
    assert re.fullmatch(r"u[A-Za-z0-9_-]+", encoded)  # base64url, no padding
    body = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert raw[0] == 0b0001_0000


def test_compressed_list_is_small():
    assert len(status_list.encode([])) < 100
    assert len(status_list.encode([0, 7, 8, 131071])) < 120
    assert len(status_list.encode(range(0, 131072, 1000))) < 1000


def test_encoding_is_deterministic():
    assert status_list.encode({5, 1}) == status_list.encode([1, 5, 5])


def test_larger_lists():
    encoded = status_list.encode([262143], size=262144)
    assert len(status_list.decode(encoded)) == 32768
    assert status_list.is_set(encoded, 262143)


@pytest.mark.parametrize("indexes", [[-1], [131072], ["7"], [True], [1.0]])
def test_encode_rejects_bad_indexes(indexes):
    with pytest.raises(ValueError):
        status_list.encode(indexes)


@pytest.mark.parametrize("size", [8, 131071, 131072 + 4, 0])
def test_encode_rejects_bad_sizes(size):
    with pytest.raises(ValueError):
        status_list.encode([], size=size)


def _multibase_gzip(raw: bytes) -> str:
    # mtime=0: the same bytes in every process (pytest-xdist collects the parameters in each worker).
    return "u" + base64.urlsafe_b64encode(gzip.compress(raw, mtime=0)).decode().rstrip("=")


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "H4sIAAAAAAAA",  # no multibase prefix
        "z" + status_list.encode([])[1:],  # another multibase
        "u!!!",  # not base64url
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
        _multibase_gzip(bytes(100))[:-8],  # truncated
        None,
    ],
)
def test_decode_rejects(encoded):
    with pytest.raises(ValueError):
        status_list.decode(encoded)


def test_decode_refuses_gzip_bombs():
    bomb = _multibase_gzip(bytes(status_list.MAX_DECODED_BYTES + 1))
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="more than"):
        status_list.decode(bomb)


def test_is_set_outside_the_list():
    encoded = status_list.encode([])
    with pytest.raises(IndexError):
        status_list.is_set(encoded, 131072)
    with pytest.raises(IndexError):
        status_list.is_set(encoded, -1)


def test_status_entry():
    assert status_list.status_entry(LIST_URL, 7) == {
        "id": f"{LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }
    assert status_list.status_entry(LIST_URL, 0, purpose="suspension")["statusPurpose"] == "suspension"
    with pytest.raises(ValueError):
        status_list.status_entry(LIST_URL, -1)


def test_status_list_credential():
    encoded = status_list.encode([7])
    issuer = "did:web:lms.example.edu"
    credential = status_list.status_list_credential(LIST_URL, issuer, encoded, "2026-01-01T00:00:00Z")
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    assert jsonld.undefined_terms(credential) == []


def test_status_list_credential_formats_datetimes():
    credential = status_list.status_list_credential(
        LIST_URL, "did:web:x", status_list.encode([]), datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)
    )
    assert credential["validFrom"] == "2026-01-02T03:04:05Z"


def test_status_list_credential_refuses_a_bad_list():
    with pytest.raises(ValueError):
        status_list.status_list_credential(LIST_URL, "did:web:x", "not a list", "2026-01-01T00:00:00Z")


def test_signed_credential_with_status_and_signed_list_verify():
    key = Ed25519PrivateKey.generate()
    issuer = did.did_key(key.public_key())
    method = did.did_key_verification_method(key.public_key())
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:0d4e5b9a-9d1c-4e0b-a8a4-2a4b3f0c7f11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Example"},
        "validFrom": "2026-01-01T00:00:00Z",
        "name": "Badge",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {"id": "urn:uuid:5b0a2d2c-1c0e-4a53-9f0e-0d0c51f0e3a1", "type": ["Achievement"],
                            "name": "A", "criteria": {"narrative": "n"}},
        },
        "credentialStatus": status_list.status_entry(LIST_URL, 7),
    }
    signed = sign(credential, key, method)
    signed_list = sign(
        status_list.status_list_credential(LIST_URL, issuer, status_list.encode([7]), "2026-01-01T00:00:00Z"),
        key,
        method,
    )

    def resolve(vm):
        return did.resolve_verification_method(vm)

    assert verify_proof(signed, resolve).valid
    assert verify_proof(signed_list, resolve).valid
    index = int(signed["credentialStatus"]["statusListIndex"])
    assert status_list.is_set(signed_list["credentialSubject"]["encodedList"], index)
