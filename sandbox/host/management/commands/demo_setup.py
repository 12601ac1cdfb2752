"""
The demo's platform side (see sandbox/demo/README.md): users, courses, course teams and ada's block
completions.

Idempotent: running it again changes nothing. Completions go through edx-completion's own API, so
the plugin learns of them through BlockCompletion's post_save, as it would in the LMS.
"""

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from opaque_keys.edx.keys import UsageKey
from waffle.models import Switch

from sandbox.host.models import Course, CourseAccessRole

# (id, username = password, first name, last name, superuser)
USERS = (
    (1, "admin", "Demo", "Admin", True),
    (2, "ada", "Ada", "Lovelace", False),
    (3, "grace", "Grace", "Hopper", False),
    (4, "linus", "Linus", "Torvalds", False),
    (5, "carol", "Carol", "Shaw", False),
    (6, "olivia", "Olivia", "Newton", False),
)

# The course teams, as edx-platform's course access roles: (username, role, org, course key or None).
# carol is on the PY101 and PY201 course teams; olivia is staff for every DemoX course (org role).
ROLES = (
    ("carol", "staff", "DemoX", "course-v1:DemoX+PY101+2026"),
    ("carol", "staff", "DemoX", "course-v1:DemoX+PY201+2026"),
    ("olivia", "staff", "DemoX", None),
)

# (course key, display name, completable blocks)
COURSES = (
    ("course-v1:DemoX+PY101+2026", "Python Foundations", 20),
    ("course-v1:DemoX+PY201+2026", "Data Analysis with Python", 30),
    ("course-v1:DemoX+PY301+2026", "Machine Learning Basics", 25),
    ("course-v1:DemoX+WEB101+2026", "Web Foundations", 15),
)

COMPLETION_SWITCH = "completion.enable_completion_tracking"

# PY201's 30 completable blocks: 10 videos, 15 problems, 5 html pages.
PY201 = "course-v1:DemoX+PY201+2026"
PY201_BLOCKS = (
    [("video", f"v{i}") for i in range(1, 11)]
    + [("problem", f"p{i}") for i in range(1, 16)]
    + [("html", f"h{i}") for i in range(1, 6)]
)
# Ada has completed all but the last five problems: 25 of 30 blocks (83 %).
ADA_COMPLETED = [block for block in PY201_BLOCKS if block not in [("problem", f"p{i}") for i in range(11, 16)]]


def block_key(course_key, block_type, block_id):
    org, code, run = course_key.split(":", 1)[1].split("+")
    return UsageKey.from_string(f"block-v1:{org}+{code}+{run}+type@{block_type}+block@{block_id}")


class Command(BaseCommand):
    help = "Create the demo users, courses and block completions (idempotent)."

    def handle(self, *args, **options):
        from completion.models import BlockCompletion  # pylint: disable=import-outside-toplevel

        with transaction.atomic():
            users = {row[1]: self._user(*row) for row in USERS}
            self._reset_user_sequence()
            for key, name, blocks in COURSES:
                Course.objects.update_or_create(course_key=key,
                                                defaults={"display_name": name, "completable_blocks": blocks})
            for username, role, org, course_key in ROLES:
                CourseAccessRole.objects.get_or_create(user=users[username], role=role, org=org, course_key=course_key)
            switch, _ = Switch.objects.get_or_create(name=COMPLETION_SWITCH, defaults={"active": True})
            if not switch.active:
                switch.active = True
                switch.save()
            created = 0
            for block_type, block_id in ADA_COMPLETED:
                _, is_new = BlockCompletion.objects.submit_completion(
                    users["ada"], block_key(PY201, block_type, block_id), 1.0
                )
                created += is_new
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready: {len(USERS)} users, {len(COURSES)} courses, {len(ROLES)} course team roles, ada has "
            f"{len(ADA_COMPLETED)}/{len(PY201_BLOCKS)} blocks completed in {PY201} ({created} new)."
        ))

    def _user(self, pk, username, first_name, last_name, superuser):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if User.objects.filter(pk=pk).exists():
                raise CommandError(f"User id {pk} is taken by {User.objects.get(pk=pk).username!r}, not {username!r}: "
                                   "demo_setup expects a fresh database (make demo-data).")
            user = User(pk=pk, username=username)
            user.set_password(username)
        elif user.pk != pk:
            raise CommandError(f"User {username!r} has id {user.pk}, the demo expects {pk}: "
                               "use a fresh database (make demo-data).")
        user.first_name, user.last_name = first_name, last_name
        user.email = f"{username}@example.com"
        user.is_staff = user.is_superuser = superuser
        user.is_active = True
        user.save()
        return user

    def _reset_user_sequence(self):
        # Ids were given explicitly: on PostgreSQL the sequence must be moved past them.
        sql = connection.ops.sequence_reset_sql(no_style(), [get_user_model()])
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
