"""The README's word on the demo users is true of the demo data (demo_setup, catalog.yaml, events.jsonl)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from openedx_microcred import api

DEMO = Path(__file__).resolve().parents[1] / "sandbox" / "demo"


@pytest.mark.django_db(transaction=True)
def test_ada_has_earned_every_python_credential_and_grace_and_linus_have_stacks_in_progress(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("demo_setup", verbosity=0)
    call_command("microcred_load", str(DEMO / "catalog.yaml"), verbosity=0)
    call_command("microcred_replay", str(DEMO / "events.jsonl"), verbosity=0)
    ada, grace, linus = (api.get_learner_dashboard(user_id) for user_id in (2, 3, 4))
    assert {b.credential_slug for b in ada.badges} == {
        "python-foundations", "data-analysis", "ml-basics", "python-bronze", "python-silver", "python-gold",
        "full-stack-starter"}
    assert not [s for s in ada.progress if not s.earned]
    for learner, stacks in ((grace, {"python-silver", "python-gold"}),
                            (linus, {"python-silver", "python-gold", "full-stack-starter"})):
        in_progress = {s.credential_slug for s in learner.progress if not s.earned and s.is_stack}
        assert stacks <= in_progress, (learner.username, in_progress)
    steps = [step.requirement.progress_text for s in grace.progress if s.credential_slug == "data-analysis"
             for step in s.next_steps]
    assert steps == ["your grade 40 % — 70 % needed", "0 of 24 blocks done"]
