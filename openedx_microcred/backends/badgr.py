"""
Canvas Credentials (Badgr) API v2: one assertion per award, of the BadgeClass the credential's
target names.

Account settings, with a password grant (the account of a staff user of the issuer)::

    "badgr": {"backend": "badgr", "base_url": "https://api.badgr.io",
              "username": "issuer@example.org", "password": "...", "notify": True}

or with a Connected App's client credentials: ``"client_id": "...", "client_secret": "..."``
(optionally ``"scope": "rw:issuer"``). EU: ``https://api.eu.badgr.io``.
A credential's target: ``{"badgeclass": "<entityId>"}`` (``badgeclass_id`` is accepted too).

Tokens come from ``POST /o/token`` (Bearer, about a day long), cached per account (``oauth.py``)
and fetched again once when a cached one is refused (401, or 403 as some deployments answer).

Every answer is wrapped: ``{"status": {"success", "description"}, "result": [...],
"validationErrors": [...], "fieldErrors": {...}}``. The assertion's entityId is the external id.
Our evidence link (the award's public page, unique per award) marks the assertion as this
award's; ``find_existing`` lists the BadgeClass's assertions for the recipient
(``?recipient=email``), comparing hashed identities itself, and returns only the marked one. Revocation is
``DELETE /v2/assertions/{entityId}`` with the reason in the body (the field's exact name is not
verified: it is sent as ``revocation_reason`` and ``revocationReason``); an assertion already
revoked or gone counts as revoked.
"""

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from .base import BadgeBackend, BadgeRequest, DeliveryError, IssueResult, OutcomeUnknown, PermanentError, TransientError
from .oauth import BearerTokenMixin, bearer_call, tokens_for

DEFAULT_BASE_URL = "https://api.badgr.io"
# Badgr refuses an issuedOn in its future; a clock a little ahead of the platform's must not fail an award.
ISSUED_ON_SLACK = timedelta(seconds=60)
MAX_PAGES = 50


class BadgrBackend(BearerTokenMixin, BadgeBackend):
    """Badgr (Canvas Credentials): assertions of a badge class, by email."""

    default_base_url = DEFAULT_BASE_URL
    name = "badgr"
    secret_keys = ("password", "client_secret")
    target_key = "badgeclass"

    def __init__(self, account_name, config, session=None):
        super().__init__(account_name, config, session)
        if config.get("username"):
            form = {"grant_type": "password", "username": config["username"], "password": config.get("password", "")}
            if config.get("client_id"):
                form["client_id"] = config["client_id"]
        else:
            form = {"grant_type": "client_credentials", "client_id": config.get("client_id", ""),
                    "client_secret": config.get("client_secret", "")}
        if config.get("scope"):
            form["scope"] = config["scope"]
        self.tokens = tokens_for(account_name, f"{self.base_url}/o/token", form)

    # --- the interface ------------------------------------------------------------------------

    def issue(self, request: BadgeRequest) -> IssueResult:
        badgeclass = _badgeclass_id(request.target)
        body = {
            "recipient": {"identity": request.recipient_email, "type": "email",
                          "hashed": bool(self.config.get("hashed", True))},
            "issuedOn": _iso(min(_utc(request.issued_at), datetime.now(timezone.utc) - ISSUED_ON_SLACK)),
            "notify": bool(self.config.get("notify", True)),
            "evidence": [{"url": request.evidence_url,
                          "narrative": f"Awarded for {request.credential_title}." if request.credential_title
                          else "Credential record."}],
            # Badgr then refuses a second unrevoked award of the badge to the same recipient.
            "allowDuplicateAwards": False,
        }
        if request.expires_at:
            body["expires"] = _iso(_utc(request.expires_at))
        path = f"/v2/badgeclasses/{quote(badgeclass, safe='')}/assertions"
        try:
            response = self._call("POST", path, json=body, creates=True)
        except PermanentError as exc:
            # "A previous award of this badge already exists": ours, if an earlier attempt's answer was lost.
            existing = self._own_assertion(request) if exc.status == 400 else None
            if existing is None:
                raise
            return existing
        assertion = _first(response)
        if not assertion.get("entityId"):
            raise OutcomeUnknown(self.redact(f"POST {self.base_url}{path}: {response.status_code} without an "
                                             f"assertion entityId: {response.text[:300]}"))
        return _result(assertion)

    def _own_assertion(self, request):
        try:
            return self.find_existing(request)
        except DeliveryError:
            return None  # the refusal stands

    def revoke(self, external_id: str, request: BadgeRequest, reason: str) -> None:
        reason = (reason or "revoked")[:255]
        path = f"/v2/assertions/{quote(str(external_id), safe='')}"
        try:
            self._call("DELETE", path, json={"revocation_reason": reason, "revocationReason": reason})
        except PermanentError as exc:
            if exc.status == 404:
                return  # gone: nothing left to revoke
            if exc.status == 400 and self.fetch_state(external_id) in ("revoked", "deleted"):
                return  # "Assertion is already revoked"
            raise

    def fetch_state(self, external_id: str) -> str:
        try:
            response = self._call("GET", f"/v2/assertions/{quote(str(external_id), safe='')}")
        except PermanentError as exc:
            if exc.status == 404:
                return "deleted"
            raise
        return _state(_first(response))

    def find_existing(self, request: BadgeRequest) -> IssueResult | None:
        """
        This award's assertion: among the recipient's unrevoked assertions of the BadgeClass
        (expired ones included), the one carrying our evidence link (the award's own page). An
        assertion without it was not created by us and is never returned (a revocation must not
        touch a badge issued by hand).
        """
        badgeclass = _badgeclass_id(request.target)
        path = f"/v2/badgeclasses/{quote(badgeclass, safe='')}/assertions"
        url, params = f"{self.base_url}{path}", {"recipient": request.recipient_email, "include_expired": "true"}
        for _ in range(MAX_PAGES):
            response = bearer_call(self, self.tokens, "GET", url, params=params, headers={"Accept": "application/json"})
            for assertion in _results(response):
                if assertion.get("entityId") and assertion.get("revoked") not in (True, "true", "True") \
                        and str(assertion.get("badgeclass") or badgeclass) == badgeclass \
                        and _same_recipient(assertion.get("recipient"), request.recipient_email) \
                        and request.evidence_url in _evidence_urls(assertion):
                    return _result(assertion)
            following = response.links.get("next", {}).get("url")
            if not following:
                return None
            url, params = following, None
        raise TransientError(f"{self.base_url}{path}: more than {MAX_PAGES} pages of assertions for one recipient")

    def validate_target(self, target: dict) -> list:
        badgeclass = _target_badgeclass(target)
        if not badgeclass:
            return ["Canvas Credentials: the target needs a badgeclass (the BadgeClass entityId)."]
        try:
            found = _first(self._call("GET", f"/v2/badgeclasses/{quote(str(badgeclass), safe='')}"))
        except PermanentError as exc:
            if exc.status == 404:
                return [f"Canvas Credentials: account {self.account_name!r} has no BadgeClass {badgeclass!r}."]
            return [f"Canvas Credentials: cannot read BadgeClass {badgeclass!r}: {exc}"]
        if found.get("archived") in (True, "true", "True"):
            return [f"Canvas Credentials: BadgeClass {badgeclass!r} is archived."]
        return []


# --- helpers ----------------------------------------------------------------------------------


def _target_badgeclass(target):
    return (target or {}).get("badgeclass") or (target or {}).get("badgeclass_id")


def _badgeclass_id(target):
    badgeclass = _target_badgeclass(target)
    if not badgeclass:
        raise PermanentError("Canvas Credentials: the credential's target has no badgeclass (entityId)")
    return str(badgeclass)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _results(response):
    """The ``result`` list of a Badgr answer (empty when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        result = body.get("result")
        if isinstance(result, list):
            return [item for item in result if isinstance(item, dict)]
        return [result] if isinstance(result, dict) else ([body] if body.get("entityId") else [])
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def _first(response):
    results = _results(response)
    return results[0] if results else {}


def _parse_time(value):
    try:
        return _utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except (TypeError, ValueError):
        return None


def _state(assertion):
    """The assertion's state on Badgr: revoked, expired, or its acceptance."""
    if assertion.get("revoked") in (True, "true", "True"):
        return "revoked"
    expires = _parse_time(assertion.get("expires")) if assertion.get("expires") else None
    if expires is not None and expires < datetime.now(timezone.utc):
        return "expired"
    return str(assertion.get("acceptance") or "issued")


def _result(assertion):
    return IssueResult(external_id=str(assertion["entityId"]), state=_state(assertion),
                       url=assertion.get("openBadgeId") or None)


def _same_recipient(recipient, address):
    """Whether an assertion's recipient is ``address``, in clear or hashed with its salt."""
    if not isinstance(recipient, dict):
        return False
    email = address.strip().lower()
    if str(recipient.get("plaintextIdentity") or "").strip().lower() == email:
        return True
    identity = str(recipient.get("identity") or "")
    if not (recipient.get("hashed") in (True, "true", "True") or identity.startswith(("sha256$", "md5$"))):
        return identity.strip().lower() == email
    algorithm, _, digest = identity.partition("$")
    salt = str(recipient.get("salt") or "")
    if algorithm not in ("sha256", "md5"):
        return False
    # Open Badges hashing: hex digest of identity + salt, where the identity may not be lowercased.
    return any(hashlib.new(algorithm, (candidate + salt).encode()).hexdigest() == digest.lower()
               for candidate in (address, address.strip(), email))


def _evidence_urls(assertion):
    evidence = assertion.get("evidence") or []
    if isinstance(evidence, dict):
        evidence = [evidence]
    return {str(item.get("url") or item.get("id") or "") for item in evidence if isinstance(item, dict)} - {""}
