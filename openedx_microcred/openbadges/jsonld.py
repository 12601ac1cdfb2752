"""
JSON-LD processing for Open Badges 3.0 credentials, strictly offline.

Signing and verifying a Data Integrity proof means canonicalizing the credential as RDF, and that
needs every ``@context`` the credential names. Fetching contexts at run time would make every
signature depend on third-party web servers (and let whoever controls them change what a
credential means), so this module resolves contexts only from:

* the files bundled in ``contexts/`` (see ``contexts/SOURCES.md`` for where each one comes from),
  looked up by their exact URL in :data:`BUNDLED_CONTEXTS`;
* the plugin's own extension context: each deployment serves it at its LMS URL, so any http(s)
  URL whose path ends with :data:`MICROCRED_CONTEXT_PATH` maps to the bundled
  ``contexts/microcredential-v1.jsonld`` (read lazily, so a missing file is reported when a
  document needs it, with a clear message);
* documents registered in-process with :func:`register_document` (tests, DID documents).

Anything else raises a pyld ``JsonLdError`` with code ``loading document failed`` naming the URL.
Nothing here opens a socket.

:func:`canonize` produces the RDFC-1.0 (URDNA2015) canonical N-Quads a Data Integrity
cryptosuite hashes. :func:`undefined_terms` is the "safe mode" check: pyld silently drops
properties that no context defines (and leaves undefined types unexpanded), so it would sign a
credential whose signature does not cover those fields, while Digital Bazaar's verifiers run in
safe mode and reject such a credential outright.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyld import jsonld
from pyld.jsonld import JsonLdError

__all__ = [
    "BUNDLED_CONTEXTS",
    "CONTEXTS_DIR",
    "MICROCRED_CONTEXT_FILE",
    "MICROCRED_CONTEXT_PATH",
    "JsonLdError",
    "canonize",
    "clear_caches",
    "document_loader",
    "documents_version",
    "processing_options",
    "register_document",
    "to_rdf",
    "undefined_terms",
    "unregister_document",
]

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"

#: Exact context URL -> file name in ``contexts/``.
BUNDLED_CONTEXTS: dict[str, str] = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OB_V3P0: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    DID_V1: "did-v1.jsonld",
}

#: Every deployment serves the plugin's extension context under its own LMS origin at this path.
MICROCRED_CONTEXT_PATH = "/microcred/contexts/microcredential-v1.jsonld"
#: ...and all of them get the same bundled file, since they all run the same plugin code.
MICROCRED_CONTEXT_FILE = "microcredential-v1.jsonld"

_LOADING_FAILED = "loading document failed"

# Parsed bundled files (file name -> JSON), read once. Loaded lazily so that importing this
# module never fails because a context file is missing.
_parsed_files: dict[str, Any] = {}
# Documents registered at run time (URL -> JSON).
_registered: dict[str, Any] = {}
# Counts changes to _registered, so that caches of what documents mean (canonical.py) know when to
# forget: a registered context can change what a credential's terms expand to.
_documents_version = 0
_lock = threading.Lock()


class _ResolvedContextCache(dict):
    """
    pyld's cross-operation cache of resolved contexts (URL or inline-context JSON -> resolved
    context), kept here rather than in pyld's module-global cache so that what other code loads
    with other loaders never mixes with ours, and so that :func:`register_document` can flush it.
    Bounded: documents with ever-changing inline contexts must not grow it forever.
    """

    MAX_ENTRIES = 256

    def __setitem__(self, key, value):
        if len(self) >= self.MAX_ENTRIES and key not in self:
            self.clear()
        super().__setitem__(key, value)


_resolved_contexts = _ResolvedContextCache()


class _Processor(jsonld.JsonLdProcessor):
    """
    pyld's processor, with type-scoped contexts processed once per (active context, context)
    rather than at every node of every document.

    pyld caches a processed context by the active context it was applied to, but for a
    non-propagating (type-scoped) context it first clones the active context, and the clone gets a
    new identifier: its cache never hits, and every ``Achievement``, ``Alignment``, ``Profile`` …
    node processes the OB 3.0 scoped context again (60 % of a canonicalization). Here the result is
    kept by the identifier of the active context given (processed contexts are immutable and keep
    their identifier) and the scoped context object itself; it is what pyld computes for those two
    inputs, since our options (loader, no base) never change. Emptied with the resolved contexts.
    """

    # pylint: disable-next=too-many-positional-arguments  (pyld's signature, which it calls positionally)
    def _process_context(self, active_ctx, local_ctx, options, override_protected=False, propagate=True,
                         validate_scoped=True, cycles=None):
        uid = active_ctx.get("_uuid") if isinstance(active_ctx, dict) or hasattr(active_ctx, "get") else None
        if propagate or override_protected or cycles or uid is None or not validate_scoped:
            return super()._process_context(active_ctx, local_ctx, options, override_protected, propagate,
                                            validate_scoped, cycles)
        key = (uid, id(local_ctx))
        kept = _scoped_contexts.get(key)
        if kept is not None and kept[0] is local_ctx:
            return kept[1]
        processed = super()._process_context(active_ctx, local_ctx, options, override_protected, propagate,
                                             validate_scoped, cycles)
        # the scoped context is kept with its result, so its id cannot be reused while the key lives
        _scoped_contexts[key] = (local_ctx, processed)
        return processed


# (active context id, id of the scoped context) -> (the scoped context, the processed context)
_scoped_contexts = _ResolvedContextCache()
_scoped_contexts.MAX_ENTRIES = 2048


def _loading_failed(message: str, url: str) -> JsonLdError:
    return JsonLdError(message, "jsonld.LoadDocumentError", {"url": url, "offline": True}, code=_LOADING_FAILED)


def _bundled_file(file_name: str, url: str) -> Any:
    """The parsed JSON of a context file bundled with the package (parsed once, then kept)."""
    parsed = _parsed_files.get(file_name)
    if parsed is not None:
        return parsed
    path = CONTEXTS_DIR / file_name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _loading_failed(
            f"The JSON-LD context {url} maps to the bundled file {path}, which is missing from the "
            "package (it has to ship in openedx_microcred/openbadges/contexts/).",
            url,
        ) from None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise _loading_failed(f"The bundled JSON-LD context {path} (for {url}) is not valid JSON: {exc}", url) from exc
    with _lock:
        _parsed_files[file_name] = parsed
    return parsed


def _is_microcred_context_url(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and parts.path.endswith(MICROCRED_CONTEXT_PATH)
        and not parts.query
        and not parts.fragment
    )


def _lookup(url: str) -> Any:
    """The JSON-LD document for ``url``: bundled, our extension context, or registered; never fetched."""
    if url in BUNDLED_CONTEXTS:
        return _bundled_file(BUNDLED_CONTEXTS[url], url)
    if _is_microcred_context_url(url):
        return _bundled_file(MICROCRED_CONTEXT_FILE, url)
    if url in _registered:
        return _registered[url]
    raise _loading_failed(
        f"The JSON-LD document {url} is neither bundled with openedx-microcred nor registered; "
        "documents are never fetched from the network.",
        url,
    )


# pylint: disable-next=unused-argument  (pyld passes its options to every document loader)
def document_loader(url: str, options: dict | None = None) -> dict:
    """
    A pyld document loader that never uses the network (see the module docstring for what it
    resolves). Returns a fresh copy each time: pyld may rewrite a context while resolving it.
    """
    document = _lookup(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(document),
        # "static" lets pyld keep the resolved context in our cross-operation cache.
        "tag": "static",
    }


def register_document(url: str, document: Any) -> None:
    """
    Make ``document`` (parsed JSON) what :func:`document_loader` returns for ``url``.

    Bundled contexts cannot be overridden: they define what every credential means.
    """
    if url in BUNDLED_CONTEXTS or _is_microcred_context_url(url):
        raise ValueError(f"{url} is a bundled JSON-LD context and cannot be replaced")
    global _documents_version
    with _lock:
        _registered[url] = copy.deepcopy(document)
        _resolved_contexts.clear()
        _scoped_contexts.clear()
        _documents_version += 1


def unregister_document(url: str) -> None:
    """Forget a document added with :func:`register_document` (no error if unknown)."""
    global _documents_version
    with _lock:
        _registered.pop(url, None)
        _resolved_contexts.clear()
        _scoped_contexts.clear()
        _documents_version += 1


def clear_caches() -> None:
    """
    Forget the parsed bundled files and the resolved and processed contexts, so that the next
    operation loads its contexts again (registered documents stay registered).
    """
    with _lock:
        _parsed_files.clear()
        _resolved_contexts.clear()
        _scoped_contexts.clear()


def documents_version() -> int:
    """A number that changes whenever a document is registered or unregistered."""
    return _documents_version


def to_rdf(document: dict) -> dict:
    """The RDF dataset pyld makes of ``document`` (graph name -> triples), contexts resolved offline."""
    with _loader_errors_first():
        return _Processor().to_rdf(document, processing_options())


def processing_options(**extra) -> dict:
    """
    The pyld options for offline processing: our loader, our resolved-context cache and no base IRI.

    ``base`` is None on purpose: with an empty base pyld resolves relative IRIs against
    ``http://example.org/base/`` and would sign those invented IRIs, where jsonld.js leaves them
    relative (and drops them from the RDF, or rejects them in safe mode).
    """
    options = {
        "documentLoader": document_loader,
        # a new resolver per operation (its per-operation cache is not shared between threads)
        # over the shared, bounded cache of resolved contexts
        "contextResolver": jsonld.ContextResolver(_resolved_contexts, document_loader),
        "base": None,
    }
    options.update(extra)
    return options


def _offline_error(exc: JsonLdError) -> JsonLdError | None:
    """The loader's own error inside pyld's wrapped exception chain, if that is what failed."""
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, JsonLdError) and isinstance(cause.details, dict) and cause.details.get("offline"):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


@contextmanager
def _loader_errors_first():
    """
    Re-raise a context the loader could not provide as the loader's own error (code ``loading
    document failed``, naming the URL) rather than pyld's generic "Dereferencing a URL..." wrapper.
    """
    try:
        yield
    except JsonLdError as exc:
        offline = _offline_error(exc)
        if offline is None or offline is exc:
            raise
        raise JsonLdError(str(offline.args[0]), offline.type, offline.details, code=offline.code) from exc


def canonize(document: dict) -> str:
    """
    The RDFC-1.0 canonical N-Quads of a JSON-LD document (pyld's URDNA2015, which gives the same
    result), with contexts resolved offline.

    A context that cannot be loaded raises ``JsonLdError`` (code ``loading document failed``)
    naming its URL.

    This is the reference every credential is signed over; :func:`canonical.canonize` gives the
    same text faster, and falls back to this.
    """
    with _loader_errors_first():
        return _Processor().normalize(
            document, processing_options(algorithm="URDNA2015", format="application/n-quads")
        )


# --- safe mode: terms no context defines --------------------------------------------------

_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*|_):\S*$")
_TYPE_KEYS = ("type", "@type")

JsonPath = tuple  # a location in a JSON document: keys (str) and list indexes (int)


def _format_path(path: JsonPath) -> str:
    """A JSON path as readable text: "credentialSubject.achievement[0].name"."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out


def _scan(document: Any) -> tuple[Counter, Counter]:
    """
    Expand ``document``; return (properties pyld dropped, type values left relative), each as
    a Counter by name. A property term without a definition reaches pyld's drop handler as
    itself; one defined as null reaches it as None.
    """
    dropped: list[str | None] = []
    with _loader_errors_first():
        expanded = _Processor(on_property_dropped=dropped.append).expand(document, processing_options())
    relative_types: Counter = Counter()

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "@value" not in node:  # a value object's @type is a datatype, not a class
                for value in node.get("@type", ()):
                    if isinstance(value, str) and not _ABSOLUTE_IRI.match(value):
                        relative_types[value] += 1
            for key, value in node.items():
                if key not in ("@type", "@value", "@context"):
                    walk(value)

    walk(expanded)
    return Counter(dropped), relative_types


def _walk_keys(node: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str, Any]]:
    """Every (path of the owning object, key, value) in document order, outside @context."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                continue
            yield path, key, value
            yield from _walk_keys(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk_keys(item, path + (index,))


def _get(document: Any, path: JsonPath) -> Any:
    for step in path:
        document = document[step]
    return document


def _with_change(document: Any, path: JsonPath, change: Callable[[dict], None]) -> Any:
    changed = copy.deepcopy(document)
    change(_get(changed, path))
    return changed


def _count_total(counter: Counter) -> int:
    return sum(counter.values())


def undefined_terms(document: dict) -> list[str]:
    """
    Where ``document`` uses a term that no context defines, as paths such as
    ``credentialSubject.achievement.foo`` (a property; lists show as ``alignment[0]``) or
    ``credentialSubject.type=MicroCredential`` (a type value). Empty when the document is clean.

    A JSON-LD processor drops an undefined property from the expanded document (pyld silently;
    jsonld.js in safe mode, as Digital Bazaar's verifiers use it, raises "Dropping property that
    did not expand into an absolute IRI") and keeps an undefined type as a relative IRI (which
    safe mode rejects too). Nested content of a dropped property is not reported separately.

    Method: term definitions can come from the document's contexts, from type-scoped and
    property-scoped contexts, with protection and propagation rules, so rather than re-implement
    context processing this asks pyld itself. One expansion counts what pyld drops (the common,
    clean case stops there); each candidate occurrence is then located by controlled edits:

    * a property key K is undefined exactly when the document with K's value replaced by a plain
      string has one more dropped property than the document without K (the two differ only in
      K itself, and a scalar value adds no drops of its own);
    * a type value T is undefined exactly when removing it leaves one relative type fewer and
      the same dropped properties (an undefined type has no scoped context to lose).

    Not covered: relative ``id`` values (also rejected by safe mode; identifiers here are URLs,
    URNs or DIDs). A context that cannot be loaded raises ``JsonLdError``.
    """
    dropped, relative_types = _scan(document)
    if not dropped and not relative_types:
        return []

    found: list[str] = []
    found_paths: list[JsonPath] = []
    probe_all = None in dropped  # a term defined as null: its name is not reported, try every key
    dropped_names = {name for name in dropped if name is not None}

    def inside_found(path: JsonPath) -> bool:
        return any(path[: len(p)] == p for p in found_paths)

    for path, key, value in list(_walk_keys(document)):
        if inside_found(path):
            continue
        if key in _TYPE_KEYS:
            values = value if isinstance(value, list) else [value]
            for index, type_value in enumerate(values):
                if not isinstance(type_value, str) or relative_types[type_value] == 0:
                    continue

                def remove_type(node, key=key, index=index):
                    if isinstance(node[key], list):
                        del node[key][index]
                        if not node[key]:
                            del node[key]
                    else:
                        del node[key]

                probe_dropped, probe_types = _scan(_with_change(document, path, remove_type))
                if probe_dropped == dropped and probe_types[type_value] == relative_types[type_value] - 1:
                    found.append(f"{_format_path(path + (key,))}={type_value}")
            continue
        if key.startswith("@") or key == "id":
            continue
        if key not in dropped_names and not probe_all:
            continue
        with_scalar, _ = _scan(_with_change(document, path, lambda node, key=key: node.__setitem__(key, "x")))
        without, _ = _scan(_with_change(document, path, lambda node, key=key: node.__delitem__(key)))
        if _count_total(with_scalar) - _count_total(without) == 1:
            found.append(_format_path(path + (key,)))
            found_paths.append(path + (key,))
    return found
