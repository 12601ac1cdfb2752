"""
Open Badge Factory (Discendum), REST API v1: one issuing event per award, for one recipient.

Account settings::

    "obf": {"backend": "obf", "base_url": "https://openbadgefactory.com",
            "client_id": "...", "client_secret": "...", "send_email": True, "timeout": (5, 20)}

A credential's target: ``{"badge_id": "..."}``, optionally with ``email_subject``, ``email_body``,
``email_link_text``, ``email_footer`` for the message OBF sends the earner.

Authentication is OAuth2 client credentials (``POST /v1/client/oauth2/token``), then Bearer;
tokens are short-lived and OBF answers 403 to an expired one: the token is cached per account
(``oauth.py``) and fetched again once on 403.

Issuing answers 201 with ``Location: /v1/event/{client_id}/{event_id}``: the event id is the
external id. The award's uuid travels in the event's ``log_entry`` (which OBF keeps and lists
back), so that after an unknown outcome ``find_existing`` recognises this award's event among the
recipient's events of that badge (``GET /v1/event/{client_id}?badge_id=&email=``, one JSON
object per line). Revocation is ``DELETE /v1/event/{client_id}/{event_id}?email=...``; an event
that is gone counts as revoked.
"""

import json
import re
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from .base import BadgeBackend, BadgeRequest, IssueResult, OutcomeUnknown, PermanentError
from .oauth import BearerTokenMixin, tokens_for

DEFAULT_BASE_URL = "https://openbadgefactory.com"
EMAIL_TEXTS = ("email_subject", "email_body", "email_link_text", "email_footer")
_ANGLE_EMAIL = re.compile(r"<([^<>]+)>\s*$")


class OpenBadgeFactoryBackend(BearerTokenMixin, BadgeBackend):
    """Open Badge Factory: badge events by recipient email."""

    name = "obf"
    default_base_url = DEFAULT_BASE_URL
    secret_keys = ("client_secret",)
    target_key = "badge_id"

    def __init__(self, account_name, config, session=None):
        super().__init__(account_name, config, session)
        self.client_id = str(config.get("client_id") or "")
        self.tokens = tokens_for(account_name, f"{self.base_url}/v1/client/oauth2/token", {
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": str(config.get("client_secret") or "")})

    def _client_path(self, resource, *rest):
        parts = [resource, self.client_id, *rest]
        return "/v1/" + "/".join(quote(str(part), safe="") for part in parts)

    # --- the interface ------------------------------------------------------------------------

    def issue(self, request: BadgeRequest) -> IssueResult:
        target = request.target or {}
        body = {
            "recipient": [request.recipient_email],
            "issued_on": _unix(request.issued_at),
            "send_email": bool(self.config.get("send_email", True)),
            "log_entry": {"award_uuid": request.award_uuid, "evidence_url": request.evidence_url,
                          "delivery_id": request.delivery_id},
        }
        if request.expires_at:
            body["expires"] = _unix(request.expires_at)
        body.update({key: target[key] for key in EMAIL_TEXTS if target.get(key)})
        path = self._client_path("badge", _badge_id(target))
        response = self._call("POST", path, json=body, creates=True)
        event_id = _event_id(response.headers.get("Location"))
        if not event_id:
            answer = _json(response)
            event_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
        if not event_id:
            # Created (2xx) but we cannot tell which event it is: look it up before anything is resent.
            raise OutcomeUnknown(self.redact(f"POST {self.base_url}{path}: {response.status_code} without a "
                                             f"Location naming the event"))
        return IssueResult(external_id=event_id, state="issued")

    def revoke(self, external_id: str, request: BadgeRequest, reason: str) -> None:
        """
        Revoke the event's recipients as OBF itself lists them. We issue one event per award, so
        that is this learner; asking OBF rather than the platform keeps the revoke working after a
        retired learner's address has been replaced.
        """
        path = self._client_path("event", external_id)
        try:
            event = _json(self._call("GET", path))
            event = event if isinstance(event, dict) else {}
            emails = _recipients(event) - _revoked(event)
            if emails:
                self._call("DELETE", path, params={"email": "|".join(sorted(emails))})
        except PermanentError as exc:
            if exc.status != 404:  # the event is gone: nothing left to revoke
                raise

    def fetch_state(self, external_id: str) -> str:
        try:
            response = self._call("GET", self._client_path("event", external_id))
        except PermanentError as exc:
            if exc.status == 404:
                return "deleted"
            raise
        event = _json(response)
        return _state(event if isinstance(event, dict) else {})

    def find_existing(self, request: BadgeRequest) -> IssueResult | None:
        """
        This award's event: among the recipient's unrevoked events of the badge, the one whose log
        entry carries the award's uuid. An event without it was not created by us and is never
        returned (a revocation must not touch a badge issued by hand).
        """
        badge_id = _badge_id(request.target)
        email = request.recipient_email.strip().lower()
        response = self._call("GET", self._client_path("event"),
                              params={"badge_id": badge_id, "email": request.recipient_email})
        for event in _events(response.text):
            if event.get("id") and str(event.get("badge_id") or badge_id) == str(badge_id) \
                    and email in _recipients(event) and email not in _revoked(event) \
                    and _log_entry(event).get("award_uuid") == request.award_uuid:
                return IssueResult(external_id=str(event["id"]), state=_state(event))
        return None

    def validate_target(self, target: dict) -> list:
        badge_id = (target or {}).get("badge_id")
        if not badge_id:
            return ["Open Badge Factory: the target needs a badge_id."]
        try:
            badge = _json(self._call("GET", self._client_path("badge", badge_id)))
        except PermanentError as exc:
            if exc.status == 404:
                return [f"Open Badge Factory: account {self.account_name!r} has no badge {badge_id!r}."]
            return [f"Open Badge Factory: cannot read badge {badge_id!r}: {exc}"]
        if isinstance(badge, dict) and badge.get("draft") not in (None, False, 0, "0"):
            return [f"Open Badge Factory: badge {badge_id!r} is a draft and cannot be issued."]
        return []


# --- helpers ----------------------------------------------------------------------------------


def _badge_id(target):
    badge_id = (target or {}).get("badge_id")
    if not badge_id:
        raise PermanentError("Open Badge Factory: the credential's target has no badge_id")
    return str(badge_id)


def _unix(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def _event_id(location):
    if not location:
        return ""
    parts = [part for part in urlsplit(location).path.split("/") if part]  # v1, event, client_id, event_id
    return parts[-1] if "event" in parts[:-1] else ""


def _events(text):
    """Events from a listing: one JSON object per line (OBF v1), or a JSON array / object."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = []
        for line in text.splitlines():
            line = line.strip()
            if line:
                try:
                    parsed.append(json.loads(line))
                except ValueError:
                    continue
    if isinstance(parsed, dict):
        parsed = parsed.get("result") if isinstance(parsed.get("result"), list) else [parsed]
    return [event for event in parsed if isinstance(event, dict)]


def _log_entry(event):
    """The log entry of an OBF event (a dict, even where the answer carries it as JSON text)."""
    entry = event.get("log_entry")
    if isinstance(entry, str):  # some answers carry it as a JSON string
        try:
            entry = json.loads(entry)
        except ValueError:
            entry = None
    return entry if isinstance(entry, dict) else {}


def _address(value):
    value = str(value or "").strip()
    match = _ANGLE_EMAIL.search(value)  # "Name <email>" is accepted as a recipient too
    return (match.group(1) if match else value).strip().lower()


def _recipients(event):
    recipients = event.get("recipient") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    return {_address(r) for r in recipients}


def _revoked(event):
    """The revoked addresses of an OBF event."""
    revoked = event.get("revoked") or {}
    if isinstance(revoked, dict):
        return {_address(r) for r in revoked}
    if isinstance(revoked, list):
        return {_address(r) for r in revoked}
    return set()


def _state(event):
    """The event's state on OBF: revoked (every recipient), expired or issued."""
    recipients = _recipients(event)
    if recipients and recipients <= _revoked(event):
        return "revoked"
    expires = event.get("expires")
    if isinstance(expires, (int, float)) and 0 < expires < datetime.now(timezone.utc).timestamp():
        return "expired"
    return "issued"
