"""
Back-fill learner facts from the platform's stored history and evaluate the learners they concern.

    manage.py lms microcred_backfill --course course-v1:Org+CS101+2026
    manage.py lms microcred_backfill --credential python-basics --dry-run -v 2
    manage.py lms microcred_backfill --all --chunk-size 2000
    manage.py lms microcred_backfill --all --resume

Reads the platform adapter's historical grades, certificates and enrollments (inside edx-platform:
PersistentCourseGrade, GeneratedCertificate, CourseEnrollment) in chunks of learners; each chunk's
facts, evaluations and the run's checkpoint are committed together, so ``--resume`` continues a
stopped run after its last committed chunk. See docs/backfill.md.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from openedx_microcred import backfill
from openedx_microcred.models import BackfillRun

SUMMARY = (
    ("rows_read", "rows read"),
    ("learners_read", "learners read"),
    ("facts_applied", "facts applied"),
    ("facts_unchanged", "facts unchanged (newer row, same value)"),
    ("facts_stale", "facts stale (a newer fact is held: kept)"),
    ("facts_duplicate", "facts duplicate (already back-filled)"),
    ("rows_rejected", "rows rejected (see Rejected events)"),
    ("learners_evaluated", "learners evaluated"),
    ("awards_made", "awards made"),
    ("revocations", "revocations"),
)
DRY_RUN_LABELS = {
    "facts_applied": "facts that would be applied",
    "facts_unchanged": "facts that would be unchanged",
    "awards_made": "awards that would be made",
    "revocations": "revocations that would be made",
    "rows_rejected": "rows that would be rejected",
}


class Command(BaseCommand):
    """
    ``microcred_backfill``: checks the options, keeps the run's checkpoint (a BackfillRun marked
    stopped, with the reason, when anything interrupts it) and prints the totals.
    """

    help = ("Record the platform's stored grades, certificates and enrollments as learner facts and evaluate "
            "the learners, for one course, one credential or everything; in chunks, resumable, with a dry run.")

    def add_arguments(self, parser):
        scope = parser.add_argument_group("what to back-fill (exactly one)")
        scope.add_argument("--course", metavar="COURSE_KEY",
                           help="One course's history; evaluates the credentials that depend on it.")
        scope.add_argument("--credential", metavar="SLUG",
                           help="The history of every course the credential depends on (stacks: their parts' "
                                "courses too); evaluates the credentials depending on those courses.")
        scope.add_argument("--all", action="store_true", help="The whole history of every course.")
        parser.add_argument("--chunk-size", type=int, default=backfill.DEFAULT_CHUNK_SIZE, metavar="ROWS",
                            help="Rows per chunk (a chunk always ends at a learner boundary; "
                                 f"default {backfill.DEFAULT_CHUNK_SIZE}).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Write nothing; report how many learners would be awarded each credential "
                                 "(-v 2 lists them).")
        parser.add_argument("--resume", action="store_true",
                            help="Continue the last unfinished run of this scope after its last committed chunk.")
        parser.add_argument("--restart", action="store_true",
                            help="Abandon the unfinished run of this scope and start again from the first learner.")

    def handle(self, *args, **options):
        if options["resume"] and options["restart"]:
            raise CommandError("--resume and --restart cannot be used together.")
        if options["dry_run"] and (options["resume"] or options["restart"]):
            raise CommandError("A dry run writes nothing and keeps no checkpoint: it cannot --resume or --restart.")
        chunk_size = options["chunk_size"]
        if not 1 <= chunk_size <= backfill.MAX_CHUNK_SIZE:
            raise CommandError(f"--chunk-size must be from 1 to {backfill.MAX_CHUNK_SIZE}, not {chunk_size}.")
        try:
            scope = backfill.resolve_scope(options["course"], options["credential"], options["all"])
        except backfill.BackfillError as exc:
            raise CommandError(str(exc)) from exc
        if scope.warning:
            self.stdout.write(self.style.WARNING(scope.warning))
        verbosity = options["verbosity"]
        if options["dry_run"]:
            totals = self._run(scope, chunk_size, None, verbosity)
            self.stdout.write(f"Dry run of the back-fill of {scope}: nothing was written.")
            self._summary(totals, DRY_RUN_LABELS, "would award")
            return
        run = self._checkpoint(scope, chunk_size, resume=options["resume"], restart=options["restart"])
        try:
            totals = self._run(scope, chunk_size, run, verbosity)
        except BaseException as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
            BackfillRun.objects.filter(pk=run.pk).update(state=BackfillRun.State.STOPPED, last_error=reason[:2000],
                                                         updated_at=timezone.now())
            where = f"after learner {run.cursor}" if run.cursor else "before its first chunk was committed"
            message = (f"Back-fill run {run.pk} of {scope} stopped {where} ({reason}). "
                       f"What was committed stays; continue with --resume.")
            if isinstance(exc, Exception):
                raise CommandError(message) from exc
            self.stderr.write(message)
            raise
        BackfillRun.objects.filter(pk=run.pk).update(state=BackfillRun.State.FINISHED, finished_at=timezone.now(),
                                                     last_error="")
        self.stdout.write(f"Back-fill run {run.pk} of {scope}: finished after learner {run.cursor}.")
        self._summary(totals, {}, "awarded")

    def _checkpoint(self, scope, chunk_size, resume, restart):
        """The run to write the checkpoint in: the unfinished one with --resume, else a new one."""
        unfinished = backfill.unfinished_run(scope)
        if resume:
            if unfinished is None:
                raise CommandError(f"There is no unfinished back-fill of {scope} to resume.")
            unfinished.state, unfinished.last_error, unfinished.chunk_size = BackfillRun.State.RUNNING, "", chunk_size
            unfinished.save(update_fields=["state", "last_error", "chunk_size", "updated_at"])
            self.stdout.write(f"Resuming back-fill run {unfinished.pk} of {scope} after learner {unfinished.cursor} "
                              f"({unfinished.rows_read} rows done).")
            return unfinished
        if unfinished is not None:
            if not restart:
                raise CommandError(
                    f"Back-fill run {unfinished.pk} of {scope} did not finish ({unfinished.state}, after learner "
                    f"{unfinished.cursor}). Continue it with --resume, or start over with --restart.")
            BackfillRun.objects.filter(pk=unfinished.pk).update(state=BackfillRun.State.ABANDONED,
                                                                updated_at=timezone.now())
        return BackfillRun.objects.create(scope=scope.kind, target=scope.target, chunk_size=chunk_size)

    def _run(self, scope, chunk_size, run, verbosity):
        """
        The back-fill's totals, with a progress bar on a terminal and, from ``-v 2``, each award
        reported as it is made; a dry run when ``run`` (the checkpoint) is None.
        """
        show_progress = self.stdout.isatty()
        done = run.rows_read if run else 0
        with tqdm(unit="row", desc="Back-filling", initial=done, file=sys.stderr, disable=not show_progress,
                  dynamic_ncols=True) as progress:
            def on_chunk(chunk, _counts):
                progress.update(len(chunk))

            report = self._report if verbosity >= 2 else None
            try:
                return backfill.run_backfill(scope, chunk_size=chunk_size, run=run, dry_run=run is None,
                                             report=report, on_chunk=on_chunk)
            except backfill.BackfillError as exc:
                raise CommandError(str(exc)) from exc

    def _report(self, user_id, slug, what):
        user = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
        self.stdout.write(f"  {what} {slug} to learner {user_id} ({user})")

    def _summary(self, totals, labels, verb):
        """
        The totals, one line each (``labels`` rename them for a dry run), then the learners awarded
        by credential; ``verb`` is "awarded" or "would award".
        """
        rows = [(labels.get(name, label), getattr(totals, name)) for name, label in SUMMARY]
        width = max(len(label) for label, _ in rows) + 1
        for label, value in rows:
            self.stdout.write(f"  {label + ':':<{width}} {value:>12,}")
        if totals.awards_by_credential:
            self.stdout.write(f"Learners who {'would be' if verb == 'would award' else 'were'} awarded, "
                              f"by credential:")
            for slug, count in sorted(totals.awards_by_credential.items()):
                self.stdout.write(f"  {slug}: {count:,}")
        elif verb == "would award":
            self.stdout.write("No learner would be awarded a credential.")
