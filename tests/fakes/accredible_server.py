"""
A local stand-in for the Accredible Credential API (v1), over real sockets, for the backend tests.

The surface of ``/work/shared/platforms.md`` and nothing more: ``Authorization: Token
token=API_KEY`` (``Bearer API_KEY`` is accepted too, as some clients send it), create / view /
update / delete credentials, ``POST /v1/credentials/search`` and ``GET /v1/issuer/all_groups``,
paged with ``page`` / ``page_size`` and a ``meta`` block.

It refuses the way Accredible's documentation and its Moodle plugin's fixtures show: 401
``{"success": false, "data": ...}`` for a bad key, 400 ``{"code", "message", "status", "errors"}``
for a malformed request, 422 ``{"errors": {field: [messages]}}`` for invalid fields, 404 for an
unknown credential. A group refuses a second credential for the same recipient by default (as
documented); the message of that refusal is not verified.

    with AccredibleServer() as accredible:
        backend = AccredibleBackend("x", {"base_url": accredible.base_url, "api_key": accredible.api_key})
"""

import copy
import re
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

from .faults import FakeServer, Reply

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DAY = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})$")


class AccredibleServer(FakeServer):
    """Accredible's Credential API v1 as the backend uses it: groups, credentials and search, key-authorized."""
    name = "accredible"

    def __init__(self, api_key=None, page_size_max=100):
        super().__init__()
        self.api_key = api_key or f"accredible-key-{uuid.uuid4().hex}"
        self.page_size_max = page_size_max
        self.groups = {}  # id (int) -> group
        self.credentials = {}  # id (int) -> credential
        self.echo_authorization = False  # a 401 that echoes the header it got (to test redaction)
        self._next_id = 10000001
        self.default_group_id = self.add_group("Python Foundations")

    def add_group(self, name, course_name=None, allow_duplicates=False):
        """A group (Accredible's credential template) named ``name``; returns its id."""
        with self.lock:
            group_id = 9000 + len(self.groups) + 1
            self.groups[group_id] = {"id": group_id, "name": name, "course_name": course_name or name,
                                     "course_description": f"About {name}", "allow_duplicates": allow_duplicates}
            return group_id

    def add_credential(self, email, group_id=None, **fields):
        """A credential that exists upstream without having been created through the API under test."""
        with self.lock:
            return self._create({"recipient": {"name": "Seeded Learner", "email": email},
                                 "group_id": group_id or self.default_group_id, **fields})["id"]

    def credentials_of(self, email):
        with self.lock:
            return [copy.deepcopy(c) for c in self.credentials.values()
                    if c["recipient"]["email"].lower() == email.lower()]

    # --- the API --------------------------------------------------------------------------------

    def error_body(self, status, message):
        return {"success": False, "data": message} if status in (401, 404) else {"errors": message}

    def route(self, method, path, query, headers, raw_body, entry):
        auth = headers.get("Authorization", "")
        if auth not in (f"Token token={self.api_key}", f"Bearer {self.api_key}"):
            message = "Invalid API key"
            if self.echo_authorization:
                message += f" (got Authorization: {auth})"
            return Reply(401, {"success": False, "data": message})
        body = entry["json"]
        if raw_body and body is None:
            return Reply(400, _bad_request("the request body is not valid JSON"))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["v1", "credentials"] and method == "POST":
            return self._issue(body)
        if parts == ["v1", "credentials", "search"] and method == "POST":
            return self._search(body if isinstance(body, dict) else {})
        if parts == ["v1", "issuer", "all_groups"] and method == "GET":
            return self._page("groups", [self._public_group(g) for g in self.groups.values()], query)
        if len(parts) == 3 and parts[:2] == ["v1", "credentials"]:
            credential = self.credentials.get(int(parts[2])) if parts[2].isdigit() else None
            if credential is None:
                return Reply(404, {"success": False, "data": "Credential not found"})
            if method == "GET":
                return Reply(200, {"credential": copy.deepcopy(credential)})
            if method == "DELETE":
                del self.credentials[credential["id"]]
                return Reply(200, {"credential": copy.deepcopy(credential)})
            if method in ("PUT", "PATCH"):
                changes = (body or {}).get("credential") if isinstance(body, dict) else None
                if not isinstance(changes, dict):
                    return Reply(400, _bad_request("param is missing or the value is empty: credential"))
                for key in ("name", "description", "expired_on", "issued_on", "approve", "complete",
                            "custom_attributes", "private"):
                    if key in changes:
                        credential[key] = changes[key]
                return Reply(200, {"credential": copy.deepcopy(credential)})
        return Reply(404, {"success": False, "data": "Not found"})

    def _issue(self, body):
        """POST /v1/credentials: the credential, or Accredible's 400 or 422 for a missing or invalid field."""
        credential = body.get("credential") if isinstance(body, dict) else None
        if not isinstance(credential, dict):
            return Reply(400, _bad_request("param is missing or the value is empty: credential"))
        recipient = credential.get("recipient") if isinstance(credential.get("recipient"), dict) else {}
        errors = {}
        if not str(recipient.get("name") or "").strip():
            errors["recipient_name"] = ["can't be blank"]
        email = str(recipient.get("email") or "").strip()
        if not email:
            errors["recipient_email"] = ["can't be blank"]
        elif not EMAIL.match(email):
            errors["recipient_email"] = ["is invalid"]
        group = self._group(credential.get("group_id"))
        if credential.get("group_id") in (None, ""):
            errors["group_id"] = ["can't be blank"]
        elif group is None:
            errors["group_id"] = ["group not found"]
        for key in ("issued_on", "expired_on"):
            if credential.get(key) not in (None, "") and not DAY.match(str(credential[key])):
                errors[key] = ["is not a valid date"]
        if errors:
            return Reply(422, {"errors": errors})
        if not group["allow_duplicates"] and any(
                c["group_id"] == group["id"] and c["recipient"]["email"].lower() == email.lower()
                for c in self.credentials.values()):
            return Reply(422, {"errors": {"recipient_email": ["already has a credential in this group"]}})
        return Reply(200, {"credential": self._create(credential)})

    def _create(self, fields):
        """Store a credential of ``fields`` (already checked) in its group; returns it."""
        group = self._group(fields["group_id"])
        credential_id = self._next_id
        self._next_id += 1
        recipient = fields["recipient"]
        credential = {
            "id": credential_id, "name": fields.get("name") or group["course_name"],
            "description": fields.get("description") or group["course_description"],
            "approve": fields.get("approve", True), "grade": None, "complete": fields.get("complete", True),
            "issued_on": fields.get("issued_on") or datetime.now(timezone.utc).date().isoformat(),
            "expired_on": fields.get("expired_on"), "custom_attributes": fields.get("custom_attributes"),
            "group_name": group["name"], "group_id": group["id"],
            "url": f"https://www.credential.net/{credential_id}", "encoded_id": str(credential_id),
            "private": False,
            "evidence_items": [
                {"id": index + 1, "description": item.get("description"), "link_url": item.get("url"),
                 "type": item.get("category", "url"), "string_object": None, "supplemental": False,
                 "position": index + 1}
                for index, item in enumerate(fields.get("evidence_items") or []) if isinstance(item, dict)],
            "recipient": {"name": recipient["name"], "email": recipient["email"], "id": None, "meta_data": None},
            "issuer": {"name": "Example Organization", "description": None, "url": "https://example.org",
                       "id": 4897},
            "meta_data": fields.get("meta_data"),
        }
        self.credentials[credential_id] = credential
        return copy.deepcopy(credential)

    def _search(self, body):
        """POST /v1/credentials/search: the credentials of a group and a recipient, one page of them."""
        found = list(self.credentials.values())
        if body.get("group_id") not in (None, ""):
            found = [c for c in found if str(c["group_id"]) == str(body["group_id"])]
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
        if recipient.get("email"):
            found = [c for c in found if c["recipient"]["email"].lower() == str(recipient["email"]).lower()]
        listed = [{key: copy.deepcopy(c[key]) for key in (
            "id", "name", "description", "grade", "complete", "issued_on", "custom_attributes", "expired_on",
            "group_name", "group_id", "private", "recipient", "issuer", "meta_data", "url")} for c in found]
        return self._page("credentials", listed, body)

    def _page(self, key, items, params):
        """One page of ``items`` under ``key``, as the ``page`` and ``page_size`` parameters ask."""
        try:
            page = int(params.get("page") or 1)
            size = min(int(params.get("page_size") or 50), self.page_size_max)
        except (TypeError, ValueError):
            return Reply(400, _bad_request("invalid pagination"))
        total_pages = max(1, -(-len(items) // size))
        chunk = items[(page - 1) * size: page * size] if page >= 1 else []
        return Reply(200, {key: chunk, "meta": {
            "current_page": page, "next_page": page + 1 if page < total_pages else None,
            "prev_page": page - 1 if page > 1 else None, "total_pages": total_pages, "total_count": len(items)}})

    def _group(self, value):
        try:
            return self.groups.get(int(value))
        except (TypeError, ValueError):
            return next((g for g in self.groups.values() if g["name"] == value), None)  # a group name works too

    @staticmethod
    def _public_group(group):
        return {key: value for key, value in group.items() if key != "allow_duplicates"}


def _bad_request(message):
    return {"code": 400, "message": message, "status": "Bad Request", "errors": {}}
