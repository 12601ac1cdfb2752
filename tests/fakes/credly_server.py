"""
A local stand-in for the Credly web service API (v1), over real sockets, for the backend tests.

It implements the surface in ``/work/shared/platforms.md`` and nothing more: HTTP Basic auth with
the organization token as user name and an empty password, one organization, issue / list / get /
revoke badges, active badge templates and events, all paged like Credly (``page``, ``metadata``).
It refuses the way Credly does: 401 for a bad token, 404 for another organization or an unknown
object, 422 with field errors for an invalid or duplicate badge.

Credly's error body is not verified (platforms.md); this server answers
``{"data": {"message": ..., "errors": [{"attribute": ..., "messages": [...]}]}}``, the shape
reported for Credly, and the backend must not depend on more than "a 4xx with some text".

Faults can be injected per method / path pattern / request count (``add_fault``): an HTTP error
(500, 429 with Retry-After), a hang longer than the client's timeout, or a dropped connection;
with ``act_first=True`` the request is carried out before the fault (the badge exists upstream
but the client never hears so).

    with CredlyServer() as credly:
        backend = CredlyBackend("x", {"base_url": credly.base_url, "token": credly.token,
                                      "organization_id": credly.organization_id})
"""

import base64
import copy
import json
import random
import re
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote, urlencode

from .faults import FakeServer, Fault, Reply

ISSUED_AT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
REQUIRED = ("recipient_email", "issued_to_first_name", "issued_to_last_name", "badge_template_id", "issued_at")
BADGE_FILTERS = {"recipient_email", "recipient_email_all", "badge_template_id", "state", "issuer_earner_id"}
TEMPLATE_FILTERS = {"state"}


class CredlyServer(FakeServer):
    """One fake Credly organization on 127.0.0.1 (ephemeral port). Thread-safe; inspect ``badges``, ``requests``."""

    name = "credly"

    def __init__(self, token=None, organization_id=None, per_page=50):
        super().__init__()
        self.token = token or f"credly-token-{uuid.uuid4().hex}"
        self.organization_id = organization_id or str(uuid.uuid4())
        self.per_page = per_page
        self.templates = {}  # id -> template dict
        self.badges = {}  # id -> badge dict (as the API returns it, plus what was sent)
        self.events = {}  # id -> event dict
        self.random_faults = None
        self.default_template_id = self.add_template("Python Foundations")

    @property
    def base_url(self):
        return f"{self.root_url}/v1/"

    # --- state the tests set up or inspect ----------------------------------------------------

    def add_template(self, name, state="active", template_id=None):
        """A badge template named ``name`` of the organization; returns its id."""
        template_id = template_id or str(uuid.uuid4())
        with self.lock:
            self.templates[template_id] = {"id": template_id, "name": name, "state": state,
                                           "allow_duplicate_badges": False,
                                           "owner": {"type": "Organization", "id": self.organization_id}}
        return template_id

    def add_badge(self, recipient_email, template_id=None, state="pending", **fields):
        """A badge that exists upstream without having been issued through the API under test."""
        with self.lock:
            return self._create_badge({"recipient_email": recipient_email, "issued_to_first_name": "Seeded",
                                       "issued_to_last_name": "Badge", "issued_at": "2026-01-01 00:00:00 +0000",
                                       "badge_template_id": template_id or self.default_template_id, **fields},
                                      state=state)["id"]

    def add_event(self, event_type, badge_id=None, **fields):
        """An event of this organization (what a webhook announces), with the badge as it is now."""
        event_id = str(uuid.uuid4())
        with self.lock:
            event = {"id": event_id, "organization_id": self.organization_id, "event_type": event_type,
                     "occurred_at": _now(), **fields}
            if badge_id is not None:
                event["badge"] = copy.deepcopy(self.badges[badge_id])
            self.events[event_id] = event
        return event_id

    def badges_of(self, recipient_email):
        with self.lock:
            return [b for b in self.badges.values() if b["recipient_email"].lower() == recipient_email.lower()]

    # --- the API --------------------------------------------------------------------------------

    def add_random_faults(self, error_rate=0.0, throttle_rate=0.0, retry_after="1", seed=0, method="POST"):
        """From now on, fail that share of ``method`` requests at random: 500, or 429 with Retry-After."""
        with self.lock:
            self.random_faults = (random.Random(seed), error_rate, throttle_rate, retry_after, method)

    def take_fault(self, method, path):
        with self.lock:
            if self.random_faults and self.random_faults[4] == method:
                rng, error_rate, throttle_rate, retry_after, _ = self.random_faults
                draw = rng.random()
                if draw < error_rate:
                    return Fault("error", status=500)
                if draw < error_rate + throttle_rate:
                    return Fault("error", status=429, retry_after=retry_after)
        return super().take_fault(method, path)

    def error_body(self, status, message):
        return _error(message)

    def route(self, method, path, query, headers, raw_body, entry):
        entry.setdefault("authorized", None)
        status, body = self._route(method, path, query, headers, raw_body, entry)
        return Reply(status, body)

    def _route(self, method, path, query, headers, raw_body, entry):
        """One request to the organization's API: (status, body) after the token and the path are checked."""
        if not self._authorized(headers.get("Authorization", "")):
            return 401, _error("You must provide a valid authorization token to access this resource.")
        entry["authorized"] = True
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] != ["v1", "organizations"] or len(parts) < 4:
            return 404, _error("Not found")
        if parts[2] != self.organization_id:
            return 404, _error("Organization not found")
        body = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                return 400, _error("The request body is not valid JSON")
            entry["json"] = body
        resource, rest = parts[3], parts[4:]
        if resource == "badges" and not rest and method == "POST":
            return self._issue(body if isinstance(body, dict) else {})
        if resource == "badges" and not rest and method == "GET":
            return self._list(path, self.badges.values(), query, BADGE_FILTERS, _badge_filter)
        if resource == "badges" and len(rest) == 1 and method == "GET":
            badge = self.badges.get(rest[0])
            return (200, {"data": badge}) if badge else (404, _error("Badge not found"))
        if resource == "badges" and len(rest) == 2 and rest[1] == "revoke" and method == "PUT":
            return self._revoke(rest[0], body if isinstance(body, dict) else {})
        if resource == "badge_templates" and not rest and method == "GET":
            return self._list(path, self.templates.values(), query, TEMPLATE_FILTERS, _template_filter)
        if resource == "events" and len(rest) == 1 and method == "GET":
            event = self.events.get(rest[0])
            return (200, {"data": event}) if event else (404, _error("Event not found"))
        return 404, _error("Not found")

    def _authorized(self, header):
        """Whether the Authorization header is HTTP Basic with the organization's token."""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return bool(sep) and user == self.token and password == ""

    def _issue(self, body):
        """POST a badge: the badge, or Credly's 422 naming each missing or invalid field."""
        errors = [(field, "can't be blank") for field in REQUIRED if not str(body.get(field) or "").strip()]
        if body.get("issued_at") and not ISSUED_AT.match(str(body["issued_at"])):
            errors.append(("issued_at", "is not a valid date (expected YYYY-MM-DD HH:MM:SS +ZZZZ)"))
        if body.get("expires_at") not in (None, False) and not ISSUED_AT.match(str(body["expires_at"])):
            errors.append(("expires_at", "is not a valid date (expected YYYY-MM-DD HH:MM:SS +ZZZZ)"))
        if errors:
            return 422, _error("Validation failed: " + ", ".join(f"{f} {m}" for f, m in errors), errors)
        template = self.templates.get(body["badge_template_id"])
        if template is None:
            return 422, _error("Badge template not found", [("badge_template_id", "not found")])
        if template["state"] != "active":
            return 422, _error("An archived badge template cannot be used to issue badges",
                               [("badge_template_id", "is not active")])
        for badge in self.badges.values():
            same = (badge["recipient_email"].lower() == body["recipient_email"].lower()
                    or (body.get("issuer_earner_id") and badge["issuer_earner_id"] == body["issuer_earner_id"]))
            if same and badge["badge_template"]["id"] == template["id"] and badge["state"] != "revoked":
                return 422, _error("User already has this badge", [("user", "already has this badge")])
        return 201, {"data": self._create_badge(body)}

    def _create_badge(self, body, state="pending"):
        """Store a badge of ``body`` (already checked) in ``state``; returns it."""
        badge_id = str(uuid.uuid4())
        template = self.templates[body["badge_template_id"]]
        badge = {
            "id": badge_id, "state": state, "recipient_email": body["recipient_email"],
            "issued_to_first_name": body["issued_to_first_name"], "issued_to_last_name": body["issued_to_last_name"],
            "issued_to": f'{body["issued_to_first_name"]} {body["issued_to_last_name"]}',
            "issued_at": body["issued_at"], "expires_at": body.get("expires_at"),
            "issuer_earner_id": body.get("issuer_earner_id"), "locale": body.get("locale", "en"),
            "evidence": body.get("evidence") or [],
            "suppress_badge_notification_email": bool(body.get("suppress_badge_notification_email", False)),
            "badge_template": {"id": template["id"], "name": template["name"], "state": template["state"]},
            "badge_url": f"https://www.credly.com/badges/{badge_id}",
            "created_at": _now(), "updated_at": _now(), "revoked_at": None, "revocation_reason": None,
        }
        self.badges[badge_id] = badge
        return copy.deepcopy(badge)

    def _revoke(self, badge_id, body):
        """PUT a badge's revocation: revoked with its reason, or Credly's 404 or 422."""
        badge = self.badges.get(badge_id)
        if badge is None:
            return 404, _error("Badge not found")
        if not str(body.get("reason") or "").strip():
            return 422, _error("Validation failed: reason can't be blank", [("reason", "can't be blank")])
        if badge["state"] == "revoked":
            return 422, _error("Badge has already been revoked", [("state", "is already revoked")])
        badge.update(state="revoked", revoked_at=_now(), updated_at=_now(), revocation_reason=body["reason"],
                     suppress_revoke_notification_email=bool(body.get("suppress_revoke_notification_email")))
        return 200, {"data": copy.deepcopy(badge)}

    def _list(self, path, items, query, allowed, match):
        """One page of ``items`` that pass the ``filter`` clauses (keys in ``allowed``, tested by ``match``)."""
        filters = {}
        for clause in filter(None, (query.get("filter") or "").split("|")):
            key, sep, value = clause.partition("::")
            if not sep or key not in allowed:
                return 422, _error(f"Invalid filter: {clause}")
            filters[key] = value
        try:
            page = int(query.get("page") or 1)
        except ValueError:
            return 422, _error("Invalid page")
        found = [copy.deepcopy(item) for item in items if all(match(item, k, v) for k, v in filters.items())]
        total_pages = max(1, -(-len(found) // self.per_page))
        chunk = found[(page - 1) * self.per_page: page * self.per_page] if page >= 1 else []

        def page_url(number):
            host, port = self._httpd.server_address[:2]
            return f"http://{host}:{port}{path}?" + urlencode({**query, "page": number})

        return 200, {"data": chunk, "metadata": {
            "count": len(chunk), "current_page": page, "total_count": len(found), "total_pages": total_pages,
            "per": self.per_page, "previous_page_url": page_url(page - 1) if page > 1 else None,
            "next_page_url": page_url(page + 1) if page < total_pages else None}}


def _badge_filter(badge, key, value):
    """Whether ``badge`` passes the filter clause ``key::value``."""
    if key in ("recipient_email", "recipient_email_all"):
        return badge["recipient_email"].lower() == value.lower()
    if key == "badge_template_id":
        return badge["badge_template"]["id"] == value
    if key == "state":
        return badge["state"] in value.split(",")
    return str(badge.get(key)) == value


def _template_filter(template, key, value):
    return template["state"] in value.split(",") if key == "state" else False


def _error(message, field_errors=()):
    data = {"message": message}
    if field_errors:
        data["errors"] = [{"attribute": field, "messages": [text]} for field, text in field_errors]
    return {"data": data, "metadata": {}}


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
