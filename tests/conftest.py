"""
The fixtures most test modules share: the learner Ada, credentials made in one call, on_commit run
as a commit would, a cache of the test run's own, the local badge-platform servers, and the users,
catalogs and pseudo-translation that several modules' tests start from.
"""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.utils import override_settings

from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Award, Credential
from sandbox.host.models import Course, CourseAccessRole

from . import events
from .fakes.accredible_server import AccredibleServer
from .fakes.badgr_server import BadgrServer
from .fakes.credly_server import CredlyServer
from .fakes.obf_server import OBFServer
from .i18n import DOMAINS, PSEUDO, SOURCE, pseudo_catalog, read_po, write_mo
from .users import client_for, make_user

C1 = "course-v1:DemoX+PY101+2026"
C2 = "course-v1:DemoX+PY102+2026"
C3 = "course-v1:DemoX+PY103+2026"
# Bytes an image upload takes for a PNG: the signature, then zeros (no picture to decode).
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def learner(db):
    """Ada, the learner of most tests (a password, so she can sign in)."""
    return get_user_model().objects.create_user("ada", "ada@example.com", "pw", first_name="Ada", last_name="L")


@pytest.fixture
def make_credential(db):
    """make(slug, criteria, **fields): an active DemoX credential saved as Studio saves it."""
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


@pytest.fixture(autouse=True, scope="session")
def _own_cache_directory(tmp_path_factory):
    """The host's shared file cache (sandbox/settings.py), in a directory of this test run: a demo
    running from the same checkout keeps its own."""
    caches = {"default": {**django_settings.CACHES["default"], "LOCATION": str(tmp_path_factory.mktemp("cache"))}}
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache(_own_cache_directory):
    """Each test starts with an empty cache (signed status lists are cached)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def credly(settings):
    """
    The local Credly server, configured as the platform account "credly" with quick retries and no
    rate limit. (tests/backends/test_credly.py and tests/integration/ have a ``credly`` of their own:
    the bare server, which they configure themselves.)
    """
    with CredlyServer() as server:
        settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {
            "backend": "credly", "base_url": server.base_url, "organization_id": server.organization_id,
            "token": server.token, "timeout": (1, 1), "organizations": ["DemoX"],
        }}
        settings.MICROCRED_DELIVERY = {"backoff_base": 1.0, "backoff_cap": 4.0, "max_attempts": 4,
                                       "rate_per_second": 0}
        yield server


@pytest.fixture
def platforms_with_basics(settings, make_credential):
    """
    The four badge platforms as local servers with an account each, and an active credential
    "basics" (pass C1) targeting all of them: {"credly": ..., "accredible": ..., "obf": ..., "badgr": ...}.
    """
    with CredlyServer() as credly, AccredibleServer() as accredible, OBFServer() as obf, BadgrServer() as badgr:
        settings.MICROCRED_PLATFORM_ACCOUNTS = {
            "credly": {"backend": "credly", "base_url": credly.base_url, "organization_id": credly.organization_id,
                       "token": credly.token, "organizations": ["DemoX"]},
            "accredible": {"backend": "accredible", "base_url": accredible.base_url, "api_key": accredible.api_key,
                           "organizations": ["DemoX"]},
            "obf": {"backend": "obf", "base_url": obf.base_url, "client_id": obf.client_id,
                    "client_secret": obf.client_secret, "organizations": ["DemoX"]},
            "badgr": {"backend": "badgr", "base_url": badgr.base_url, "username": badgr.username,
                      "password": badgr.password, "organizations": ["DemoX"]},
        }
        settings.MICROCRED_DELIVERY = {"rate_per_second": 0}
        make_credential("basics", {"type": "course_passed", "course": C1}, platform_targets=[
            {"account": "credly", "template_id": credly.default_template_id},
            {"account": "accredible", "group_id": accredible.default_group_id},
            {"account": "obf", "badge_id": obf.default_badge_id},
            {"account": "badgr", "badgeclass": badgr.default_badgeclass_id},
        ])
        yield {"credly": credly, "accredible": accredible, "obf": obf, "badgr": badgr}


# --- Shared by the tests of more than one module --------------------------------------------------


@pytest.fixture
def awarded(learner, make_credential, on_commit):
    """ada passes C1 and holds 'basics' (with EU metadata) and the stack above it."""
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics",
                    description="Writes small Python programs.", validity_days=730,
                    learning_outcomes=["Write and test small Python programs"], workload_hours=30,
                    ects_credits=1, eqf_level=4, assessment_type="marked-assignment", participation_form="online",
                    quality_assurance="Reviewed by the faculty board", identity_verified=False)
    make_credential("stack", {"type": "any", "of": [{"type": "credential", "credential": "basics"},
                                                    {"type": "course_grade", "course": C2, "min_percent": 80}]},
                    title="Python Stack", stack_kind="horizontal")
    with on_commit():
        events.passing(learner, C1)
    return {a.credential.slug: a for a in Award.objects.select_related("credential")}


@pytest.fixture
def users(db, learner):
    """One user per kind of caller; course roles on C1 unless said otherwise."""
    make = get_user_model().objects.create_user
    people = {
        "staff": make("cstaff", "cstaff@example.com", "pw"),
        "instructor": make("cinstructor", "cinstructor@example.com", "pw"),
        "other_staff": make("ostaff", "ostaff@example.com", "pw"),
        "org_staff": make("orgstaff", "orgstaff@example.com", "pw"),
        "global_staff": make("gstaff", "gstaff@example.com", "pw", is_staff=True),
        "learner": learner,
    }
    CourseAccessRole.objects.create(user=people["staff"], org="DemoX", course_key=C1, role="staff")
    CourseAccessRole.objects.create(user=people["instructor"], org="DemoX", course_key=C1, role="instructor")
    CourseAccessRole.objects.create(user=people["other_staff"], org="DemoX", course_key=C2, role="staff")
    CourseAccessRole.objects.create(user=people["org_staff"], org="DemoX", course_key=None, role="staff")
    return people


@pytest.fixture
def course_staff(db):
    """Staff of C1 only."""
    Course.objects.create(course_key=C1, display_name="Python Basics")
    return client_for(make_user("cstaff", ("DemoX", C1, "staff")))


@pytest.fixture
def org_staff(db):
    """Staff of the whole DemoX organization."""
    return client_for(make_user("orgstaff", ("DemoX", None, "staff")))


@pytest.fixture
def catalog(db, make_credential, settings, tmp_path):
    """
    The learner pages' catalog (tests/test_learner_pages.py, tests/test_i18n.py): a credential for
    each of C1, C2 and C3 (the first with an image), a horizontal stack "starter" of two of them and
    a vertical ladder "bronze" → "silver".
    """
    settings.MEDIA_ROOT = tmp_path
    Course.objects.create(course_key=C1, display_name="Python Foundations")
    Course.objects.create(course_key=C2, display_name="Data Analysis with Python")
    Course.objects.create(course_key=C3, display_name="Machine Learning Basics")
    make_credential("foundations", {"type": "course_passed", "course": C1}, title="Foundations Badge", course_key=C1,
                    image=SimpleUploadedFile("foundations.png", PNG))
    make_credential("analysis", {"type": "course_grade", "course": C2, "min_percent": 80}, title="Analysis Badge",
                    course_key=C2)
    make_credential("ml", {"type": "certificate", "course": C3, "mode": "verified"}, title="ML Badge", course_key=C3)
    make_credential("starter", {"type": "at_least", "n": 2, "of": [
        {"type": "credential", "credential": slug} for slug in ("foundations", "analysis", "ml")]},
        title="Starter Stack", stack_kind="horizontal")
    make_credential("bronze", {"type": "credential", "credential": "foundations"}, title="Bronze",
                    stack_kind="vertical")
    make_credential("silver", {"type": "all", "of": [{"type": "credential", "credential": "bronze"},
                                                     {"type": "credential", "credential": "analysis"},
                                                     {"type": "credential", "credential": "ml"}]},
                    title="Silver", stack_kind="vertical")


@pytest.fixture
def grace(db):
    """A second learner, Grace, without a password: hashing one takes most of a second, and force_login needs none."""
    return get_user_model().objects.create_user("grace", "grace@example.com")


@pytest.fixture(scope="module")
def pseudo_locale_dir(tmp_path_factory):
    """A LOCALE_PATHS directory with the pseudo-translation of the committed source catalogs."""
    root = tmp_path_factory.mktemp("locale")
    for domain in DOMAINS:
        source = SOURCE / f"{domain}.po"
        if source.exists():
            target = root / PSEUDO / "LC_MESSAGES"
            target.mkdir(parents=True, exist_ok=True)
            write_mo(pseudo_catalog(read_po(source)), target / f"{domain}.mo")
    return root
