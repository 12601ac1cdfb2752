"""
The size and depth limits of everything the plugin accepts from outside, defined once, and the one
bounded JSON reader used at every edge that parses untrusted JSON (REST API bodies, the Credly
webhook, ``microcred_replay`` lines, ``microcred_verify``, catalog files).

The limits are documented in docs/limits.md; change them here and there together. They are
generous for real use and small enough that no single request can cost much: a credential's public
page shows (and its signature covers) at most these many bytes, and nothing recursive ever sees
input deeper than a few dozen levels.

Pure Python, no Django models: the rules engine uses it too.
"""

import json
import re

# --- A credential's fields (models.Credential; the signed document and public page show them) ---
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5000
MAX_LEARNING_OUTCOMES = 50
MAX_LEARNING_OUTCOME_LENGTH = 500
MAX_SHORT_TEXT_LENGTH = 255  # assessment_type, participation_form
MAX_QUALITY_ASSURANCE_LENGTH = 5000
MAX_WORKLOAD_HOURS = 10000
MAX_VALIDITY_DAYS = 36500  # a hundred years: beyond it a date no longer fits
MAX_PLATFORM_TARGETS = 20
MAX_PLATFORM_TARGET_BYTES = 2048  # one target's settings, as JSON

# --- Criteria (rules.parse_criteria) -------------------------------------------------------------
# Depth counts requirements from the root down: a single leaf is depth 1, a group of leaves is 2.
# 16 because each level is two JSON levels (a group object and its list), and MariaDB's JSON_VALID
# check on the criteria column refuses JSON nested deeper than 32: depth 17 could not be stored there.
MAX_CRITERIA_DEPTH = 16
# Requirements (objects) in one credential's criteria, groups and leaves together.
MAX_CRITERIA_NODES = 500
# Every JSON value in the criteria (objects, lists, strings, numbers): bounds lists such as "modes".
MAX_CRITERIA_VALUES = 5000

# --- JSON read from outside ----------------------------------------------------------------------
# Nesting of objects and arrays. Deep enough for criteria of MAX_CRITERIA_DEPTH (each group is an
# object holding a list) inside a request body; Python's json module itself fails near 1,000.
MAX_JSON_DEPTH = 2 * MAX_CRITERIA_DEPTH + 8
MAX_JSON_BYTES = 1024 * 1024  # a REST API body, a webhook body, a credential file to verify
MAX_EVENT_LINE_BYTES = 64 * 1024  # one line of a microcred_replay file
MAX_KEPT_LINE_CHARS = 8192  # what a RejectedEvent keeps of a line that could not be read

# --- External Open Badges 3.0 credentials (external.py, fetching.py) ----------------------------
# A learner's uploaded (or fetched) credential: real ones are a few kB; an embedded PNG image
# makes some a few hundred.
MAX_EXTERNAL_CREDENTIAL_BYTES = 512 * 1024
MAX_EXTERNAL_CREDENTIAL_DEPTH = 24
# A status list credential (or DID document) fetched from an issuer: a 16 KiB bitstring gzipped
# and base64url-encoded is far smaller; a list of a million entries still fits.
MAX_FETCHED_DOCUMENT_BYTES = 1024 * 1024
MAX_EXTERNAL_CREDENTIALS_PER_LEARNER = 200
# JSON objects in an external credential or a fetched status list: each is a node that RDF
# canonicalization (checking the signature) must hash, and its cost grows faster than their number
# (benchmarks/external_verify.py: 200 objects 0.8 s, 1,000 objects 6.7 s). Real credentials have
# a few dozen.
MAX_EXTERNAL_CREDENTIAL_OBJECTS = 200
# An issuer, achievement id or type in external_credential criteria (and their columns).
MAX_EXTERNAL_IDENTIFIER_LENGTH = 500

# --- Catalog files (microcred_load) --------------------------------------------------------------
MAX_CATALOG_BYTES = 5 * 1024 * 1024
MAX_CATALOG_DEPTH = MAX_JSON_DEPTH
# Values (mappings, lists, scalars) in a catalog file once its YAML aliases are expanded.
MAX_CATALOG_VALUES = 200_000


class JSONLimitExceeded(ValueError):
    """JSON that is too large or too deeply nested to be read; the message says which limit."""


# A string (with its escapes), an unterminated quote, or a bracket: everything that matters for
# nesting. Brackets inside strings are skipped with the string.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|"|[\[\]{}]', re.DOTALL)


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether ``text`` (JSON, valid or not) nests objects and arrays deeper than ``max_depth``, without recursion."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
        elif token == '"':
            return False  # an unterminated string: the parser reports the real error
    return False


def loads_bounded(data, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_JSON_BYTES, **kwargs):
    """
    ``json.loads`` for untrusted input: JSONLimitExceeded (a ValueError) when ``data`` (str, or
    UTF-8 bytes) is longer than ``max_bytes`` or nests deeper than ``max_depth``, checked before it
    is parsed; json.JSONDecodeError (a ValueError too) when it is not JSON. ``kwargs`` go to json.loads.
    """
    size = len(data) if isinstance(data, (bytes, bytearray)) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JSONLimitExceeded(f"longer than {max_bytes} bytes")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONLimitExceeded(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if json_depth_exceeds(data, max_depth):
        raise JSONLimitExceeded(f"nested deeper than {max_depth} levels")
    return json.loads(data, **kwargs)


def structure_exceeds(value, max_depth, max_values=None, max_objects=None):
    """
    The first limit already-parsed data (dicts, lists, scalars) breaks, as a message, or None:
    nesting deeper than ``max_depth`` containers, more than ``max_values`` values in all, or more
    than ``max_objects`` dicts. Iterative, so any depth is measured without exhausting the stack.
    """
    stack, seen, objects = [(value, 1)], 0, 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if max_values is not None and seen > max_values:
            return f"more than {max_values} values"
        if isinstance(item, dict):
            objects += 1
            if max_objects is not None and objects > max_objects:
                return f"more than {max_objects} objects"
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        stack.extend((child, depth + 1) for child in children)
        if max_values is not None and seen + len(stack) > max_values:
            return f"more than {max_values} values"
    return None
