r"""
Fast RDFC-1.0 canonical N-Quads for credentials, byte-identical to pyld's.

Signing or verifying one credential canonicalizes it twice (the document and the proof
configuration) and checks it for undefined terms once. With pyld alone that is three JSON-LD
expansions and two URDNA2015 runs in pure Python, ≈ 10 ms here, for documents that differ from one
award to the next only in their values: ids, names, dates, salted hashes, evidence text. So this
module keeps, per document *shape*, a template of the document's RDF in which every string value
is a slot, and for a new document of a known shape it writes the N-Quads by substitution and
canonicalizes them with Oxigraph's RDFC-1.0 (``pyoxigraph``, Rust). The undefined-terms check
(:func:`jsonld.undefined_terms`) depends on the shape alone, so its answer is kept per shape too.

Why substitution gives exactly what pyld gives, value by value:

* The shape of a document is everything but its string values: keys in order, nesting, arrays,
  numbers, booleans and nulls as they are, and verbatim the values of ``@context``, ``type`` and
  every ``@``-keyword key (they choose contexts, types and datatypes). Term definitions, and so how
  every value is read, depend on the shape only.
* Each string value also has a *class* in the shape: ``iri:<scheme>:`` or ``iri:<scheme>://`` for
  a value made of a scheme and RFC 3986 characters only (no space, no ``<>"{}|\^```, not ``_:``),
  ``text`` for any other. The template is built by expanding the document with every string
  replaced by a sentinel of the same class (``urn:x-microcred-slot-7.invalid``, ``https://x-
  microcred-slot-7.invalid/``, ``x microcred slot 7 .``). pyld turns a string of a given class into
  an IRI or a literal by the same branches whatever its characters (the IRI expansion looks only at
  the scheme, ``//`` and whether the whole value is a term), so the real value lands where its
  sentinel did, unchanged.
* A string is a slot only if its sentinel reappears whole, and only as a subject or object IRI or
  as a literal's lexical form. A string whose sentinel vanished (a relative IRI pyld drops, a term
  read through ``@vocab`` such as ``proofPurpose``), appears inside another term (a compact IRI,
  ``@json``), as a type, predicate, datatype or language becomes a *constant* of the template: the
  template is built again with its real value, and serves only documents with that same value
  there. If that still leaves a bad slot the shape always takes the full path.
* At substitution a value must still be one its slot can take: an IRI slot's value must be of the
  slot's class and not a term name of any context in play; a literal's value must not contain the
  characters pyld and Oxigraph write differently in N-Quads (C0 controls other than tab, LF and
  CR, DEL, U+FFFE, U+FFFF; measured over every code point) nor lone surrogates. Otherwise that
  document takes the full path (pyld), which is always correct.
* The first document of each template is canonicalized both ways; if the two differ the template
  is dropped (those documents always take the full path). Documents repeated in identical parts
  collapse in the RDF set on both paths alike (pyld's node map and Oxigraph's dataset both hold sets).

Registering or removing a document (:func:`jsonld.register_document`) empties the caches, since a
context's meaning may have changed.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pyoxigraph
from pyld import jsonld as pyld_jsonld
from pyld.nquads import escape as nquads_escape
from pyld.nquads import serialize_nquad

from . import jsonld

__all__ = ["canonize", "undefined_terms", "clear_caches", "cache_info"]

_IRI_CLASS = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
# Characters whose N-Quads form differs between pyld (written raw) and Oxigraph (\uXXXX or \b, \f),
# found by writing every code point both ways; and lone surrogates, which are not Unicode text.
_LITERAL_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Keys whose values are part of the shape, not slots: they choose contexts, types and datatypes.
_SHAPE_KEYS = frozenset(("type",))

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# The keyword aliases every credential context defines; values under "id" are slots, under "type" shape.
_PLAIN_ALIASES = frozenset((("id", "@id"), ("type", "@type")))
_SLOT = "\x00"  # marks a slot inside a template line (never in a key, value or context we template)
_SENTINEL_MARK = "x-microcred-slot"


class _NotTemplatable(Exception):
    """The document cannot use the template path (it takes pyld's)."""


class _BoundedCache(dict):
    """Emptied when full: a deployment has a few shapes per credential, not hundreds."""

    MAX_ENTRIES = 256

    def __setitem__(self, key, value):
        if len(self) >= self.MAX_ENTRIES and key not in self:
            self.clear()
        super().__setitem__(key, value)


class _Template:
    """The N-Quads of one shape with string slots: ``pieces`` joined, slots filled in."""

    __slots__ = ("pieces", "literal_slots", "iri_slots", "positions", "terms")

    def __init__(self, pieces, positions, literal_slots, iri_slots, terms):
        self.pieces = pieces
        self.positions = positions  # (index into pieces, slot number, is_literal)
        self.literal_slots = literal_slots
        self.iri_slots = iri_slots
        self.terms = terms  # every term name of every context the document uses

    def fill(self, values: list[str]) -> str | None:
        """The document's N-Quads (unsorted, pyld's blank node labels), or None to take pyld's path."""
        for slot in self.literal_slots:
            if _LITERAL_UNSAFE.search(values[slot]):
                return None
        terms = self.terms
        for slot in self.iri_slots:
            if values[slot] in terms:
                return None
        out = list(self.pieces)
        for index, slot, is_literal in self.positions:
            out[index] = nquads_escape(values[slot]) if is_literal else values[slot]
        return "".join(out)


_templates = _BoundedCache()  # (documents version, shape) -> _ShapeEntry (_UNTEMPLATABLE: pyld always)
_undefined = _BoundedCache()  # (documents version, shape) -> tuple of undefined terms
_lock = threading.Lock()
_stats = {"templated": 0, "full": 0}


def clear_caches() -> None:
    """Forget every kept template and undefined-term check (tests that change contexts need it)."""
    with _lock:
        _templates.clear()
        _undefined.clear()


def cache_info() -> dict:
    """How many canonicalizations took each path, and how many shapes are kept (for benchmarks)."""
    return dict(_stats, shapes=len(_templates))


def _string_class(value: str) -> str:
    match = _IRI_CLASS.match(value)
    if match is None or match.group(1) == "_":
        return "text"
    return f"iri:{match.group(1)}:{match.group(2) or ''}"


# Tokens of a shape besides keys and values' classes (objects, so that no key or value equals one).
_OPEN_OBJECT, _OPEN_LIST, _CLOSE = object(), object(), object()
_classes: dict[str, str] = {}  # short string -> its class: most strings recur from one award to the next
_CLASSES_MAX, _CLASSED_LENGTH_MAX = 4096, 256


def _shape(document: Any) -> tuple[tuple, list[str]]:
    """
    (the shape of ``document`` as a hashable tuple, its string values in document order).

    The tuple is read unambiguously: after an object's opening token come (key, value) pairs and
    a closing token; a value is one token (a string's class, a number's, boolean's or null's
    ``repr``, the ``repr`` of a shape key's value) or an object or list in its brackets.
    """
    tokens: list = []
    values: list[str] = []
    append = tokens.append
    classes = _classes
    if len(classes) > _CLASSES_MAX:
        classes.clear()

    def walk(node):
        if isinstance(node, dict):
            append(_OPEN_OBJECT)
            for key, value in node.items():
                if key.__class__ is not str:
                    raise _NotTemplatable
                append(key)
                # A shape key's value is part of the template; any other string is a slot (walk's str).
                if key in _SHAPE_KEYS or key[:1] == "@":
                    append(repr(value))
                else:
                    walk(value)
            append(_CLOSE)
        elif isinstance(node, list):
            append(_OPEN_LIST)
            for item in node:
                walk(item)
            append(_CLOSE)
        elif isinstance(node, str):
            string_class = classes.get(node)
            if string_class is None:
                string_class = _string_class(node)
                if len(node) <= _CLASSED_LENGTH_MAX:
                    classes[node] = string_class
            append(string_class)
            values.append(node)
        elif node is None or isinstance(node, (bool, int, float)):
            append(repr(node))
        else:
            raise _NotTemplatable

    walk(document)
    return tuple(tokens), values


def _sentinel(slot: int, string_class: str) -> str:
    """The stand-in string for template slot ``slot``, of the same class (text or IRI scheme)."""
    if string_class == "text":
        return f"x microcred slot {slot} ."
    _, scheme, slashes = string_class.split(":")
    if slashes:
        return f"{scheme}://{_SENTINEL_MARK}-{slot}.invalid/"
    return f"{scheme}:{_SENTINEL_MARK}-{slot}.invalid"


def _with_sentinels(document: Any, sentinels: list[str]) -> Any:
    """``document`` with its strings replaced, in walk order, by ``sentinels``."""
    counter = iter(sentinels)

    def walk(node):
        if isinstance(node, str):
            return next(counter)
        if isinstance(node, dict):
            return {
                key: (value if key in _SHAPE_KEYS or key.startswith("@") else walk(value))
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(document)


def _context_terms(document: Any) -> frozenset:
    """Every key of every context ``document`` uses, scoped and imported contexts included."""
    terms: set[str] = set()
    aliases: set[str] = set()
    seen_urls: set[str] = set()

    def walk_context(context):
        if isinstance(context, str):
            if context not in seen_urls:
                seen_urls.add(context)
                walk_context(jsonld.document_loader(context)["document"])
            return
        if isinstance(context, list):
            for item in context:
                walk_context(item)
            return
        if not isinstance(context, dict):
            return
        for key, value in context.items():
            terms.add(key)
            keyword = value.get("@id") if isinstance(value, dict) else value
            if isinstance(keyword, str) and keyword.startswith("@") and (key, keyword) not in _PLAIN_ALIASES:
                aliases.add(key)
            if key in ("@context", "@import") or isinstance(value, (dict, list)):
                walk_context(value)

    def walk_document(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    walk_context(value)
                else:
                    walk_document(value)
        elif isinstance(node, list):
            for item in node:
                walk_document(item)

    walk_document(document)
    if aliases & _document_keys(document):
        # a key standing for a keyword (other than "id" and "type") whose value is read as that
        # keyword: its string values would be slots; this module does not reason about them
        raise _NotTemplatable
    return frozenset(terms)


def _document_keys(document: Any) -> set[str]:
    """Every key used anywhere in ``document``."""
    keys: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            keys.update(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return keys


def _slot_reading(part, triple, term, value_class) -> str | None:
    """How the RDF reads a slot's sentinel: "literal", "IRI", or None where a slot cannot stand."""
    if part == "predicate" or (part == "object" and triple["predicate"]["value"] == _RDF_TYPE):
        return None  # a type under a key other than "type" would choose contexts
    if term["type"] == "literal":
        return "literal"
    if term["type"] == "IRI" and value_class != "text":
        return "IRI"
    return None


_SENTINEL_SLOT = re.compile(r"x-microcred-slot-(\d+)\.invalid|x microcred slot (\d+) \.")


def _build_template(document: Any, values: list[str], verbatim: frozenset) -> tuple[_Template | None, set]:
    """
    The template of ``document`` with the strings at ``verbatim`` kept as they are (constants)
    and every other string a slot; or (None, the slots that cannot be slots: pyld dropped them,
    or wrote them inside another term, as a predicate or as a type), or (None, empty) when the
    document cannot be templated at all.
    """
    classes = [_string_class(value) for value in values]
    sentinels = [value if slot in verbatim else _sentinel(slot, cls) for slot, (value, cls) in
                 enumerate(zip(values, classes))]
    if any(_SLOT in value or _SENTINEL_SLOT.search(value) for value in (values[slot] for slot in verbatim)):
        return None, set()
    by_sentinel = {value: slot for slot, value in enumerate(sentinels) if slot not in verbatim}
    try:
        terms = _context_terms(document)
        dataset = jsonld.to_rdf(_with_sentinels(document, sentinels))
    except (_NotTemplatable, pyld_jsonld.JsonLdError):
        return None, set()
    literal_slots: set[int] = set()
    iri_slots: set[int] = set()
    bad: set[int] = set()
    lines: list[str] = []
    for graph_name, triples in dataset.items():
        if graph_name != "@default":
            return None, set()  # named graphs: not in credentials; keep it simple
        for triple in triples:
            triple = {part: dict(term) for part, term in triple.items()}
            for part in ("subject", "predicate", "object"):
                term = triple[part]
                if any(_SLOT in str(value) for value in term.values()):
                    return None, set()
                slot = by_sentinel.get(term["value"])
                if slot is None:
                    continue
                reading = _slot_reading(part, triple, term, classes[slot])
                {"literal": literal_slots, "IRI": iri_slots}.get(reading, bad).add(slot)
                term["value"] = f"{_SLOT}{slot}{_SLOT}"
            line = serialize_nquad(triple, None)
            for match in _SENTINEL_SLOT.finditer(line):  # inside another term, a datatype, a language
                bad.add(int(match.group(1) or match.group(2)))
            lines.append(line)
    bad |= literal_slots & iri_slots  # read two ways
    bad |= set(by_sentinel.values()) - literal_slots - iri_slots  # dropped (a relative IRI...)
    if bad:
        return None, bad
    pieces = "".join(lines).split(_SLOT)
    # odd places now hold slot numbers (a line never ends in a slot: it ends in " .\n")
    positions = tuple((index, int(pieces[index]), int(pieces[index]) in literal_slots)
                      for index in range(1, len(pieces), 2))
    return _Template(pieces, positions, tuple(sorted(literal_slots)), tuple(sorted(iri_slots)), terms), set()


def _rdfc(nquads: str) -> str:
    """Oxigraph's RDFC-1.0 of the N-Quads ``nquads``, as sorted canonical N-Quads."""
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS, lenient=True))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    text = pyoxigraph.serialize(dataset, format=pyoxigraph.RdfFormat.N_QUADS).decode("utf-8")
    # split on LF only: str.splitlines would also split inside literals (U+2028, U+0085...)
    lines = text.split("\n")
    lines.pop()  # the text ends with "\n"
    lines.sort()
    return "\n".join(lines) + "\n" if lines else ""


def _full(document: dict) -> str:
    _stats["full"] += 1
    return jsonld.canonize(document)


class _ShapeEntry:
    """
    What is known of one shape: which of its strings must be constants (their slots could not be
    slots: e.g. ``proofPurpose``, a term pyld expands through ``@vocab``), and a template for each
    combination of those constants met so far (None: that combination takes pyld's path).
    """

    __slots__ = ("verbatim", "templates")
    MAX_TEMPLATES = 8  # with MAX_ENTRIES shapes: at most ≈ 2,000 templates of ≈ 15 kB

    def __init__(self, verbatim: frozenset):
        self.verbatim = verbatim
        self.templates: dict[tuple, _Template | None] = {}


def canonize(document: dict) -> str:
    """
    The RDFC-1.0 canonical N-Quads of ``document``, the same text as :func:`jsonld.canonize`
    (pyld) gives, faster for a document whose shape was seen before (see the module docstring).
    Errors are pyld's, as :func:`jsonld.canonize` raises them.
    """
    try:
        shape, values = _shape(document)
    except _NotTemplatable:
        return _full(document)
    key = (jsonld.documents_version(), shape)
    entry = _templates.get(key)
    if entry is None:
        return _first_of_shape(document, key, values)
    if entry is _UNTEMPLATABLE:
        return _full(document)
    constants = tuple(values[slot] for slot in sorted(entry.verbatim))
    template = entry.templates.get(constants, False)
    if template is False:
        return _first_of_constants(document, entry, constants, values)
    nquads = template.fill(values) if template is not None else None
    if nquads is None:
        return _full(document)
    try:
        canonical = _rdfc(nquads)
    except (SyntaxError, ValueError):
        return _full(document)  # e.g. an IRI Oxigraph finds invalid (pyld writes IRIs as they are)
    _stats["templated"] += 1
    return canonical


_UNTEMPLATABLE = _ShapeEntry(frozenset())


_UNCHECKED = object()  # the template could not be checked on this document (its values refuse it)


def _checked(template: _Template | None, values: list[str], expected: str):
    """
    ``template`` if it reproduces pyld's ``expected`` bytes for this document, None if it does not,
    or _UNCHECKED when this document's values cannot go through a template (check on the next).
    """
    if template is None:
        return None
    nquads = template.fill(values)
    if nquads is None:
        return _UNCHECKED
    try:
        if _rdfc(nquads) != expected:
            return None
    except (SyntaxError, ValueError):
        return None
    return template


def _keep(entry: _ShapeEntry, constants: tuple, checked) -> None:
    """Remember a template check for ``constants`` (none when it was not checked), within the entry's bound."""
    if checked is _UNCHECKED:
        return
    if len(entry.templates) >= entry.MAX_TEMPLATES:
        entry.templates.clear()
    entry.templates[constants] = checked


def _first_of_shape(document: dict, key: tuple, values: list[str]) -> str:
    """Canonicalize the first document of a shape the full way, and learn the shape's template from it."""
    expected = _full(document)  # raises pyld's error for a document pyld cannot process
    template, bad = _build_template(document, values, frozenset())
    if template is None and bad:
        template, still_bad = _build_template(document, values, frozenset(bad))
        entry = _ShapeEntry(frozenset(bad)) if not still_bad else _UNTEMPLATABLE
    elif template is None:
        entry = _UNTEMPLATABLE
    else:
        entry = _ShapeEntry(frozenset())
    with _lock:
        if entry is not _UNTEMPLATABLE:
            constants = tuple(values[slot] for slot in sorted(entry.verbatim))
            _keep(entry, constants, _checked(template, values, expected))
        _templates[key] = entry
    return expected


def _first_of_constants(document: dict, entry: _ShapeEntry, constants: tuple, values: list[str]) -> str:
    """Canonicalize the full way a document of a known shape with new constants, and check its template."""
    expected = _full(document)
    template, bad = _build_template(document, values, entry.verbatim)
    with _lock:
        _keep(entry, constants, None if bad else _checked(template, values, expected))
    return expected


def undefined_terms(document: dict) -> list[str]:
    """:func:`jsonld.undefined_terms`, kept per document shape (it depends on nothing else)."""
    try:
        shape, _ = _shape(document)
    except _NotTemplatable:
        return jsonld.undefined_terms(document)
    key = (jsonld.documents_version(), shape)
    found = _undefined.get(key)
    if found is None:
        found = tuple(jsonld.undefined_terms(document))
        try:
            _context_terms(document)  # no key standing for a keyword reads a string value
        except _NotTemplatable:
            return list(found)
        with _lock:
            _undefined[key] = found
    return list(found)
