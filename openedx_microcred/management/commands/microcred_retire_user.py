"""
Retire one learner's microcredential data, for hosts without edx-platform's retirement signals
(inside Open edX the plugin retires learners on ``USER_RETIRE_LMS_MISC`` / ``USER_RETIRE_LMS_CRITICAL``
by itself). See docs/privacy.md.

    manage.py lms microcred_retire_user ada          # by username
    manage.py lms microcred_retire_user --id 1234    # by user id (also when the username is numeric)
    manage.py lms microcred_retire_user 1234         # a user id, if no user has that username

Revokes the learner's credentials (status list, and upstream through the delivery outbox),
deletes their facts, progress and rejected events, strips the signed documents and keeps an audit
record without personal data. Running it again changes nothing. The user account itself is left
to the host.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from openedx_microcred.retirement import COUNTS, retire_learner


class Command(BaseCommand):
    """``microcred_retire_user``: finds the learner (by username, or id) and retires them, printing the counts."""

    help = ("Retire a learner: revoke their credentials here and on the badge platforms, delete their "
            "facts, progress and personal data, and keep an audit record without personal data.")

    def add_arguments(self, parser):
        parser.add_argument("user", nargs="?", help="the username (or a user id, if no username matches)")
        parser.add_argument("--id", type=int, dest="user_id", help="the user id")

    def handle(self, *args, user=None, user_id=None, **options):
        if (user is None) == (user_id is None):
            raise CommandError("Name the learner: a username, or --id USER_ID.")
        users = get_user_model().objects
        if user_id is not None:
            target = users.filter(pk=user_id).first()
        else:
            target = users.filter(**{get_user_model().USERNAME_FIELD: user}).first()
            if target is None and user.isdigit():
                target = users.filter(pk=int(user)).first()
        if target is None:
            # A user row already deleted by the host took its awards with it (the foreign keys
            # cascade); there is nothing left to revoke here.
            raise CommandError("No such user.")
        result = retire_learner(target, source="microcred_retire_user")
        if not result.changed:
            self.stdout.write("Nothing to retire: this learner's data was already removed.")
            return
        self.stdout.write("Retired: " + ", ".join(f"{name.replace('_', ' ')} {getattr(result, name)}"
                                                  for name in COUNTS) + ".")
        if result.revocations_queued:
            self.stdout.write("The badge platforms are told through the delivery outbox "
                              "(manage.py microcred_deliveries list shows their progress).")
