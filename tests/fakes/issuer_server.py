"""
A second, independent Open Badges 3.0 issuer over real sockets, for the external-credential tests:
its own Ed25519 key and did:key, the credentials it issues (hand-built here, not by the plugin's
document builder) and its signed BitstringStatusList at /status/1, whose bits a test flips.

    with OtherIssuer() as issuer:
        credential = issuer.issue("ada@example.com", index=3)
        issuer.revoke(3)   # /status/1 now has bit 3 set
"""

import copy
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from openedx_microcred.openbadges import did
from openedx_microcred.openbadges import document as ob_document
from openedx_microcred.openbadges import jsonld, proof, status_list

from .faults import FakeServer, Reply

ACHIEVEMENT_ID = "https://other-university.example/achievements/data-literacy"
ACHIEVEMENT_TYPE = "Certificate"


class OtherIssuer(FakeServer):
    """An institution that is not this LMS: another key, another DID, its own status list."""

    name = "other-issuer"

    def __init__(self, seed=None):
        super().__init__()
        self.seed = seed or secrets.token_bytes(32)
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.did = did.did_key(self.key.public_key())
        self.method = did.did_key_verification_method(self.key.public_key())
        self.revoked = set()
        self.hosted = {}  # path → body (dict, or bytes sent as is)
        self.status_body = None  # replaces the status list when set (bytes or dict)
        self.redirects = {}  # path → Location

    def route(self, method, path, query, headers, raw_body, entry):
        if path == "/status/1":
            if self.status_body is not None:
                return Reply(200, self.status_body)
            return Reply(200, self.status_list())
        if path in self.redirects:
            return Reply(302, b"", headers={"Location": self.redirects[path]})
        if path in self.hosted:
            return Reply(200, self.hosted[path])
        return Reply(404, {"error": "not found"})

    @property
    def status_url(self):
        return f"{self.root_url}/status/1"

    def sign(self, document):
        return proof.sign(document, self.key, self.method)

    def unsigned_status_list(self, revoked=None):
        return status_list.status_list_credential(
            self.status_url, self.did, status_list.encode(self.revoked if revoked is None else revoked),
            datetime.now(timezone.utc) - timedelta(days=1))

    def status_list(self):
        return self.sign(self.unsigned_status_list())

    def revoke(self, index):
        with self.lock:
            self.revoked.add(index)

    def unsigned(self, email, index=0, *, achievement_id=ACHIEVEMENT_ID, result=None, valid_until=None,
                 status=True, salt=None):
        """An OpenBadgeCredential to ``email`` (hashed with a salt, as OB 3.0 recommends), not signed yet."""
        salt = salt or secrets.token_hex(8)
        now = datetime.now(timezone.utc)
        subject = {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": ob_document.recipient_identity_hash(email, salt), "salt": salt}],
            "achievement": {
                "id": achievement_id, "type": ["Achievement"], "achievementType": ACHIEVEMENT_TYPE,
                "name": "Data literacy", "description": "Reads and questions data.",
                "criteria": {"narrative": "Passed the data literacy module."},
            },
        }
        if result is not None:
            subject["result"] = [{"type": ["Result"], "value": str(result)}]
        credential = {
            "@context": [jsonld.CREDENTIALS_V2, jsonld.OB_V3P0],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Data literacy",
            "issuer": {"id": self.did, "type": ["Profile"], "name": "Other University"},
            "validFrom": proof.format_datetime(now - timedelta(days=2)),
            "credentialSubject": subject,
        }
        if valid_until is not None:
            credential["validUntil"] = proof.format_datetime(valid_until)
        if status:
            credential["credentialStatus"] = status_list.status_entry(self.status_url, index)
        return credential

    def issue(self, email, index=0, **options):
        return self.sign(self.unsigned(email, index, **options))

    def host(self, path, body):
        with self.lock:
            self.hosted[path] = copy.deepcopy(body)
        return f"{self.root_url}{path}"
