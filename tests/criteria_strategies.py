"""Hypothesis strategies for criteria: valid criteria trees as JSON, over a few courses and credentials."""

import functools

from hypothesis import strategies as st

COURSES = [f"course-v1:Org+C{i}+2026" for i in range(1, 5)]
CREDENTIALS = ["cred-a", "cred-b", "cred-c"]
MODES = ["audit", "verified", "honor", "professional"]

percents = st.one_of(
    st.integers(0, 100),
    st.integers(0, 1000).map(lambda tenths: tenths / 10),
    st.sampled_from([0, 0.0, 29, 57, 58, 57.5, 79.9, 80, 100, 100.0]),
)


@functools.lru_cache(maxsize=None)
def leaves(credentials, course_leaves=True):
    """Hypothesis strategy: a requirement leaf on the courses (unless not ``course_leaves``) or ``credentials``."""
    course = st.sampled_from(COURSES)
    optional_percent = st.one_of(st.none(), percents)
    options = [] if not course_leaves else [
        st.builds(lambda c: {"type": "course_passed", "course": c}, course),
        st.builds(lambda c, p: {"type": "course_grade", "course": c, "min_percent": p}, course, percents),
        st.builds(lambda c, p: {"type": "course_completion", "course": c, **({} if p is None else {"min_percent": p})},
                  course, optional_percent),
        st.builds(lambda c, m: {"type": "certificate", "course": c, **({"mode": m} if m else {})},
                  course, st.one_of(st.none(), st.sampled_from(MODES))),
        st.builds(lambda c, ms: {"type": "enrolled", "course": c, **({"modes": ms} if ms is not None else {})},
                  course, st.one_of(st.none(), st.lists(st.sampled_from(MODES), max_size=3, unique=True))),
    ]
    if credentials:
        credential = st.builds(lambda s: {"type": "credential", "credential": s}, st.sampled_from(list(credentials)))
        options += [credential, credential]  # stacks are what the decisions are about: draw them more
    return st.one_of(options)


@functools.lru_cache(maxsize=None)
def criteria(depth=4, credentials=tuple(CREDENTIALS), course_leaves=True):
    """A valid criteria tree as JSON: at most ``depth`` levels, groups of 1..4 requirements."""
    # (cached: building hypothesis strategies is far slower than drawing from them)
    leaf = leaves(credentials, course_leaves)
    children = st.lists(criteria(depth - 1, credentials, course_leaves), min_size=1, max_size=4) if depth > 1 else None
    labels = st.integers(0, 9)

    @st.composite
    def nodes(draw):
        if children is None or draw(st.integers(0, 9)) < 3:
            node = dict(draw(leaf))
        else:
            kind = draw(st.sampled_from(["all", "any", "at_least"]))
            node = {"type": kind, "of": draw(children)}
            if kind == "at_least":
                node["n"] = draw(st.integers(1, len(node["of"])))
        if draw(labels) == 0:
            node["label"] = "a label"
        return node

    return nodes()
