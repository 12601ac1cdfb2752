"""
Reading documents from other issuers' servers (an external credential at a URL, its status list,
a did:web DID document), and nothing from anywhere the operator did not allow
(docs/decisions/0012-external-credentials.rst):

* only from the origins (``scheme://host[:port]``) in MICROCRED_EXTERNAL_FETCH_ORIGINS; an empty
  list (the default) allows nothing;
* a redirect is followed only to the same origin, at most MAX_REDIRECTS times;
* never to a private, loopback, link-local, multicast or reserved address, unless
  MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE (for a campus network, and the tests' local servers);
* with a connect/read timeout (MICROCRED_EXTERNAL_FETCH_TIMEOUT) and an overall deadline, and at
  most ``max_bytes`` read, whatever Content-Length says;
* without the environment's proxies (``trust_env`` off): a proxy would hide where the request goes.

Every refusal is a FetchRefused with a message fit to show the learner (a URL, never a secret).
"""

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.utils.translation import gettext as _

from . import limits
from .app_settings import microcred_settings

ORIGINS_SETTING = "MICROCRED_EXTERNAL_FETCH_ORIGINS"
ALLOW_PRIVATE_SETTING = "MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE"
TIMEOUT_SETTING = "MICROCRED_EXTERNAL_FETCH_TIMEOUT"
MAX_REDIRECTS = 3
_CHUNK = 16 * 1024


class FetchRefused(ValueError):
    """A document that was not fetched: a host not allowed, a network error, too large, not JSON..."""


def _origin(url):
    """The URL's origin as scheme://host:port (the port always written), or None unless http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def allowed_origins() -> set:
    """The origins the operator allows, normalised to ``scheme://host:port``."""
    value = microcred_settings.EXTERNAL_FETCH_ORIGINS or ()
    return {origin for origin in (_origin(str(item)) for item in value if isinstance(item, str)) if origin}


def origin_allowed(url) -> bool:
    """Whether the operator allows fetching from ``url``'s origin (scheme, host and port)."""
    origin = _origin(url)
    return origin is not None and origin in allowed_origins()


def _check_address(host):
    """Refuse (FetchRefused) a ``host`` that resolves to any non-public address, unless private ones are allowed."""
    if microcred_settings.EXTERNAL_FETCH_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(_("%(host)s cannot be resolved: %(error)s") % {"host": host, "error": exc}) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise FetchRefused(_("%(host)s resolves to %(address)s, a private or reserved address this site does "
                                 "not read from (%(setting)s).")
                               % {"host": host, "address": address, "setting": ALLOW_PRIVATE_SETTING})


def _timeouts():
    """The (connect, read) timeouts of MICROCRED_EXTERNAL_FETCH_TIMEOUT, and the whole fetch's deadline in seconds."""
    value = microcred_settings.EXTERNAL_FETCH_TIMEOUT or microcred_settings.default("EXTERNAL_FETCH_TIMEOUT")
    if isinstance(value, (int, float)):
        value = (value, value)
    connect, read = (float(v) for v in value)
    return (connect, read), connect + 2 * read


def fetch_json(url, max_bytes=limits.MAX_FETCHED_DOCUMENT_BYTES, max_depth=limits.MAX_JSON_DEPTH):
    """
    The JSON document at ``url``, within every rule in the module docstring; FetchRefused otherwise.
    """
    if not isinstance(url, str) or len(url) > 2000:
        raise FetchRefused(_("not a URL"))
    origin = _origin(url)
    if origin is None:
        raise FetchRefused(_("%(url)s is not an http(s) URL") % {"url": url[:200]})
    if origin not in allowed_origins():
        raise FetchRefused(_("%(url)s is on a host this site does not read from; an operator can allow it "
                             "(%(setting)s).") % {"url": url[:200], "setting": ORIGINS_SETTING})
    timeout, overall = _timeouts()
    deadline = time.monotonic() + overall
    session = requests.Session()
    session.trust_env = False
    try:
        for _redirect in range(MAX_REDIRECTS + 1):
            _check_address(urlsplit(url).hostname)
            try:
                response = session.get(url, timeout=timeout, allow_redirects=False, stream=True,
                                       headers={"Accept": "application/vc+ld+json, application/ld+json, "
                                                          "application/json"})
            except requests.RequestException as exc:
                raise FetchRefused(_("%(url)s could not be read: %(error)s")
                                   % {"url": url[:200], "error": type(exc).__name__}) from exc
            with response:
                if response.is_redirect:
                    target = urljoin(url, response.headers.get("Location", ""))
                    if _origin(target) != origin:
                        raise FetchRefused(_("%(url)s redirects to another host (%(target)s); not followed.")
                                           % {"url": url[:200], "target": target[:200]})
                    url = target
                    continue
                if response.status_code != 200:
                    raise FetchRefused(_("%(url)s answered HTTP %(status)d")
                                       % {"url": url[:200], "status": response.status_code})
                body = _read(response, url, max_bytes, deadline)
            try:
                return limits.loads_bounded(body, max_depth=max_depth, max_bytes=max_bytes)
            except ValueError as exc:
                raise FetchRefused(_("%(url)s is not a JSON document within the limits: %(error)s")
                                   % {"url": url[:200], "error": str(exc)[:200]}) from exc
        raise FetchRefused(_("%(url)s redirects more than %(max)d times") % {"url": url[:200], "max": MAX_REDIRECTS})
    finally:
        session.close()


def _read(response, url, max_bytes, deadline):
    """The response's body, refused when it declares or grows past ``max_bytes`` or reads past ``deadline``."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchRefused(_("%(url)s is larger than %(max)d bytes") % {"url": url[:200], "max": max_bytes})
    body = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise FetchRefused(_("%(url)s is larger than %(max)d bytes") % {"url": url[:200], "max": max_bytes})
            if time.monotonic() > deadline:
                raise FetchRefused(_("%(url)s took too long to read") % {"url": url[:200]})
    except requests.RequestException as exc:
        raise FetchRefused(_("%(url)s could not be read: %(error)s")
                           % {"url": url[:200], "error": type(exc).__name__}) from exc
    return bytes(body)
