"""
A local stand-in for the Canvas Credentials (Badgr) API v2, over real sockets, for the backend tests.

The surface of ``/work/shared/platforms.md``, as badgr-server implements it: ``POST /o/token``
(form-encoded; password grant, the default when ``grant_type`` is absent, or client
credentials) answering ``{access_token, token_type, expires_in, refresh_token, scope}``; then
Bearer on ``GET /v2/badgeclasses/{entityId}``, ``POST`` / ``GET
/v2/badgeclasses/{entityId}/assertions`` (``?recipient=`` filters on the plain identifier;
revoked and expired assertions only with ``include_revoked`` / ``include_expired``), ``GET`` and
``DELETE /v2/assertions/{entityId}`` (revocation, ``revocation_reason`` required in the body,
400 when already revoked).

Every answer is wrapped ``{"status": {"success", "description"}, "result": [...],
"validationErrors": [...], "fieldErrors": {...}}``. Assertions are issued with the recipient
hashed (``sha256$`` of identity + salt) unless ``hashed`` is false; the plain identity is never
given back. ``issuedOn`` in the future is refused, and ``allowDuplicateAwards: false`` refuses a
second unrevoked, unexpired award, as badgr-server does.

Tokens expire after ``token_max_uses`` uses or ``token_max_age`` seconds whatever ``expires_in``
announced; an expired token gets ``expired_token_status`` (401 by default; some deployments say 403).

    with BadgrServer() as badgr:
        backend = BadgrBackend("x", {"base_url": badgr.base_url, "username": badgr.username,
                                     "password": badgr.password})
"""

import copy
import hashlib
import re
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

from .faults import FakeServer, Reply

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadgrServer(FakeServer):
    """Badgr's API v2 as the backend uses it: OAuth2 tokens, badge classes, assertions and revocation."""
    name = "badgr"

    def __init__(self, token_expires_in=86400, token_max_uses=None, token_max_age=None, expired_token_status=401):
        super().__init__()
        self.username = "issuer@example.org"
        self.password = f"badgr-password-{uuid.uuid4().hex}"
        self.client_id = f"app-{uuid.uuid4().hex[:8]}"
        self.client_secret = f"badgr-secret-{uuid.uuid4().hex}"
        self.token_expires_in = token_expires_in
        self.token_max_uses = token_max_uses
        self.token_max_age = token_max_age
        self.expired_token_status = expired_token_status
        self.tokens = {}  # token -> {"issued": monotonic, "uses": int}
        self.token_fetches = 0
        self.issuer_id = _entity_id()
        self.badgeclasses = {}  # entityId -> badgeclass
        self.assertions = {}  # entityId -> stored assertion (with the plain identifier)
        self.default_badgeclass_id = self.add_badgeclass("Python Foundations")

    def add_badgeclass(self, name, archived=False):
        """A badge class named ``name`` of the issuer; returns its entity id."""
        entity_id = _entity_id()
        with self.lock:
            self.badgeclasses[entity_id] = {
                "entityType": "BadgeClass", "entityId": entity_id, "name": name, "description": f"About {name}",
                "issuer": self.issuer_id, "archived": archived,
                "openBadgeId": f"https://api.badgr.io/public/badges/{entity_id}"}
        return entity_id

    def add_assertion(self, email, badgeclass_id=None, **fields):
        """An assertion that exists upstream without having been issued through the API under test."""
        with self.lock:
            body = {"recipient": {"identity": email, "type": "email", "hashed": True}, **fields}
            return self._create(badgeclass_id or self.default_badgeclass_id, body)["entityId"]

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    def assertions_of(self, email):
        with self.lock:
            return [copy.deepcopy(a) for a in self.assertions.values() if a["_identifier"] == email.lower()]

    # --- the API --------------------------------------------------------------------------------

    def error_body(self, status, message):
        return _wrapped([], success=False, description=message)

    def route(self, method, path, query, headers, raw_body, entry):
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["o", "token"] and method == "POST":
            return self._token(entry["form"] or {})
        status = self._authorize(headers.get("Authorization", ""))
        if status:
            return Reply(status, _wrapped([], success=False, description="Authentication credentials were not "
                                                                         "provided or have expired."))
        body = entry["json"]
        if raw_body and body is None:
            return Reply(400, _wrapped([], success=False, description="bad request",
                                       validation_errors=["JSON parse error"]))
        if parts[:2] == ["v2", "badgeclasses"] and len(parts) >= 3:
            badgeclass = self.badgeclasses.get(parts[2])
            if badgeclass is None:
                return _not_found()
            if len(parts) == 3 and method == "GET":
                return Reply(200, _wrapped([copy.deepcopy(badgeclass)]))
            if parts[3:] == ["assertions"] and method == "POST":
                return self._issue(badgeclass, body if isinstance(body, dict) else {})
            if parts[3:] == ["assertions"] and method == "GET":
                return self._list(badgeclass, query)
        if parts[:2] == ["v2", "assertions"] and len(parts) == 3:
            assertion = self.assertions.get(parts[2])
            if assertion is None:
                return _not_found()
            if method == "GET":
                return Reply(200, _wrapped([_public(assertion)]))
            if method == "DELETE":
                return self._revoke(assertion, body if isinstance(body, dict) else {})
        return _not_found()

    def _token(self, form):
        """POST /o/token: a bearer token for the password or client-credentials grant, or OAuth2's error."""
        grant = form.get("grant_type") or "password"
        if grant == "password":
            if form.get("username") != self.username or form.get("password") != self.password:
                return Reply(400, {"error": "invalid_grant", "error_description": "Invalid credentials given."})
        elif grant == "client_credentials":
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return Reply(401, {"error": "invalid_client"})
        else:
            return Reply(400, {"error": "unsupported_grant_type"})
        token = uuid.uuid4().hex
        self.tokens[token] = {"issued": time.monotonic(), "uses": 0}
        self.token_fetches += 1
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_expires_in,
                           "refresh_token": uuid.uuid4().hex, "scope": form.get("scope") or "rw:profile rw:issuer"})

    def _authorize(self, header):
        """The status a request with this Authorization header gets refused with (401, expired), or None."""
        scheme, _, token = header.partition(" ")
        state = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if state is None:
            return 401
        if (self.token_max_uses is not None and state["uses"] >= self.token_max_uses) or \
                (self.token_max_age is not None and time.monotonic() - state["issued"] > self.token_max_age):
            return self.expired_token_status
        state["uses"] += 1
        return 0

    def _issue(self, badgeclass, body):
        """POST an assertion of ``badgeclass``: the assertion, or Badgr's 400 with its field and validation errors."""
        field_errors, validation_errors = {}, []
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else None
        if recipient is None or not str(recipient.get("identity") or "").strip():
            field_errors["recipient"] = ["This field is required."]
        elif recipient.get("type", "email") == "email" and not EMAIL.match(str(recipient["identity"]).strip()):
            field_errors["recipient"] = ["Enter a valid email address."]
        for key in ("issuedOn", "expires"):
            if body.get(key) is not None and _parse(body[key]) is None:
                field_errors[key] = ["Datetime has wrong format."]
        issued_on = _parse(body.get("issuedOn")) if body.get("issuedOn") else None
        if issued_on is not None and issued_on > datetime.now(timezone.utc):
            field_errors["issuedOn"] = ["Only issuedOn dates in the past are acceptable."]
        for item in body.get("evidence") or []:
            if not isinstance(item, dict) or not (item.get("url") or item.get("narrative")):
                field_errors["evidence"] = ["Either url or narrative is required"]
        if not field_errors and body.get("allowDuplicateAwards", True) is False:
            identifier = str(recipient["identity"]).strip().lower()
            if any(a["_identifier"] == identifier and a["badgeclass"] == badgeclass["entityId"] and not a["revoked"]
                   and not _expired(a) for a in self.assertions.values()):
                validation_errors.append("A previous award of this badge already exists for this recipient.")
        if field_errors or validation_errors:
            return Reply(400, _wrapped([], success=False, description="bad request",
                                       validation_errors=validation_errors, field_errors=field_errors))
        return Reply(201, _wrapped([self._create(badgeclass["entityId"], body)]))

    def _create(self, badgeclass_id, body):
        """Store an assertion of ``body`` (already checked), its recipient hashed unless told not to."""
        entity_id = _entity_id()
        recipient = body["recipient"]
        identifier = str(recipient["identity"]).strip().lower()
        hashed = recipient.get("hashed", True) is not False
        salt = uuid.uuid4().hex[:16]
        assertion = {
            "entityType": "Assertion", "entityId": entity_id,
            "openBadgeId": f"https://api.badgr.io/public/assertions/{entity_id}",
            "badgeclass": badgeclass_id, "issuer": self.issuer_id,
            "recipient": {"identity": f"sha256${_sha256(str(recipient['identity']).strip() + salt)}", "hashed": True,
                          "type": recipient.get("type", "email"), "salt": salt} if hashed else
            {"identity": identifier, "hashed": False, "type": recipient.get("type", "email")},
            "issuedOn": body.get("issuedOn") or _now(), "createdAt": _now(), "narrative": body.get("narrative"),
            "evidence": [dict(item) for item in body.get("evidence") or []], "expires": body.get("expires"),
            "revoked": False, "revocationReason": None, "acceptance": "Unaccepted",
            "_identifier": identifier, "_notify": body.get("notify"),
        }
        self.assertions[entity_id] = assertion
        return _public(assertion)

    def _list(self, badgeclass, query):
        """GET the assertions of ``badgeclass``, by recipient, revoked and expired ones only when asked."""
        found = [a for a in self.assertions.values() if a["badgeclass"] == badgeclass["entityId"]]
        if query.get("recipient"):
            found = [a for a in found if a["_identifier"] == query["recipient"].strip().lower()]
        if query.get("include_revoked", "").lower() not in ("1", "true"):
            found = [a for a in found if not a["revoked"]]
        if query.get("include_expired", "").lower() not in ("1", "true"):
            found = [a for a in found if not _expired(a)]
        return Reply(200, _wrapped([_public(a) for a in found]))

    def _revoke(self, assertion, body):
        """DELETE an assertion: revoked with its reason, or Badgr's 400 without one or when already revoked."""
        if not str(body.get("revocation_reason") or "").strip():
            return Reply(400, _wrapped([], success=False, description="bad request",
                                       field_errors={"revocation_reason": ["This field is required"]}))
        if assertion["revoked"]:
            return Reply(400, _wrapped([], success=False, description="bad request",
                                       validation_errors=["Assertion is already revoked."]))
        assertion.update(revoked=True, revocationReason=body["revocation_reason"])
        return Reply(200, _wrapped([_public(assertion)]))


def _wrapped(result, success=True, description="ok", validation_errors=(), field_errors=None):
    return {"status": {"success": success, "description": description}, "result": result,
            "validationErrors": list(validation_errors), "fieldErrors": field_errors or {}}


def _not_found():
    return Reply(404, _wrapped([], success=False, description="Not found"))


def _public(assertion):
    return {key: copy.deepcopy(value) for key, value in assertion.items() if not key.startswith("_")}


def _entity_id():
    return uuid.uuid4().hex[:22]


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse(value):
    """An ISO 8601 date-time as an aware datetime (UTC when it has no offset), or None."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _expired(assertion):
    expires = _parse(assertion["expires"]) if assertion.get("expires") else None
    return expires is not None and expires < datetime.now(timezone.utc)
