import pytest
from django.contrib.auth import get_user_model

from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Credential

C1 = "course-v1:DemoX+PY101+2026"
C2 = "course-v1:DemoX+PY102+2026"
C3 = "course-v1:DemoX+PY103+2026"


@pytest.fixture
def learner(db):
    return get_user_model().objects.create_user("ada", "ada@example.com", "pw", first_name="Ada", last_name="L")


@pytest.fixture
def make_credential(db):
    def make(slug, criteria, **fields):
        fields.setdefault("title", slug.replace("-", " ").title())
        fields.setdefault("org", "DemoX")
        fields.setdefault("state", Credential.State.ACTIVE)
        return save_credential(Credential(slug=slug, criteria=criteria, **fields))

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the evaluation tasks) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (signed status lists are cached)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
