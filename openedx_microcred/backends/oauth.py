"""
OAuth2 bearer tokens for the platforms that issue them (Open Badge Factory, Canvas Credentials /
Badgr): fetched from the platform's token endpoint, cached per account and process until shortly
before they expire, shared by every backend object and thread, and fetched again once when the
platform turns a cached token away (401 / 403).

Only one thread fetches at a time (Open Badge Factory allows one new token per ten seconds); the
others wait for it and use the same token.
"""

import hashlib
import json
import threading
import time

from .base import DeliveryError, PermanentError, call, redact

# A token is used until this long before the expiry the platform announced (at most a tenth of its life).
EXPIRY_MARGIN = 60.0
# When the platform does not say how long a token lives: assume this, and rely on the refetch on 401/403.
DEFAULT_LIFETIME = 300.0


def _now():
    return time.monotonic()


class OAuthTokens:
    """The access token of one account at one token endpoint. Thread-safe."""

    def __init__(self, token_url, form):
        self.token_url = token_url
        self._form = dict(form)  # grant_type and credentials, sent form-encoded
        self._lock = threading.Lock()
        self._token = None
        self._expires_at = 0.0
        self._issued = ()  # the last tokens this object held, for redaction (read without the lock)
        self.fetches = 0

    def get(self, backend):
        """``(token, fresh)``: ``fresh`` when this call fetched it (a refusal then is not an expiry)."""
        with self._lock:
            if self._token is not None and _now() < self._expires_at:
                return self._token, False
            self._fetch(backend)
            return self._token, True

    def invalidate(self, token):
        """Forget ``token`` (refused by the platform), unless another thread has replaced it already."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._expires_at = 0.0

    def known_tokens(self):
        # No lock: redaction runs inside _fetch (an error of the token call), which holds it.
        return self._issued

    def _fetch(self, backend):
        """Get a new access token from the token endpoint and keep it until shortly before it expires."""
        try:
            response = call(backend, "POST", self.token_url, data=self._form, headers={"Accept": "application/json"})
        except DeliveryError as exc:
            # Said up front: redaction masks whatever follows "token:" in the message, the status included.
            status = f"HTTP {exc.status}" if exc.status else "no answer"
            raise type(exc)(f"{backend.name}: getting an access token failed ({status}): {exc}",
                            retry_after=exc.retry_after, status=exc.status) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise PermanentError(backend.redact(f"POST {self.token_url}: {response.status_code} but no access_token "
                                                f"in the answer: {response.text[:300]}"), status=response.status_code)
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        self.fetches += 1
        self._token = str(token)
        self._issued = (self._issued + (self._token,))[-5:]
        self._expires_at = _now() + max(0.0, lifetime - min(EXPIRY_MARGIN, lifetime / 10))


_registry = {}
_registry_lock = threading.Lock()


def tokens_for(account_name, token_url, form) -> OAuthTokens:
    """The token cache of an account: one per process, whatever the number of backend objects."""
    # The credentials are part of the key (hashed, never kept in it) so that changed settings take effect.
    fingerprint = hashlib.sha256(json.dumps(sorted(form.items())).encode()).hexdigest()
    key = (account_name, token_url, fingerprint)
    with _registry_lock:
        if key not in _registry:
            _registry[key] = OAuthTokens(token_url, form)
        return _registry[key]


def bearer_call(backend, tokens: OAuthTokens, method, url, *, refetch_on=(401, 403), **kwargs):
    """
    ``call()`` with ``Authorization: Bearer``. When the platform refuses a cached token (a status in
    ``refetch_on``), the token is fetched again and the request sent once more; a token fetched for
    this very request and refused is a real refusal (no new token, no loop). A refused request was
    not carried out, so resending one that ``creates`` cannot duplicate anything.
    """
    headers = dict(kwargs.pop("headers", None) or {})
    token, fresh = tokens.get(backend)
    try:
        return call(backend, method, url, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs)
    except PermanentError as exc:
        if exc.status not in refetch_on or fresh:
            raise
    tokens.invalidate(token)
    token, _ = tokens.get(backend)
    return call(backend, method, url, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs)


class BearerTokenMixin:
    """
    For backends authenticating with ``bearer_call``: JSON calls relative to the account's base URL
    (``default_base_url`` when the account names none), and access tokens redacted like the secrets.
    """

    tokens: OAuthTokens = None
    default_base_url = ""

    @property
    def base_url(self):
        return (self.config.get("base_url") or self.default_base_url).rstrip("/")

    def _call(self, method, path, **kwargs):
        headers = {"Accept": "application/json"}
        return bearer_call(self, self.tokens, method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def redact(self, text) -> str:
        text = super().redact(text)
        return redact(text, self.tokens.known_tokens()) if self.tokens is not None else text
