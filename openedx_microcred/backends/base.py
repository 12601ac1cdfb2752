"""
The interface every badge platform backend implements, and the errors that tell the delivery
task what to do next (retry, give up, or look the badge up before retrying).
"""

import base64
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests

# Seconds to connect and to wait for an answer; a platform slower than this is retried later.
DEFAULT_TIMEOUT = (5.0, 20.0)


@dataclass(frozen=True)
class BadgeRequest:
    """Everything a backend may need to issue, find or revoke one learner's badge."""

    delivery_id: int
    award_uuid: str
    recipient_email: str = field(repr=False)
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    issued_at: datetime
    expires_at: datetime | None
    credential_title: str
    credential_description: str
    evidence_url: str  # our public credential page
    credential_json_url: str  # the signed Open Badges 3.0 credential
    target: dict  # this credential's settings for the platform, e.g. {"template_id": "..."}

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class IssueResult:
    external_id: str
    state: str | None = None  # the platform's own word: created, pending, accepted...
    url: str | None = None


class DeliveryError(Exception):
    """A failed call. The message is shown to operators: it never contains a secret."""

    def __init__(self, message, retry_after=None, status=None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds the platform asked us to wait (429 Retry-After)
        self.status = status


class TransientError(DeliveryError):
    """Worth retrying later: timeouts, connection errors, 5xx, 429."""


class OutcomeUnknown(TransientError):
    """The request may have reached the platform (timeout after sending): look it up before retrying."""


class PermanentError(DeliveryError):
    """Will never succeed as it is (bad template id, invalid email...): no retry."""


class BadgeBackend(ABC):
    """One platform account. Subclasses implement the platform's documented HTTP API."""

    name = ""  # "credly", "accredible", "obf", "badgr"
    secret_keys = ()  # keys of the account config that are secrets (redacted everywhere)
    # The key of a credential's target that names what to issue on this platform (a template, a group...).
    target_key = ""

    def __init__(self, account_name, config, session=None):
        self.account_name = account_name
        self.config = config
        self.session = session or shared_session(account_name)
        timeout = config.get("timeout", DEFAULT_TIMEOUT)
        self.timeout = tuple(timeout) if isinstance(timeout, list) else timeout  # settings from JSON/YAML give lists

    @abstractmethod
    def issue(self, request: BadgeRequest) -> IssueResult:
        """Create the badge upstream; raise a DeliveryError subclass on failure."""

    @abstractmethod
    def revoke(self, external_id: str, request: BadgeRequest, reason: str) -> None:
        """Revoke (or delete, where the platform cannot revoke) the badge upstream."""

    @abstractmethod
    def fetch_state(self, external_id: str) -> str:
        """The badge's current state upstream (the platform's own word)."""

    @abstractmethod
    def find_existing(self, request: BadgeRequest) -> IssueResult | None:
        """
        This award's badge, if the platform already has it: found by the mark the backend puts on
        it (our award id, our evidence URL), so that a badge issued by hand is never mistaken for it.
        """

    def validate_target(self, target: dict) -> list:  # pylint: disable=unused-argument  (overrides read it)
        """Problems with a credential's target settings for this account (e.g. an unknown template)."""
        return []

    @staticmethod
    def target_value(text: str):
        """The value to store under ``target_key`` for an id picked or typed as ``text``."""
        return text

    def list_templates(self) -> list | None:
        """
        (id, name) of everything a target of this account can name under ``target_key``, as the
        platform lists it; None where the platform offers no list (the id is then typed). Raises a
        DeliveryError when the platform cannot be asked.
        """
        return None

    def redact(self, text) -> str:
        """``text`` with every secret of this account replaced, for logs, errors and admin pages."""
        return redact(str(text), [self.config.get(key) for key in self.secret_keys])


def redact(text, secrets):
    """``text`` without the secrets, in plain and in the base64 forms HTTP auth headers carry."""
    for secret in secrets:
        if secret:
            secret = str(secret)
            for form in (secret, _b64(secret), _b64(secret + ":"), _b64(":" + secret)):
                text = text.replace(form, "[redacted]")
    # Whole Authorization values (scheme and credentials), and tokens a platform echoes back.
    text = re.sub(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)([A-Za-z]+\s+)?[^\s\"',}]+", r"\1[redacted]", text)
    # Not after "/" or a word character: ".../oauth2/token: 401" is a URL and a status, not a secret.
    return re.sub(r"(?i)(?<![/\w-])([\w-]*(?:token|secret|password)[\w-]*)([\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+",
                  r"\1\2[redacted]", text)


def _b64(value):
    return base64.b64encode(value.encode()).decode()


_sessions = {}
_sessions_lock = threading.Lock()


def shared_session(account_name) -> requests.Session:
    """One pooled HTTP session per account and process."""
    with _sessions_lock:
        if account_name not in _sessions:
            _sessions[account_name] = requests.Session()
        return _sessions[account_name]


def _retry_after(response):
    """The seconds a Retry-After header asks to wait (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def call(backend: BadgeBackend, method, url, *, creates=False, **kwargs) -> requests.Response:
    """
    One HTTP call to a platform, with the account's session and timeout, turned into the
    delivery errors: a connect failure or timeout before sending is transient; a read timeout or a
    dropped connection on a call that ``creates`` something leaves the outcome unknown; 429 and 5xx
    are transient (429 with the platform's Retry-After); other 4xx are permanent. Messages are
    redacted.
    """
    kwargs.setdefault("timeout", backend.timeout)
    try:
        response = backend.session.request(method, url, **kwargs)
    except requests.ConnectTimeout as exc:
        raise TransientError(backend.redact(f"{method} {url}: connection timed out")) from exc
    except (requests.ReadTimeout, requests.ConnectionError) as exc:
        sent = isinstance(exc, requests.ReadTimeout) or "Connection aborted" in str(exc) \
            or "RemoteDisconnected" in str(exc)
        error = OutcomeUnknown if creates and sent else TransientError
        raise error(backend.redact(f"{method} {url}: {type(exc).__name__}: {exc}")) from exc
    if response.status_code == 429:
        raise TransientError(backend.redact(f"{method} {url}: 429 throttled"), retry_after=_retry_after(response),
                             status=429)
    if response.status_code >= 500:
        # A proxy's 502/504 (or a crash after the insert) may come after the badge was made.
        error = OutcomeUnknown if creates else TransientError
        raise error(backend.redact(f"{method} {url}: {response.status_code} {response.text[:300]}"),
                    status=response.status_code)
    if response.status_code >= 400:
        raise PermanentError(backend.redact(f"{method} {url}: {response.status_code} {response.text[:500]}"),
                             status=response.status_code)
    return response
