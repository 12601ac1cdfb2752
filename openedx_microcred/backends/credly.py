"""
Credly (web service API v1): issue, find, revoke badges of one organization; check templates;
confirm webhook events.

Account settings (``MICROCRED_PLATFORM_ACCOUNTS``)::

    "credly": {
        "backend": "credly",
        "base_url": "https://sandbox-api.credly.com/v1/",   # default https://api.credly.com/v1/
        "organization_id": "...",
        "token": "...",                                     # the organization's authorization token (secret)
        "suppress_badge_notification_email": False,         # optional: we send our own email
        "suppress_revoke_notification_email": False,        # optional
        "locale": "en",                                     # optional: language of Credly's emails
        "last_name_fallback": "-",                          # optional, see _names()
        "timeout": [5, 20],                                 # optional: connect, read seconds
    }

Credly facts relied on (``/work/shared/platforms.md`` and Credly's "Issued Badges" and "Badge
Templates" documents): HTTP Basic with the token as user name and an empty password; JSON; every
path under ``organizations/{id}/``; lists take ``filter=key::value|key::value`` and ``page=N`` and
answer ``{"data": [...], "metadata": {"total_pages", "next_page_url", ...}}``; one object answers
``{"data": {...}}``. A second live badge of one template for one recipient (same email, same
Credly user, or same ``issuer_earner_id``) is refused with a 422.

Not verified, so handled loosely: the error body (any 4xx text is passed on, redacted), what
revoking a revoked badge answers (we check the badge's state instead of trusting the answer), and
the evidence item's field names (``UrlEvidence`` with ``name`` and ``value``).
"""

import re
from datetime import timezone
from urllib.parse import quote, urljoin

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

DEFAULT_BASE_URL = "https://api.credly.com/v1/"
# Guard against a platform that keeps announcing one more page.
MAX_PAGES = 200
# Credly's ids (organizations, events, badges, templates) are UUIDs in their canonical form.
CREDLY_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_credly_id(value) -> bool:
    """
    True for a string in Credly's id format. Ids taken from outside (a webhook body) are checked
    with this before they go into a URL: quoting cannot stop ``.`` or ``..``, which URL joining
    resolves to another path.
    """
    return isinstance(value, str) and CREDLY_ID.fullmatch(value) is not None


def credly_time(moment) -> str:
    """``"2026-03-04 05:06:07 +0000"``: Credly's documented timestamp format, in UTC (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")


def split_name(first, last, email, fallback="-"):
    """
    (first name, last name), both non-empty, as Credly requires. What we have is used as given;
    a missing half is taken from the other half when it has several words ("Ada King Lovelace"
    -> "Ada King", "Lovelace"); otherwise the last name becomes ``fallback`` ("-" by default: a
    visible placeholder rather than an invented name) and a missing first name becomes the part of
    the email address before the "@".
    """
    first, last = (first or "").strip(), (last or "").strip()
    if first and last:
        return first, last
    whole = first or last
    if " " in whole:
        head, tail = whole.rsplit(" ", 1)
        return head.strip(), tail
    return (whole or email.split("@", 1)[0] or "-"), (fallback or "-")


class CredlyBackend(BadgeBackend):
    """Credly (Pearson): issues and revokes badges from a template through the organization's API token."""

    name = "credly"
    secret_keys = ("token",)
    target_key = "template_id"

    def __init__(self, account_name, config, session=None):
        super().__init__(account_name, config, session=session)
        if isinstance(self.timeout, list):  # settings written as JSON give lists; requests wants a tuple
            self.timeout = tuple(self.timeout)
        base_url = config.get("base_url") or DEFAULT_BASE_URL
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    # --- plumbing ---------------------------------------------------------------------------------

    def _url(self, *segments):
        """The API URL of ``segments`` under the account's organization; PermanentError until it is configured."""
        organization = self.config.get("organization_id")
        if not organization or not self.config.get("token"):
            raise PermanentError(f"account {self.account_name!r}: organization_id and token must be configured")
        # Every segment is quoted whole: an id coming from outside (a webhook) cannot reach another path.
        path = "/".join(quote(str(part), safe="") for part in ("organizations", organization, *segments))
        return urljoin(self.base_url, path)

    def _call(self, method, url, **kwargs):
        kwargs.setdefault("auth", (self.config["token"], ""))
        kwargs.setdefault("headers", {"Accept": "application/json"})
        return call(self, method, url, **kwargs)

    def _data(self, response, what):
        """The "data" of a Credly answer; TransientError when it has none."""
        try:
            body = response.json()
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, (dict, list)):
            raise TransientError(self.redact(f"{what}: Credly answered {response.status_code} without data"),
                                 status=response.status_code)
        return data

    def _paged(self, segments, params):
        """
        Every item of a paged list, page by page with ``page=N`` (``next_page_url`` is never followed:
        it would carry our token to whatever host it names).
        """
        url = self._url(*segments)
        for page in range(1, MAX_PAGES + 1):
            response = self._call("GET", url, params={**params, "page": page})
            try:
                body = response.json()
            except ValueError:
                body = {}
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise TransientError(self.redact(f"GET {url}: Credly answered without a list"))
            yield from (item for item in items if isinstance(item, dict) and item.get("id"))
            metadata = body.get("metadata") or {}
            total_pages = metadata.get("total_pages")
            more = page < total_pages if isinstance(total_pages, int) else bool(metadata.get("next_page_url"))
            if not items or not more:
                return
        raise TransientError(self.redact(f"GET {url}: more than {MAX_PAGES} pages"))

    # --- the interface ----------------------------------------------------------------------------

    def _template_id(self, target):
        template_id = str((target or {}).get("template_id") or "").strip()
        if not template_id:
            raise PermanentError(f"account {self.account_name!r}: the credential's Credly target has no template_id")
        return template_id

    def payload(self, request: BadgeRequest) -> dict:
        """The documented issue body for this request."""
        first, last = split_name(request.first_name, request.last_name, request.recipient_email,
                                 self.config.get("last_name_fallback", "-"))
        body = {
            "badge_template_id": self._template_id(request.target),
            "recipient_email": request.recipient_email,
            "issued_to_first_name": first,
            "issued_to_last_name": last,
            "issued_at": credly_time(request.issued_at),  # when the learner earned it, not "now"
            "issuer_earner_id": request.award_uuid,  # ours: lets us recognise the badge later
            "suppress_badge_notification_email": bool(self.config.get("suppress_badge_notification_email", False)),
        }
        if request.expires_at is not None:
            body["expires_at"] = credly_time(request.expires_at)
        # Without expires_at Credly applies the template's default expiration.
        if self.config.get("locale"):
            body["locale"] = self.config["locale"]
        if request.evidence_url:
            body["evidence"] = [{"type": "UrlEvidence", "name": request.credential_title or "Credential",
                                 "value": request.evidence_url}]
        return body

    def issue(self, request: BadgeRequest) -> IssueResult:
        url = self._url("badges")
        try:
            response = self._call("POST", url, creates=True, json=self.payload(request))
        except PermanentError as exc:
            # Credly refuses a duplicate with a 422 ("already has this badge"; the body's wording is
            # not verified, so any 422 is checked): that badge is ours to record, not a failure.
            if exc.status == 422:
                existing = self.find_existing(request)
                if existing is not None:
                    return existing
            raise
        try:
            data = self._data(response, f"POST {url}")
        except DeliveryError as exc:
            raise OutcomeUnknown(str(exc), status=response.status_code) from exc
        if not isinstance(data, dict) or not data.get("id"):
            raise OutcomeUnknown(self.redact(f"POST {url}: Credly answered {response.status_code} without a badge id"),
                                 status=response.status_code)
        return _result(data)

    def find_existing(self, request: BadgeRequest) -> IssueResult | None:
        """The live (not revoked) badge of this template for this recipient, ours first."""
        template_id = self._template_id(request.target)
        email = request.recipient_email
        live = []
        # recipient_email_all: every address of the Credly user, as Credly's duplicate rule does.
        search = {"filter": f"recipient_email_all::{email}|badge_template_id::{template_id}"}
        for badge in self._paged(["badges"], search):
            if badge.get("state") == "revoked" or not _same_template(badge, template_id):
                continue  # also guards against a filter Credly would ignore
            if badge.get("issuer_earner_id") == request.award_uuid:
                return _result(badge)
            if str(badge.get("recipient_email") or email).lower() == email.lower():
                live.append(badge)
        return _result(live[0]) if live else None

    def revoke(self, external_id: str, request: BadgeRequest, reason: str) -> None:
        url = self._url("badges", external_id, "revoke")
        suppress = bool(self.config.get("suppress_revoke_notification_email", False))
        body = {"reason": (reason or "").strip() or "Revoked by the issuer",
                "suppress_revoke_notification_email": suppress}
        try:
            self._call("PUT", url, json=body)
        except PermanentError as exc:
            # Revoking twice is not an error for us; whatever Credly answers, the badge's state decides.
            if exc.status in (400, 409, 422) and self.fetch_state(external_id) == "revoked":
                return
            raise

    def fetch_state(self, external_id: str) -> str:
        url = self._url("badges", external_id)
        data = self._data(self._call("GET", url), f"GET {url}")
        return str(data.get("state") or "") if isinstance(data, dict) else ""

    def validate_target(self, target: dict) -> list:
        try:
            template_id = self._template_id(target)
        except PermanentError:
            return ["template_id is required: the id of an active Credly badge template"]
        try:
            active = {str(t.get("id")) for t in self._paged(["badge_templates"], {"filter": "state::active"})}
        except DeliveryError as exc:
            return [f"could not list the Credly badge templates: {exc}"]
        if template_id not in active:
            return [f"{template_id!r} is not an active badge template of Credly organization "
                    f"{self.config.get('organization_id')}"]
        return []

    def list_templates(self) -> list:
        """The organization's active badge templates."""
        return [(str(t["id"]), str(t.get("name") or t["id"]))
                for t in self._paged(["badge_templates"], {"filter": "state::active"})]

    def fetch_event(self, event_id: str) -> dict:
        """The event as Credly tells it to us (``GET organizations/{org}/events/{id}``), unwrapped from ``data``."""
        if not is_credly_id(event_id):
            raise PermanentError(f"{event_id!r:.80} is not a Credly event id (a UUID)")
        url = self._url("events", event_id)
        data = self._data(self._call("GET", url), f"GET {url}")
        if not isinstance(data, dict):
            raise TransientError(self.redact(f"GET {url}: Credly answered without an event"))
        return data


def _same_template(badge, template_id):
    template = badge.get("badge_template") if isinstance(badge.get("badge_template"), dict) else {}
    found = template.get("id") or badge.get("badge_template_id")
    return found is None or str(found) == template_id


def _result(badge) -> IssueResult:
    return IssueResult(external_id=str(badge["id"]), state=badge.get("state"), url=badge.get("badge_url"))
