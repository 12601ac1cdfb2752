"""
A credential's criteria as a CEL (Common Expression Language) expression, and back
(docs/catalog-format.md, "Criteria as CEL").

The design notes ask for the rule tree to map onto the CEL expressions of openedx-core's pathways
design. No such design is published: openedx-core's ADRs 0020-0023 are about assessment and
competency criteria (their location, model and versioning), and its pathways work is an unmerged
draft (openedx/openedx-core#480); platform-roadmap#473 (modular learning paths) names no
expression language. So this module defines a small CEL dialect over the requirement types, in
the style of the notes' examples (``grade >= 0.7 && completion >= 0.8``; "3 of the core steps"):

==========================  ===============================================================
requirement                 CEL
==========================  ===============================================================
course_passed               ``passed("course-v1:Org+C+R")``
course_grade                ``grade("course-v1:Org+C+R") >= 0.8`` (a fraction, as in the notes)
course_completion           ``completion("course-v1:Org+C+R") >= 0.75``
certificate                 ``certificate("course-v1:Org+C+R")``, ``certificate("…", "verified")``
enrolled                    ``enrolled("course-v1:Org+C+R")``, ``enrolled("…", ["verified"])``
credential                  ``credential("python-bronze")``
external_credential         ``external_credential({"issuer": "did:key:…", "achievement": "…",
                            "achievement_type": "…", "min_result": 80.0})``
all / any                   ``(a && b)``, ``(a || b)``; one child: ``all([a])``, ``any([a])``
at_least                    ``at_least(2, [a, b, c])``
==========================  ===============================================================

Every expression is valid CEL (cel-python's parser reads it; an evaluator needs the functions
above bound). Strings are double-quoted with JSON escapes. Importing parses with cel-python
(``celpy``, an optional dependency: ``pip install openedx-microcred[cel]``), converts to the JSON
form and validates it with ``rules.parse_criteria``; the text is bounded in size and nesting
before it is parsed. Pure Python, no ORM.
"""

import json
from typing import NoReturn

from django.utils.translation import gettext as _

from . import limits, rules

try:
    import celpy
    from lark import Token, Tree
    from lark.exceptions import LarkError
except ImportError:  # the "cel" extra is not installed: export works, import says what to install
    celpy = Token = Tree = None
    LarkError = Exception

# Characters of a CEL expression accepted for import, and its nesting of (), [] and {}.
MAX_CEL_CHARS = 64 * 1024
MAX_CEL_NESTING = 3 * limits.MAX_CRITERIA_DEPTH + 8


class InvalidCEL(rules.InvalidCriteria):
    """A CEL expression that is not criteria in this dialect; the message says where and why."""


def _string(value):
    return json.dumps(value, ensure_ascii=False)


def _number(value):
    """A float CEL reads back to the same value: 12 significant digits drop 33.3 / 100's binary error."""
    text = format(float(value), ".12g")
    return text if any(c in text for c in ".en") else f"{text}.0"


def to_cel(tree: rules.Requirement) -> str:
    """The CEL expression of a requirement tree."""
    return _expr(tree, top=True)


def _expr(node, top=False):
    """The CEL text of a requirement (without the outer parentheses at the top)."""
    if isinstance(node, rules.Group):
        children = [_expr(child) for child in node.children]
        if node.kind == rules.AT_LEAST:
            return f"at_least({node.n}, [{', '.join(children)}])"
        if len(children) == 1:
            return f"{node.kind}([{children[0]}])"
        joined = (" && " if node.kind == rules.ALL else " || ").join(children)
        return joined if top else f"({joined})"
    if isinstance(node, rules.CoursePassed):
        return f"passed({_string(node.course)})"
    if isinstance(node, rules.CourseGrade):
        return f"grade({_string(node.course)}) >= {_number(node.min_percent / 100)}"
    if isinstance(node, rules.CourseCompletion):
        return f"completion({_string(node.course)}) >= {_number(node.min_percent / 100)}"
    if isinstance(node, rules.CertificateEarned):
        mode = f", {_string(node.mode)}" if node.mode else ""
        return f"certificate({_string(node.course)}{mode})"
    if isinstance(node, rules.Enrolled):
        modes = f", [{', '.join(_string(m) for m in node.modes)}]" if node.modes else ""
        return f"enrolled({_string(node.course)}{modes})"
    if isinstance(node, rules.CredentialEarned):
        return f"credential({_string(node.credential)})"
    if isinstance(node, rules.ExternalCredentialHeld):
        fields = {k: v for k, v in node.to_dict().items() if k != "type"}
        inits = ", ".join(f"{_string(k)}: {_number(v) if k == 'min_result' else _string(v)}" for k, v in fields.items())
        return f"external_credential({{{inits}}})"
    raise ValueError(f"no CEL form for requirement {node!r}")


# --- Import -----------------------------------------------------------------------------------

# celpy's grammar wraps every operand in these, one child each, until an operator or a primary.
_PASS_THROUGH = {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
                 "member", "primary", "paren_expr"}


def _fail(message) -> NoReturn:
    raise InvalidCEL(f"cel: {message}")


def _check_size(text):
    """Refuse a CEL text that is too long or nested too deeply, before the parser sees it."""
    if not isinstance(text, str):
        _fail(_("a CEL expression is text"))
    if len(text) > MAX_CEL_CHARS:
        _fail(_("longer than %(max)d characters") % {"max": MAX_CEL_CHARS})
    depth, quote, escaped = 0, False, False
    for char in text:
        if quote:
            escaped, quote = (False, quote) if escaped else (char == "\\", char != '"')
            continue
        if char == '"':
            quote = True
        elif char in "([{":
            depth += 1
            if depth > MAX_CEL_NESTING:
                _fail(_("nested deeper than %(max)d brackets") % {"max": MAX_CEL_NESTING})
        elif char in ")]}":
            depth -= 1


def _unwrap(node):
    while isinstance(node, Tree) and node.data in _PASS_THROUGH and len(node.children) == 1:
        node = node.children[0]
    return node


def _grouped(node):
    """Whether ``node`` (before unwrapping) is in parentheses: then a chain of && or || ends there."""
    while isinstance(node, Tree) and len(node.children) == 1:
        if node.data == "paren_expr":
            return True
        node = node.children[0]
    return False


def _literal(node, what):
    """The string or number a CEL literal node stands for; refuses any other node."""
    node = _unwrap(node)
    if isinstance(node, Tree) and node.data == "literal" and isinstance(node.children[0], Token):
        text = node.children[0].value
        if text[:1] in "'rRbB" or text.startswith('"""'):
            _fail(_("%(what)s: only double-quoted strings with JSON escapes are read") % {"what": what})
        if text.startswith('"'):
            try:
                return json.loads(text)
            except ValueError:
                _fail(_("%(what)s: only double-quoted strings with JSON escapes are read") % {"what": what})
        if text in ("true", "false", "null"):
            _fail(_("%(what)s: expected a string or a number, not %(text)s") % {"what": what, "text": text})
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text.rstrip("uU"))
        except ValueError:
            pass
    _fail(_("%(what)s: expected a literal string or number") % {"what": what})


def _list(node, what):
    node = _unwrap(node)
    if not (isinstance(node, Tree) and node.data == "list_lit"):
        _fail(_("%(what)s: expected a list [...]") % {"what": what})
    return list(node.children[0].children) if node.children else []


def _call(node):
    """(function name, argument nodes) of a call such as ``passed("…")``, or None."""
    node = _unwrap(node)
    if isinstance(node, Tree) and node.data == "ident_arg":
        name = node.children[0]
        args = node.children[1].children if len(node.children) > 1 and node.children[1] is not None else []
        return str(name), list(args)
    return None


def _chain(node, operator):
    """The operands of a chain of && (conditionaland) or || (conditionalor), flattened up to parentheses, or None."""
    operands, node = [], _unwrap(node)
    while isinstance(node, Tree) and node.data == operator and len(node.children) == 2:
        left, right = node.children
        operands.append(right)
        if _grouped(left):
            operands.append(left)
            break
        node = _unwrap(left)
    else:
        if not operands:
            return None
        operands.append(node)
    return operands[::-1]


def _convert(node, where):
    """The criteria JSON of a CEL expression node, or InvalidCEL naming the part by ``where``."""
    for operator, kind in (("conditionalor", rules.ANY), ("conditionaland", rules.ALL)):
        operands = _chain(node, operator)
        if operands:
            return {"type": kind, "of": [_convert(o, f"{where}.of[{i}]") for i, o in enumerate(operands)]}
    unwrapped = _unwrap(node)
    if isinstance(unwrapped, Tree) and unwrapped.data == "relation" and len(unwrapped.children) == 2:
        comparison, right = unwrapped.children
        if isinstance(comparison, Tree) and comparison.data == "relation_ge":
            call = _call(comparison.children[0])
            if call and call[0] in ("grade", "completion") and len(call[1]) == 1:
                course = _literal(call[1][0], f"{where}: {call[0]}()")
                fraction = _literal(right, f"{where}: the minimum")
                if not isinstance(fraction, (int, float)):
                    _fail(_("%(where)s: the minimum is a number from 0 to 1") % {"where": where})
                kind = rules.CourseGrade.kind if call[0] == "grade" else rules.CourseCompletion.kind
                return {"type": kind, "course": course, "min_percent": round(float(fraction) * 100, 9)}
        _fail(_("%(where)s: only grade(course) >= x and completion(course) >= x compare") % {"where": where})
    call = _call(node)
    if call is None:
        _fail(_("%(where)s: expected a requirement such as passed(\"course-v1:…\"), a && b, a || b or "
                "at_least(n, [...])") % {"where": where})
    name, args = call
    if name in (rules.ALL, rules.ANY) and len(args) == 1:
        items = _list(args[0], f"{where}: {name}()")
        return {"type": name, "of": [_convert(o, f"{where}.of[{i}]") for i, o in enumerate(items)]}
    if name == rules.AT_LEAST and len(args) == 2:
        items = _list(args[1], f"{where}: at_least()")
        return {"type": rules.AT_LEAST, "n": _literal(args[0], f"{where}: at_least()'s n"),
                "of": [_convert(o, f"{where}.of[{i}]") for i, o in enumerate(items)]}
    if name == "passed" and len(args) == 1:
        return {"type": rules.CoursePassed.kind, "course": _literal(args[0], f"{where}: passed()")}
    if name == "certificate" and len(args) in (1, 2):
        data = {"type": rules.CertificateEarned.kind, "course": _literal(args[0], f"{where}: certificate()")}
        if len(args) == 2:
            data["mode"] = _literal(args[1], f"{where}: certificate()'s mode")
        return data
    if name == "enrolled" and len(args) in (1, 2):
        data = {"type": rules.Enrolled.kind, "course": _literal(args[0], f"{where}: enrolled()")}
        if len(args) == 2:
            data["modes"] = [_literal(m, f"{where}: enrolled()'s modes") for m in _list(args[1], where)]
        return data
    if name == "credential" and len(args) == 1:
        return {"type": rules.CredentialEarned.kind, "credential": _literal(args[0], f"{where}: credential()")}
    if name == rules.EXTERNAL and len(args) == 1:
        fields = _unwrap(args[0])
        if not (isinstance(fields, Tree) and fields.data == "map_lit"):
            _fail(_("%(where)s: external_credential() takes a map {\"issuer\": …}") % {"where": where})
        values = fields.children[0].children if fields.children else []
        data = {"type": rules.EXTERNAL}
        for key, value in zip(values[::2], values[1::2]):
            data[str(_literal(key, f"{where}: a key"))] = _literal(value, f"{where}: a value")
        return data
    _fail(_("%(where)s: unknown function %(name)s() with %(count)d argument(s)")
          % {"where": where, "name": name, "count": len(args)})


def from_cel(text: str) -> dict:
    """
    The JSON form of the criteria a CEL expression of this dialect says, validated by
    ``rules.parse_criteria``; InvalidCEL (an InvalidCriteria) saying where and why otherwise.
    """
    if celpy is None:
        _fail(_("reading CEL needs cel-python: pip install 'openedx-microcred[cel]'"))
    _check_size(text)
    try:
        tree = celpy.CELParser().parse(text)
    except (LarkError, celpy.CELParseError) as exc:
        _fail(_("not a CEL expression: %(error)s") % {"error": str(exc).splitlines()[0][:300]})
    data = _convert(tree, "criteria")
    rules.parse_criteria(data)
    return data
