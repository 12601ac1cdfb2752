"""Suppression, the rule on its own (suppression.py): primary and complementary, checked against brute force."""

import random
from fractions import Fraction

from openedx_microcred.reports import suppression

from .conftest import N


def test_primary_suppression_hides_1_to_n_minus_1_and_shows_zero():
    values = {"a": 0, "b": 1, "c": 9, "d": 10}
    assert suppression.suppress(values, [], 10) == {"b", "c"}


def test_complementary_suppression_in_a_sum():
    """total = a + b + c with a too small: a would be total − b − c, so the next smallest part goes too."""
    values = {"total": 50, "a": 4, "b": 30, "c": 16}
    assert suppression.suppress(values, [("total", ("a", "b", "c"))], 10) == {"a", "c"}


def test_an_implicit_small_group_is_protected():
    """enrolled = not started + started, "started" never shown: when it is small, "not started" goes."""
    values = {"enrolled": 45, "not_started": 36, "started": 9}
    assert suppression.suppress(values, [("enrolled", ("not_started", "started"))], 10, implicit={"started"}) == {
        "not_started"}
    values["started"] = 12
    assert suppression.suppress(values, [("enrolled", ("not_started", "started"))], 10, implicit={"started"}) == set()


def test_suppression_sees_through_chains_of_identities():
    """a is hidden; T = a + b where b is never shown but b = c + d with c and d shown: T must go."""
    values = {"T": 30, "a": 5, "b": 25, "c": 15, "d": 10}
    identities = [("T", ("a", "b")), ("b", ("c", "d"))]
    assert suppression.suppress(values, identities, 10, implicit={"b"}) == {"a", "T"}


def test_an_empty_implicit_group_counts_as_known():
    """
    A ladder: 20 hold the lower level, 15 the upper, all 15 of them the lower too (nobody holds the
    upper alone: 0, which a reader may know). The 5 who stop at the lower level are protected:
    hiding the conversion is not enough (it equals the upper level's holders), so that goes too.
    """
    values = {"low": 20, "up": 15, "both": 15, "low_only": 5, "up_only": 0}
    identities = [("low", ("both", "low_only")), ("up", ("both", "up_only"))]
    assert suppression.suppress(values, identities, 10, implicit={"low_only", "up_only"}) == {"both", "up"}


# --- Against brute force -------------------------------------------------------------------------------


def _determined_by_brute_force(unknown, identities):
    """The unknowns fixed by the identities: e_k in the row space of the dense matrix (rank test)."""
    columns = sorted(unknown)

    def rank(rows):
        rows = [list(r) for r in rows]
        rank_ = 0
        for col in range(len(columns)):
            pivot = next((i for i in range(rank_, len(rows)) if rows[i][col] != 0), None)
            if pivot is None:
                continue
            rows[rank_], rows[pivot] = rows[pivot], rows[rank_]
            for i, row in enumerate(rows):
                if i != rank_ and row[col] != 0:
                    factor = Fraction(row[col], 1) / rows[rank_][col]
                    rows[i] = [x - factor * y for x, y in zip(row, rows[rank_])]
            rank_ += 1
        return rank_

    matrix = []
    for total, parts in identities:
        row = [0] * len(columns)
        for key, sign in ((total, 1), *((part, -1) for part in parts)):
            if key in unknown:
                row[columns.index(key)] += sign
        matrix.append(row)
    base = rank(matrix)
    return {key for i, key in enumerate(columns)
            if rank(matrix + [[1 if j == i else 0 for j in range(len(columns))]]) == base}


def test_the_sparse_solver_agrees_with_brute_force():
    """``suppression.determined_cells`` against a dense rank test, on 400 random systems of identities."""
    for seed_ in range(400):
        rng = random.Random(seed_)
        keys = [f"k{i}" for i in range(rng.randint(3, 9))]
        identities = []
        for _ in range(rng.randint(1, 5)):
            total, *parts = rng.sample(keys, rng.randint(2, min(4, len(keys))))
            identities.append((total, tuple(parts)))
        unknown = set(rng.sample(keys, rng.randint(1, len(keys))))
        assert suppression.determined_cells(unknown, identities) == _determined_by_brute_force(unknown, identities), (
            seed_, identities, unknown)


def test_no_protected_cell_can_be_worked_out_after_suppression():
    """On 300 random tables of sums: every small cell is hidden, and nothing hidden is recoverable."""
    for seed_ in range(300):
        rng = random.Random(seed_)
        keys = [f"k{i}" for i in range(rng.randint(3, 10))]
        identities, values, implicit = [], {}, set()
        for _ in range(rng.randint(1, 4)):
            parts = tuple(f"{key}.{len(identities)}" for key in rng.sample(keys, rng.randint(2, 3)))
            for part in parts:
                values[part] = rng.choice([0, rng.randint(1, 9), rng.randint(10, 40)])
                if rng.random() < 0.3:
                    implicit.add(part)
            total = f"total{len(identities)}"
            values[total] = sum(values[part] for part in parts)
            identities.append((total, parts))
        # Chain some sums: a total is a part of the next one.
        for (total, _parts), (next_total, next_parts) in zip(identities, identities[1:]):
            if rng.random() < 0.5:
                values[next_total] += values[total]
                identities[identities.index((next_total, next_parts))] = (next_total, (*next_parts, total))
        hidden = suppression.suppress(values, identities, N, implicit)
        small = {key for key, value in values.items() if 0 < value < N}
        assert small - implicit <= hidden, seed_
        unknown = hidden | {key for key in implicit if values[key] != 0}
        protected = hidden | (small & implicit)
        assert not _determined_by_brute_force(unknown, identities) & protected, (seed_, identities, values, hidden)
