"""
A local stand-in for the Open Badge Factory REST API v1, over real sockets, for the backend tests.

The surface of ``/work/shared/platforms.md`` plus the event listing the official Moodle plugin
uses: OAuth2 client credentials at ``POST /v1/client/oauth2/token`` (form-encoded), then Bearer;
``GET /v1/ping/{client_id}``; ``GET /v1/badge/{client_id}/{badge_id}``; issuing with
``POST /v1/badge/{client_id}/{badge_id}`` (201, ``Location: /v1/event/{client_id}/{event_id}``,
no body); ``GET /v1/event/{client_id}?badge_id=&email=`` (one JSON object per line, ``\\r\\n``);
``GET`` / ``DELETE /v1/event/{client_id}/{event_id}`` (``?email=a|b`` revokes those recipients).

Tokens are short-lived: each expires after ``token_max_uses`` uses or ``token_max_age`` seconds,
whatever ``expires_in`` announced (``token_expires_in``), and an expired or unknown token gets
403 ``{"error": ...}``, as OBF answers. OBF does not refuse a second event of the same badge for
the same recipient.

    with OBFServer() as obf:
        backend = OpenBadgeFactoryBackend("x", {"base_url": obf.base_url, "client_id": obf.client_id,
                                                 "client_secret": obf.client_secret})
"""

import copy
import json
import re
import time
import uuid
from urllib.parse import unquote

from .faults import FakeServer, Reply

EMAIL = re.compile(r"^(?:[^<>]*<)?([^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>?$")


class OBFServer(FakeServer):
    """Open Badge Factory's API v1 as the backend uses it: client-credentials tokens, badges and events."""
    name = "obf"

    def __init__(self, client_id=None, client_secret=None, token_expires_in=600, token_max_uses=None,
                 token_max_age=None):
        super().__init__()
        self.client_id = client_id or f"CL{uuid.uuid4().hex[:10].upper()}"
        self.client_secret = client_secret or f"obf-secret-{uuid.uuid4().hex}"
        self.token_expires_in = token_expires_in  # what the token endpoint announces
        self.token_max_uses = token_max_uses  # when the server really stops accepting a token
        self.token_max_age = token_max_age
        self.tokens = {}  # token -> {"issued": monotonic, "uses": int}
        self.token_fetches = 0
        self.badges = {}  # id -> badge
        self.events = {}  # id -> event
        self.default_badge_id = self.add_badge("Python Foundations")

    def add_badge(self, name, draft=False):
        """A badge named ``name`` of the client (a draft cannot be issued); returns its id."""
        badge_id = uuid.uuid4().hex[:13].upper()
        with self.lock:
            self.badges[badge_id] = {"id": badge_id, "name": name, "description": f"About {name}", "draft": draft,
                                     "client_id": self.client_id, "expires": 0, "tags": [], "ctime": int(time.time())}
        return badge_id

    def add_event(self, email, badge_id=None, **fields):
        """An issuing event that exists upstream without having been created through the API under test."""
        with self.lock:
            return self._create_event(badge_id or self.default_badge_id, {"recipient": [email], **fields})["id"]

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    def events_of(self, email):
        with self.lock:
            return [copy.deepcopy(e) for e in self.events.values()
                    if email.lower() in [_address(r) for r in e["recipient"]]]

    # --- the API --------------------------------------------------------------------------------

    def error_body(self, status, message):
        return {"error": message}

    def route(self, method, path, query, headers, raw_body, entry):
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["v1", "client", "oauth2", "token"] and method == "POST":
            return self._token(entry["form"] or {})
        if not self._authorized(headers.get("Authorization", "")):
            return Reply(403, {"error": "Access denied: invalid or expired access token"})
        if len(parts) < 3 or parts[0] != "v1":
            return Reply(404, {"error": "Not found"})
        resource, client_id, rest = parts[1], parts[2], parts[3:]
        if client_id != self.client_id:
            return Reply(403, {"error": "Access denied"})
        body = entry["json"]
        if resource == "ping" and not rest and method == "GET":
            return Reply(200, self.client_id, content_type="text/plain")
        if resource == "badge" and len(rest) == 1:
            badge = self.badges.get(rest[0])
            if badge is None:
                return Reply(404, {"error": "Badge not found"})
            if method == "GET":
                return Reply(200, copy.deepcopy(badge))
            if method == "POST":
                return self._issue(badge, body if isinstance(body, dict) else None)
        if resource == "event" and not rest and method == "GET":
            return self._list(query)
        if resource == "event" and len(rest) == 1:
            event = self.events.get(rest[0])
            if event is None:
                return Reply(404, {"error": "Event not found"})
            if method == "GET":
                return Reply(200, copy.deepcopy(event))
            if method == "DELETE":
                return self._revoke(event, query)
        return Reply(404, {"error": "Not found"})

    def _token(self, form):
        """The token endpoint: a bearer token for the client-credentials grant, or OAuth2's error."""
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.tokens[token] = {"issued": time.monotonic(), "uses": 0}
        self.token_fetches += 1
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_expires_in})

    def _authorized(self, header):
        """Whether the Authorization header carries a bearer token that is neither unknown nor expired."""
        scheme, _, token = header.partition(" ")
        state = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if state is None:
            return False
        if (self.token_max_uses is not None and state["uses"] >= self.token_max_uses) or \
                (self.token_max_age is not None and time.monotonic() - state["issued"] > self.token_max_age):
            return False
        state["uses"] += 1
        return True

    def _issue(self, badge, body):
        """POST a badge's event: issued to its recipients, or OBF's 400 for a bad body or a draft badge."""
        if body is None:
            return Reply(400, {"error": "Invalid JSON request body"})
        if badge["draft"]:
            return Reply(400, {"error": "A draft badge cannot be issued"})
        recipients = body.get("recipient")
        if not isinstance(recipients, list) or not recipients:
            return Reply(400, {"error": "Missing recipient"})
        invalid = [r for r in recipients if not isinstance(r, str) or not EMAIL.match(r.strip())]
        if invalid:
            return Reply(400, {"error": f"Invalid recipient email address: {invalid[0]}"})
        for key in ("issued_on", "expires"):
            if body.get(key) not in (None, "", 0) and not isinstance(body[key], int):
                return Reply(400, {"error": f"Invalid {key}: expected a unix timestamp"})
        event = self._create_event(badge["id"], body)
        return Reply(201, None, headers={"Location": f"/v1/event/{self.client_id}/{event['id']}"})

    def _create_event(self, badge_id, body):
        """Store an issuing event of ``badge_id`` from ``body`` (already checked); returns its id."""
        event_id = uuid.uuid4().hex[:12].upper()
        event = {"id": event_id, "badge_id": badge_id, "name": self.badges[badge_id]["name"],
                 "recipient": list(body["recipient"]), "issued_on": body.get("issued_on") or int(time.time()),
                 "expires": body.get("expires") or None, "revoked": {}, "timestamp": int(time.time()),
                 "log_entry": body.get("log_entry") or {}, "send_email": body.get("send_email"),
                 "email_subject": body.get("email_subject")}
        self.events[event_id] = event
        return copy.deepcopy(event)

    def _list(self, query):
        """GET /event: the events, by badge and by recipient email, as JSON lines."""
        found = list(self.events.values())
        if query.get("badge_id"):
            found = [e for e in found if e["badge_id"] == query["badge_id"]]
        if query.get("email"):
            email = query["email"].lower()
            found = [e for e in found if email in [_address(r) for r in e["recipient"]]]
        lines = "\r\n".join(json.dumps(e) for e in found)
        return Reply(200, lines + ("\r\n" if lines else ""))

    def _revoke(self, event, query):
        """DELETE an event's recipients (``email``, separated by ``|``): revoked for them."""
        emails = [e for e in (query.get("email") or "").split("|") if e]
        if not emails:
            return Reply(400, {"error": "Missing email parameter"})
        for email in emails:
            if email.lower() in [_address(r) for r in event["recipient"]]:
                event["revoked"].setdefault(email.lower(), int(time.time()))
        return Reply(204)


def _address(value):
    match = EMAIL.match(str(value).strip())
    return (match.group(1) if match else str(value)).lower()
