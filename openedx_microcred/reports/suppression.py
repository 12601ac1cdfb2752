"""
Suppression (pure): which cells of a report to hide so that no figure singles learners out.

A figure about fewer learners than the minimum cohort is suppressed, and so is any figure that
would let a suppressed one be worked out from the others (docs/decisions/0006-uptake-report-privacy.rst).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction


def suppress(values: dict, identities, minimum: int, implicit=frozenset()) -> set:
    """
    Which cells to suppress. ``values``: cell key → the count it holds (a number of learners);
    ``implicit``: keys of cells that are never shown but that a reader may work out (a difference
    such as "enrolled but started"); ``identities``: (total key, part keys) with
    total = sum of parts, exactly.

    1. Primary: a shown cell with 1 to ``minimum`` − 1 learners is suppressed. An empty group (0)
       singles nobody out and is shown.
    2. Complementary: no suppressed cell, and no implicit cell of 1 to ``minimum`` − 1 learners,
       may be determined by the shown cells through the identities (exact linear algebra, not just
       one identity at a time). While one is, the smallest shown cell of an identity involving it is
       suppressed as well. Implicit cells of 0 learners count as known: a reader may know from the
       structure that a group is empty (nobody holds a stack without the level below).
    """

    def sensitive(key):
        return values[key] != 0 and values[key] < minimum

    suppressed = {key for key in values if key not in implicit and sensitive(key)}
    totals = {total for total, _parts in identities}
    for component in _components(identities):
        within = _identities_within(identities, component)
        while True:
            unknown = {key for key in component if key in suppressed or (key in implicit and values[key] != 0)}
            protected = {key for key in unknown if key in suppressed or sensitive(key)}
            exposed = determined_cells(unknown, within) & protected
            if not exposed:
                break
            # One complement per exposed cell, in one round; an exposed cell next to one just handled
            # (in an identity with it or with its complement) waits for the next round: it may no
            # longer be exposed then.
            near, added = set(), set()
            for key in sorted(exposed, key=repr):
                if key in near:
                    continue
                involved = [identity for identity in within if key == identity[0] or key in identity[1]]
                choice = _complement(involved, within, values, suppressed | added, implicit=implicit, totals=totals)
                if choice is not None:
                    added.add(choice)
                    near.update(cell for total, parts in within if {key, choice} & {total, *parts}
                                for cell in (total, *parts))
            if not added:  # nothing left to hide: cannot happen with consistent identities
                break
            suppressed |= added
    return suppressed


def _components(identities):
    """The cells of the identities, grouped into sets linked by shared identities (union-find)."""
    parent = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for total, parts in identities:
        for part in parts:
            parent[find(part)] = find(total)
    groups = {}
    for key in list(parent):
        groups.setdefault(find(key), set()).add(key)
    return list(groups.values())


def _identities_within(identities, component):
    return [(total, parts) for total, parts in identities if total in component]


def determined_cells(unknown, identities) -> set:
    """
    The unknown cells whose value the identities fix, given every other cell: exact (fractions),
    and sparse. A row with a variable that no other row has (most implicit cells) is set aside:
    that variable can take any value, so the row says nothing about the others, and the variable
    itself is fixed exactly when the rest of its row is a combination of the other rows.
    """
    rows = []
    for total, parts in identities:
        row = {}
        for key, sign in ((total, 1), *((part, -1) for part in parts)):
            if key in unknown:
                row[key] = row.get(key, 0) + sign
        row = {key: Fraction(value) for key, value in row.items() if value}
        if row:
            rows.append(row)
    seen = Counter(key for row in rows for key in row)
    basis = []  # (pivot, row with 1 at the pivot and 0 at every earlier pivot)

    def reduce(vector):
        vector = dict(vector)
        for pivot, row in basis:
            factor = vector.get(pivot)
            if factor:
                for key, value in row.items():
                    vector[key] = vector.get(key, 0) - factor * value
                vector = {key: value for key, value in vector.items() if value}
        return vector

    private, shared = [], set()
    for row in rows:
        if any(seen[key] == 1 for key in row):
            private.append(row)
            continue
        shared.update(row)
        rest = reduce(row)
        if rest:
            pivot = min(rest, key=repr)
            basis.append((pivot, {key: value / rest[pivot] for key, value in rest.items()}))
    determined = {key for key in shared if not reduce({key: Fraction(1)})}
    for row in private:
        alone = [key for key in row if seen[key] == 1]
        if len(alone) == 1 and not reduce({key: value for key, value in row.items() if key != alone[0]}):
            determined.add(alone[0])
    return determined


def _complement(involved, within, values, suppressed, *, implicit, totals):
    """
    The shown cell to suppress next: the smallest one in the identities ``involved`` with an
    exposed cell (parts before totals), else in the rest of its component.
    """

    def candidates(pool):
        return {key for total, parts in pool for key in (total, *parts)
                if key not in suppressed and key not in implicit}

    pool = candidates(involved) or candidates(within)
    if not pool:
        return None
    return min(pool, key=lambda key: (values[key], key in totals, repr(key)))
