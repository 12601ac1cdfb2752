"""
The issuer's signing keys: generated here, stored encrypted, rotated without breaking what was signed.

Private keys are encrypted at rest with Fernet (``cryptography``) under the keys in
``MICROCRED_KEY_ENCRYPTION_KEYS`` (the first one encrypts, all of them decrypt, so the encryption
key itself can be rotated); when that setting is empty, one key is derived from ``SECRET_KEY``
with HKDF. Operators who would rather keep the signing key outside the database give it in
``MICROCRED_SIGNING_KEY`` (base64 of the 32-byte Ed25519 private key) and it wins.

Nothing here ever logs or returns private key material except as a ``SigningKey`` object.
"""

import base64
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from .app_settings import microcred_settings
from .models import IssuerKey
from .openbadges import did


class SigningKeyError(Exception):
    """A key that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key that signs credentials, named by its key id in the issuer's DID document."""

    key_id: str
    private_key: Ed25519PrivateKey
    stored_id: int | None = None  # the IssuerKey row; None for MICROCRED_SIGNING_KEY

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def __repr__(self):  # never the private key, whatever prints this
        return f"SigningKey({self.key_id!r})"


def _fernet():
    """What encrypts the stored private keys: MICROCRED_KEY_ENCRYPTION_KEYS (the first encrypts), else SECRET_KEY's."""
    configured = [k for k in microcred_settings.KEY_ENCRYPTION_KEYS or [] if k]
    if configured:
        try:
            return MultiFernet([Fernet(k) for k in configured])
        except ValueError as exc:
            raise ImproperlyConfigured(
                "MICROCRED_KEY_ENCRYPTION_KEYS must hold Fernet keys (Fernet.generate_key())") from exc
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"openedx-microcred issuer keys").derive(settings.SECRET_KEY.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _raw_private(private_key):
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _key_id(created):
    return "key-" + created.strftime("%Y%m%dT%H%M%S%fZ")


@transaction.atomic
def generate_key(rotate=False) -> IssuerKey:
    """
    Create a signing key. With ``rotate`` the current key is retired (it stays published, so what
    it signed keeps verifying); without it, an existing current key is an error.
    """
    current = IssuerKey.objects.select_for_update().filter(current=True).first()
    if current is not None and not rotate:
        raise SigningKeyError(f"a signing key exists already ({current.key_id}); rotate it instead")
    now = datetime.now(dt_timezone.utc)
    if current is not None:
        current.current = None
        current.retired_at = now
        current.save(update_fields=["current", "retired_at"])
    private_key = Ed25519PrivateKey.generate()
    return IssuerKey.objects.create(
        key_id=_key_id(now),
        public_key_multibase=did.multikey_from_public_key(private_key.public_key()),
        encrypted_private_key=_fernet().encrypt(_raw_private(private_key)).decode(),
    )


def _decrypt(issuer_key):
    """The private key of an IssuerKey row; SigningKeyError when the configured keys cannot decrypt it."""
    try:
        raw = _fernet().decrypt(issuer_key.encrypted_private_key.encode())
    except InvalidToken as exc:
        raise SigningKeyError(f"signing key {issuer_key.key_id} cannot be decrypted with the configured "
                              "MICROCRED_KEY_ENCRYPTION_KEYS (or SECRET_KEY)") from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


def _configured_key():
    """The SigningKey of MICROCRED_SIGNING_KEY (base64 raw Ed25519 private key), or None when it is not set."""
    encoded = microcred_settings.SIGNING_KEY or ""
    if not encoded:
        return None
    try:
        private_key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))
    except ValueError as exc:
        raise ImproperlyConfigured("MICROCRED_SIGNING_KEY must be the base64 of a 32-byte Ed25519 "
                                   "private key") from exc
    return SigningKey("key-configured", private_key)


def signing_key() -> SigningKey:
    """The key that signs now: the configured one, or the current stored one (created if none)."""
    configured = _configured_key()
    if configured is not None:
        return configured
    current = IssuerKey.objects.filter(current=True).first()
    if current is None:
        try:
            current = generate_key()
        except (SigningKeyError, IntegrityError):
            # Another process created it meanwhile: seen by our check (SigningKeyError), or, when both
            # checked before either committed, by the database's one-current-key constraint.
            current = IssuerKey.objects.get(current=True)
    return SigningKey(current.key_id, _decrypt(current), current.pk)


def stored_signing_key(stored_id) -> SigningKey:
    """A stored key, current or retired (a retired did:key still signs the status lists it issued)."""
    issuer_key = IssuerKey.objects.get(pk=stored_id)
    return SigningKey(issuer_key.key_id, _decrypt(issuer_key), issuer_key.pk)


def published_keys():
    """(key_id, public key, current) for every key a verifier may meet, current first."""
    keys = []
    configured = _configured_key()
    if configured is not None:
        keys.append((configured.key_id, configured.public_key, True))
    for issuer_key in IssuerKey.objects.order_by("-current", "-created"):
        keys.append((issuer_key.key_id, did.public_key_from_multikey(issuer_key.public_key_multibase),
                     bool(issuer_key.current) and configured is None))
    return keys
