"""
Accredible (Credential API v1): one credential per award, in the group the credential's target
names.

Account settings::

    "accredible-main": {"backend": "accredible", "base_url": "https://api.accredible.com/",
                        "api_key": "...", "timeout": (5, 20)}

(EU: ``https://eu.api.accredible.com/``, sandbox: ``https://sandbox.api.accredible.com/``.)
A credential's target: ``{"group_id": 12345}`` (the group carries design and course texts).

Revocation deletes the credential (``DELETE /v1/credentials/{id}``). Accredible has no revoked
state; the alternative, expiring it by setting ``expired_on``, would leave a page that still shows
the achievement as earned (only "expired"), which is not what a revocation means. Deleting makes
the public credential stop verifying. A credential that is already gone counts as revoked, so
revoking twice is harmless.

The award's uuid travels in ``custom_attributes.award_uuid`` and our evidence link (the award's
public page) in ``evidence_items``; after an unknown outcome, ``find_existing`` searches the group
for the recipient's credentials and returns only the one carrying this award's mark.
"""

import re
from datetime import date, datetime, timezone
from urllib.parse import quote

from .base import (
    BadgeBackend,
    BadgeRequest,
    DeliveryError,
    IssueResult,
    OutcomeUnknown,
    PermanentError,
    TransientError,
    call,
)

DEFAULT_BASE_URL = "https://api.accredible.com/"
PAGE_SIZE = 100
MAX_PAGES = 50  # a search this long without an answer is not trusted as "absent"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AccredibleBackend(BadgeBackend):
    """Accredible: credentials in a group, by recipient email."""

    name = "accredible"
    secret_keys = ("api_key",)
    target_key = "group_id"

    @property
    def base_url(self):
        return (self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    def _call(self, method, path, **kwargs):
        headers = {"Authorization": f"Token token={self.config.get('api_key', '')}", "Accept": "application/json"}
        return call(self, method, f"{self.base_url}{path}", headers=headers, **kwargs)

    # --- the interface ------------------------------------------------------------------------

    def issue(self, request: BadgeRequest) -> IssueResult:
        credential = {
            "recipient": {"name": request.full_name or request.recipient_email, "email": request.recipient_email},
            "group_id": _group_id(request.target),
            "name": request.credential_title,
            "description": request.credential_description,
            "issued_on": _day(request.issued_at),
            "expired_on": _day(request.expires_at) if request.expires_at else None,
            "complete": True,
            "evidence_items": [{"description": "Credential record", "url": request.evidence_url, "category": "url"}],
            "custom_attributes": {"award_uuid": request.award_uuid},
        }
        try:
            response = self._call("POST", "/v1/credentials", json={"credential": credential}, creates=True)
        except PermanentError as exc:
            # A group refuses a second credential for the same recipient (the default): if the one it
            # has is this award's, an earlier attempt whose answer we lost created it.
            existing = self._own_credential(request) if exc.status in (400, 422) else None
            if existing is None:
                raise
            return existing
        found = _credential(response)
        if not found.get("id"):
            # Created (2xx) but we cannot tell which credential it is: look it up before anything is resent.
            raise OutcomeUnknown(self.redact(f"POST {self.base_url}/v1/credentials: {response.status_code} without a "
                                             f"credential id: {response.text[:300]}"))
        return _result(found)

    def _own_credential(self, request):
        try:
            return self.find_existing(request)
        except DeliveryError:
            return None  # the refusal stands

    def revoke(self, external_id: str, request: BadgeRequest, reason: str) -> None:
        try:
            self._call("DELETE", f"/v1/credentials/{quote(str(external_id), safe='')}")
        except PermanentError as exc:
            if exc.status != 404:  # already deleted: revoked
                raise

    def fetch_state(self, external_id: str) -> str:
        try:
            response = self._call("GET", f"/v1/credentials/{quote(str(external_id), safe='')}")
        except PermanentError as exc:
            if exc.status == 404:
                return "deleted"
            raise
        return _state(_credential(response))

    def find_existing(self, request: BadgeRequest) -> IssueResult | None:
        """
        This award's credential: among the recipient's credentials in the target group, the one
        carrying the award's uuid (or our evidence link). A credential without that mark was not
        created by us (every credential we create has it) and is never returned: adopting it
        would let a revocation delete a credential issued by hand.
        """
        group = _group_id(request.target)
        email = request.recipient_email.strip().lower()
        for page in range(1, MAX_PAGES + 1):
            response = self._call("POST", "/v1/credentials/search", json={
                "group_id": group, "recipient": {"email": request.recipient_email}, "page": page,
                "page_size": PAGE_SIZE})
            body = _json(response)
            credentials = body.get("credentials") if isinstance(body, dict) else None
            for credential in credentials or []:
                if not isinstance(credential, dict) or not credential.get("id") \
                        or not _same_recipient(credential, email) or not _same_group(credential, group):
                    continue
                if _award_mark(credential) is None and "evidence_items" not in credential:
                    credential = self._full(credential)  # search answers may leave the marks out
                if _award_mark(credential) == request.award_uuid or _has_evidence(credential, request.evidence_url):
                    return _result(credential)
            meta = body.get("meta") if isinstance(body, dict) else None
            if not credentials or not isinstance(meta, dict) or not meta.get("next_page"):
                return None
        raise TransientError(f"{self.base_url}/v1/credentials/search: more than {MAX_PAGES} pages for one recipient; "
                             "not concluding that the credential is absent")

    def _full(self, credential):
        """The credential as Accredible has it in full (the search answer may leave fields out)."""
        try:
            return _credential(self._call("GET", f"/v1/credentials/{quote(str(credential['id']), safe='')}"))
        except PermanentError as exc:
            if exc.status == 404:
                return credential  # deleted meanwhile
            raise

    def _groups(self):
        """Every group of the issuer, page by page."""
        for page in range(1, MAX_PAGES + 1):
            body = _json(self._call("GET", "/v1/issuer/all_groups", params={"page": page, "page_size": PAGE_SIZE}))
            groups = body.get("groups") if isinstance(body, dict) else None
            yield from (g for g in groups or [] if isinstance(g, dict) and g.get("id") not in (None, ""))
            meta = body.get("meta") if isinstance(body, dict) else None
            if not groups or not isinstance(meta, dict) or not meta.get("next_page"):
                return

    @staticmethod
    def target_value(text):
        return int(text) if text.isdigit() else text  # Accredible's group ids are numbers

    def list_templates(self) -> list:
        """The issuer's groups (a credential's design and settings in Accredible)."""
        return [(str(g["id"]), str(g.get("name") or g.get("course_name") or g["id"])) for g in self._groups()]

    def validate_target(self, target: dict) -> list:
        group = (target or {}).get("group_id")
        if group in (None, ""):
            return ["Accredible: the target needs a group_id."]
        try:
            for page in range(1, MAX_PAGES + 1):
                body = _json(self._call("GET", "/v1/issuer/all_groups", params={"page": page, "page_size": PAGE_SIZE}))
                groups = body.get("groups") if isinstance(body, dict) else None
                if any(isinstance(g, dict) and str(g.get("id")) == str(group) for g in groups or []):
                    return []
                meta = body.get("meta") if isinstance(body, dict) else None
                if not groups or not isinstance(meta, dict) or not meta.get("next_page"):
                    break
        except PermanentError as exc:
            return [f"Accredible: cannot list the groups of account {self.account_name!r}: {exc}"]
        return [f"Accredible: account {self.account_name!r} has no group {group!r}."]


# --- helpers ----------------------------------------------------------------------------------


def _group_id(target):
    group = (target or {}).get("group_id")
    if group in (None, ""):
        raise PermanentError("Accredible: the credential's target has no group_id")
    return int(group) if isinstance(group, str) and group.isdigit() else group


def _day(value):
    """A date, or a datetime in UTC, as the ISO day Accredible takes."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def _credential(response):
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("credential"), dict):
        return body["credential"]
    return body if isinstance(body, dict) else {}


def _state(credential):
    """The credential's state on Accredible: expired, unpublished or published."""
    expired_on = str(credential.get("expired_on") or "")[:10]
    if _ISO_DAY.match(expired_on) and expired_on < datetime.now(timezone.utc).date().isoformat():
        return "expired"
    if credential.get("approve") is False:
        return "unpublished"
    return "published"


def _result(credential):
    return IssueResult(external_id=str(credential["id"]), state=_state(credential), url=credential.get("url") or None)


def _same_recipient(credential, email):
    recipient = credential.get("recipient") or {}
    return str(recipient.get("email") or "").strip().lower() == email


def _same_group(credential, group):
    found = credential.get("group_id")
    return found in (None, "") or str(found) == str(group)


def _award_mark(credential):
    attributes = credential.get("custom_attributes")
    return attributes.get("award_uuid") if isinstance(attributes, dict) else None


def _has_evidence(credential, url):
    return any(isinstance(item, dict) and url in (item.get("url"), item.get("link_url"))
               for item in credential.get("evidence_items") or [])
