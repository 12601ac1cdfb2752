"""
The criteria builder and the badge platform picker of the credential form, on the server: a
requirement tree shown as rows (one per requirement or group, in tree order, each naming its
parent) that a browser posts back as plain form fields, so that they work without JavaScript.
Buttons named ``cb-action`` / ``pt-action`` add and remove rows; the page is then shown again
with the change, nothing saved.

The raw JSON (the form's ``criteria`` and ``platform_targets`` fields) stays the "advanced" view.
Both come from one value: the page carries the JSON it was shown with (``*_shown``); when the
JSON posted differs from it, the JSON was edited and wins, otherwise the rows win and the JSON is
written from them. Either way the page shows both again from the one result.

What the rows give is checked like any other criteria (``rules.parse_criteria`` and
``Credential.clean`` through ``catalog.save_credential``); errors whose path names a row
(``criteria.of[1].min_percent: …``) are shown next to that row.
"""

import json
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .. import limits, rules

GROUP_TYPES = (rules.ALL, rules.ANY, rules.AT_LEAST)
LEAF_TYPES = (rules.CoursePassed.kind, rules.CourseGrade.kind, rules.CourseCompletion.kind,
              rules.CertificateEarned.kind, rules.Enrolled.kind, rules.CredentialEarned.kind)
# The inputs of a row, as posted: cb-<index>-<name>.
ROW_FIELDS = ("parent", "type", "label", "n", "course", "min_percent", "mode", "modes", "credential")
# What each input is for (the rest of a row's inputs are ignored, and hidden by the script).
TYPE_FIELDS = {
    rules.ALL: ("label",), rules.ANY: ("label",), rules.AT_LEAST: ("label", "n"),
    rules.CoursePassed.kind: ("course",),
    rules.CourseGrade.kind: ("course", "min_percent"),
    rules.CourseCompletion.kind: ("course", "min_percent"),
    rules.CertificateEarned.kind: ("course", "mode"),
    rules.Enrolled.kind: ("course", "modes"),
    rules.CredentialEarned.kind: ("credential",),
}
MAX_TEXT = 255  # any one input of a row
_ACTION = re.compile(r"^(add|addgroup|remove|combine)-(\d{1,4})$")
_PATH_PREFIX = re.compile(r"^(criteria(?:\.of\[\d+\])*)(?:\.(\w+))?: (.*)$", re.DOTALL)


def type_choices():
    """The requirement kinds a builder row offers, grouped under headings, as form choices."""
    return [
        (_("Requirements"), [
            (rules.CoursePassed.kind, _("Pass a course")),
            (rules.CourseGrade.kind, _("Reach a course grade")),
            (rules.CourseCompletion.kind, _("Complete a course")),
            (rules.CertificateEarned.kind, _("Earn a course certificate")),
            (rules.Enrolled.kind, _("Be enrolled in a course")),
            (rules.CredentialEarned.kind, _("Earn another credential")),
        ]),
        (_("Groups"), [
            (rules.ALL, _("A group: all of these")),
            (rules.ANY, _("A group: any one of these")),
            (rules.AT_LEAST, _("A group: at least a number of these")),
        ]),
    ]


@dataclass
class Row:
    """One requirement or group of the tree, with what was typed (strings) and its errors."""

    parent: int | None
    type: str
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)  # input name (or "" for the row) -> messages
    depth: int = 0
    path: str = "criteria"
    number: str = "1"  # "1", "1.2", ...: how the page names the row

    @property
    def is_group(self):
        return self.type in GROUP_TYPES

    def value(self, name):
        return self.values.get(name, "")

    def uses(self, name):
        return name in TYPE_FIELDS.get(self.type, ())

    def add_error(self, name, message):
        self.errors.setdefault(name if self.uses(name) else "", []).append(message)


def _number_text(value):
    """A number as the builder's input shows it (empty for none)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(value)  # 80.0 stays 80.0, so that saving unchanged keeps the stored JSON exactly
    return str(value)


def rows_from_tree(data, parent=None, rows=None):
    """The rows of a requirement tree's JSON form (which ``rules.parse_criteria`` accepts), in tree order."""
    rows = [] if rows is None else rows
    kind = data.get("type")
    values = {}
    if "label" in data:
        values["label"] = str(data["label"])
    if kind in GROUP_TYPES:
        if kind == rules.AT_LEAST:
            values["n"] = _number_text(data.get("n"))
        rows.append(Row(parent, kind, values))
        index = len(rows) - 1
        for child in data.get("of") or []:
            rows_from_tree(child, index, rows)
        return rows
    if kind == rules.CredentialEarned.kind:
        values["credential"] = str(data.get("credential") or "")
    else:
        values["course"] = str(data.get("course") or "")
        if "min_percent" in data:
            values["min_percent"] = _number_text(data["min_percent"])
        if data.get("mode"):
            values["mode"] = str(data["mode"])
        if data.get("modes"):
            values["modes"] = ", ".join(str(mode) for mode in data["modes"])
    rows.append(Row(parent, kind, values))
    return rows


def rows_from_post(post, prefix="cb"):
    """
    The rows as a browser posted them, or None if the page had no builder. Bounded: at most
    ``limits.MAX_CRITERIA_NODES`` rows, ``MAX_TEXT`` characters an input; a row whose parent is not
    an earlier row is attached to the first row. A parent that is not a group is refused later,
    where it stands (``tree_from_rows``), rather than dropping what it holds.
    """
    total = post.get(f"{prefix}-total")
    if total is None:
        return None
    try:
        count = max(0, min(int(total), limits.MAX_CRITERIA_NODES))
    except ValueError:
        count = 0
    rows = []
    for index in range(count):
        values = {name: str(post.get(f"{prefix}-{index}-{name}", ""))[:MAX_TEXT].strip() for name in ROW_FIELDS}
        kind = values.pop("type")
        if kind not in GROUP_TYPES and kind not in LEAF_TYPES:
            kind = rules.CoursePassed.kind
        parent_text = values.pop("parent")
        parent = int(parent_text) if parent_text.isdigit() else None
        if not rows:
            parent = None
        elif parent is None or parent >= len(rows):
            parent = 0  # (a row that names no earlier row goes to the first one)
        rows.append(Row(parent, kind, {k: v for k, v in values.items() if v}))
    return rows


def _children(rows, index):
    return [i for i, row in enumerate(rows) if row.parent == index]


def _subtree(rows, index):
    """``index`` and every row beneath it."""
    found = {index}
    for i in range(index + 1, len(rows)):
        if rows[i].parent in found:
            found.add(i)
    return found


def _reindexed(rows, order):
    """The rows in ``order`` (old indexes), parents renumbered."""
    new_index = {old: new for new, old in enumerate(order)}
    result = []
    for old in order:
        row = rows[old]
        result.append(Row(new_index.get(row.parent) if row.parent is not None else None, row.type, dict(row.values)))
    return result


def _in_tree_order(rows):
    """The rows in tree order (each parent before its children), reindexed."""
    order = []

    def visit(index):
        order.append(index)
        for child in _children(rows, index):
            visit(child)

    if rows:
        visit(0)
    return _reindexed(rows, order)


def apply_action(rows, action, default_course=""):
    """
    The rows after a builder button: ``add-<i>`` / ``addgroup-<i>`` (a requirement or a group at the
    end of group i), ``remove-<i>`` (row i and what it holds), ``combine-<i>`` (row i, a single
    requirement, becomes the first of an all-of group with a new requirement). Returns (rows, what
    was done as a sentence for the page), or (rows, None) for an unknown action.
    """
    match = _ACTION.match(action or "")
    if not match or int(match.group(2)) >= len(rows):
        return rows, None
    verb, index = match.group(1), int(match.group(2))
    new_leaf = {"course": default_course} if default_course else {}
    rows = [Row(row.parent, row.type, dict(row.values)) for row in rows]
    if verb in ("add", "addgroup") and rows[index].is_group:
        if len(rows) + 2 > limits.MAX_CRITERIA_NODES:
            return rows, _("There can be at most %(max)d requirements.") % {"max": limits.MAX_CRITERIA_NODES}
        rows.append(Row(index, rules.CoursePassed.kind, dict(new_leaf)) if verb == "add"
                    else Row(index, rules.ALL, {}))
        if verb == "addgroup":
            rows.append(Row(len(rows) - 1, rules.CoursePassed.kind, dict(new_leaf)))
        return _in_tree_order(rows), (_("Requirement added.") if verb == "add" else _("Group added."))
    if verb == "remove" and index > 0:
        gone = _subtree(rows, index)
        done = _("Group removed.") if rows[index].is_group else _("Requirement removed.")
        return _reindexed(rows, [i for i in range(len(rows)) if i not in gone]), done
    if verb == "combine" and not rows[index].is_group:
        # A group takes the requirement's place and holds it and a new requirement.
        for row in rows:
            if row.parent is not None and row.parent >= index:
                row.parent += 1
        rows.insert(index, Row(rows[index].parent, rules.ALL, {}))
        rows[index + 1].parent = index
        rows.append(Row(index, rules.CoursePassed.kind, dict(new_leaf)))
        return _in_tree_order(rows), _("The requirement is now in a group; add more requirements to it.")
    return rows, None


def _number(text):
    """
    A number typed in a row as JSON would hold it (80, 72.5); the text itself when it is none, for
    ``rules.parse_criteria`` to refuse where it stands ("must be a number from 0 to 100, not 'lots'").
    """
    cleaned = text.replace(",", ".").rstrip("%").strip()
    if re.fullmatch(r"-?\d+", cleaned):
        return int(cleaned)
    try:
        return float(cleaned)
    except ValueError:
        return text


def number_rows(rows):
    """Give each row its path (``criteria.of[1].of[0]``), its number ("1.2.1") and its depth."""

    def visit(index, path, number, depth):
        row = rows[index]
        row.path, row.number, row.depth = path, number, depth
        for position, child in enumerate(_children(rows, index)):
            visit(child, f"{path}.of[{position}]", f"{number}.{position + 1}", depth + 1)

    if rows:
        visit(0, "criteria", "1", 0)


def tree_from_rows(rows):
    """
    The JSON form of the rows (None for no rows), numbering them. Values are taken as typed: what
    is wrong with them is for ``rules.parse_criteria`` to say, with the path of the row.
    """
    if not rows:
        return None
    number_rows(rows)

    def build(index):
        row = rows[index]
        data = {"type": row.type}
        if row.value("label") and row.uses("label"):
            data["label"] = row.value("label")
        children = _children(rows, index)
        if row.is_group or children:
            # (A group whose type was changed to a requirement keeps what it holds, and the
            # criteria check refuses it there, so that nothing is dropped unseen.)
            if row.type == rules.AT_LEAST:
                data["n"] = _number(row.value("n"))
            data["of"] = [build(child) for child in children]
            if not row.is_group:
                data.update((name, row.value(name)) for name in TYPE_FIELDS[row.type] if row.value(name))
            return data
        if row.type == rules.CredentialEarned.kind:
            data["credential"] = row.value("credential")
            return data
        data["course"] = row.value("course")
        if row.uses("min_percent") and row.value("min_percent") != "":
            data["min_percent"] = _number(row.value("min_percent"))
        if row.uses("mode") and row.value("mode"):
            data["mode"] = row.value("mode")
        if row.uses("modes") and row.value("modes"):
            data["modes"] = [mode.strip() for mode in row.value("modes").split(",") if mode.strip()]
        return data

    return build(0)


def place_errors(rows, messages):
    """
    Put each message that starts with a row's path next to that row (and its input); return the
    messages about no row (a cycle, a size limit), for the builder as a whole.
    """
    by_path = {row.path: row for row in rows}
    rest = []
    for message in messages:
        match = _PATH_PREFIX.match(str(message))
        row = by_path.get(match.group(1)) if match else None
        if row is None:
            rest.append(message)
            continue
        name, text = match.group(2) or "", match.group(3)
        if not name and not row.is_group:  # about the requirement as a whole: what it names is the cause
            name = "credential" if row.type == rules.CredentialEarned.kind else "course"
        row.add_error(name, text)
    return rest


def json_text(value):
    """The indented JSON of ``value`` a builder's text area shows (non-ASCII kept as it is)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


# --- Badge platforms -----------------------------------------------------------------------------


@dataclass
class TargetRow:
    """One badge platform an award is sent to: an account and what to issue there."""

    account: str = ""
    template: str = ""
    extra: dict = field(default_factory=dict)  # the target's other keys (email texts...), kept as they are
    errors: list = field(default_factory=list)


def target_rows_from_list(targets, target_keys):
    """
    Rows of a list of targets (of a valid shape); ``target_keys``: account → (its backend's target
    key, the function that turns a picked id into the value stored).
    """
    rows = []
    for target in targets or []:
        account = str(target.get("account", ""))
        key = target_keys.get(account, ("", None))[0]
        extra = {k: v for k, v in target.items() if k not in ("account", key)}
        rows.append(TargetRow(account, str(target.get(key, "")) if key else "", extra))
    return rows


def target_rows_from_post(post):
    """The rows posted (None if the page had no picker), bounded like the targets themselves."""
    total = post.get("pt-total")
    if total is None:
        return None
    try:
        count = max(0, min(int(total), limits.MAX_PLATFORM_TARGETS))
    except ValueError:
        count = 0
    rows = []
    for index in range(count):
        account = str(post.get(f"pt-{index}-account", ""))[:MAX_TEXT].strip()
        template = str(post.get(f"pt-{index}-template", ""))[:MAX_TEXT].strip()
        extra_text = str(post.get(f"pt-{index}-extra", "") or "")
        try:
            extra = limits.loads_bounded(extra_text, max_bytes=limits.MAX_PLATFORM_TARGET_BYTES) if extra_text else {}
        except ValueError:
            extra = {}
        rows.append(TargetRow(account, template, extra if isinstance(extra, dict) else {}))
    return rows


def targets_from_rows(rows, target_keys):
    """The targets the rows describe; a row with no account is left out (an empty row of the picker)."""
    targets = []
    for row in rows:
        if not row.account:
            continue
        target = {"account": row.account, **{k: v for k, v in row.extra.items() if k != "account"}}
        key, value = target_keys.get(row.account, ("", None))
        if key and row.template:
            target[key] = value(row.template)
        targets.append(target)
    return targets
