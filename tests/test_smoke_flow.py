"""The smallest end-to-end flow: a passing event awards a credential, a grade then completes the stack above it."""

from openedx_microcred import api
from openedx_microcred.models import Award, LearnerFact

from . import events
from .conftest import C1, C2


def test_passing_event_awards_and_cascades_to_stack(learner, make_credential, on_commit):
    make_credential("py-basics", {"type": "course_passed", "course": C1})
    make_credential("py-data", {"type": "course_grade", "course": C2, "min_percent": 80})
    make_credential("py-stack", {"type": "all", "of": [{"type": "credential", "credential": "py-basics"},
                                                       {"type": "credential", "credential": "py-data"}]})
    with on_commit():
        assert events.passing(learner, C1) == "applied"
    assert LearnerFact.objects.count() == 1
    assert [a.credential_slug for a in api.get_learner_awards(learner)] == ["py-basics"]
    stack = next(p for p in api.get_learner_progress(learner) if p.credential_slug == "py-stack")
    assert stack.fraction == 0.5 and not stack.earned
    with on_commit():
        events.grade(learner.pk, C2, 0.85, time=events.at(5))
    assert {a.credential_slug for a in api.get_learner_awards(learner)} == {"py-basics", "py-data", "py-stack"}
    assert Award.objects.filter(current=True).count() == 3
