"""The few platform tables the demo host needs, standing in for edx-platform's."""

from django.db import models
from django.utils import timezone
from opaque_keys.edx.django.models import CourseKeyField


class Course(models.Model):
    course_key = CourseKeyField(max_length=255, unique=True)
    display_name = models.CharField(max_length=255)
    completable_blocks = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.display_name} ({self.course_key})"


class CourseAccessRole(models.Model):
    """
    Who is on a course team, shaped like edx-platform's student.CourseAccessRole: a row with a
    course is a course role; a row with only the organization is an organization-wide role.
    """

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    org = models.CharField(max_length=64, db_index=True, blank=True)
    course_key = CourseKeyField(max_length=255, db_index=True, blank=True, null=True)
    role = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("user", "org", "course_key", "role"),
                                               name="host_role_unique")]

    def __str__(self):
        return f"{self.user_id} {self.role} {self.course_key or self.org}"


# --- The platform's history, read by microcred_backfill through the standalone adapter ---------
# Shaped like edx-platform's tables (same field names), so that the same code reads both.


class CourseGrade(models.Model):
    """A learner's course grade, shaped like edx-platform's grades.PersistentCourseGrade (no FK to the user)."""

    user_id = models.IntegerField(db_index=True)
    course_id = CourseKeyField(max_length=255)
    course_edited_timestamp = models.DateTimeField(null=True, blank=True)
    course_version = models.CharField(max_length=255, blank=True)
    grading_policy_hash = models.CharField(max_length=255, blank=True)
    percent_grade = models.FloatField()
    letter_grade = models.CharField(max_length=255, blank=True)
    passed_timestamp = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # Set on every save(), as edx-platform's TimeStampedModel does; bulk_create and update() keep
    # what they are given, so tests and the benchmark can write history with its own times.
    modified = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        unique_together = [("course_id", "user_id")]

    def save(self, *args, **kwargs):
        self.modified = timezone.now()
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.user_id} {self.course_id} {self.percent_grade:.0%}"


class GeneratedCertificate(models.Model):
    """A learner's certificate, shaped like edx-platform's certificates.GeneratedCertificate."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    course_id = CourseKeyField(max_length=255)
    status = models.CharField(max_length=32, default="unavailable")
    mode = models.CharField(max_length=32, default="honor")
    grade = models.CharField(max_length=5, blank=True)
    created_date = models.DateTimeField(default=timezone.now, editable=False)
    modified_date = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        unique_together = [("user", "course_id")]

    def save(self, *args, **kwargs):
        self.modified_date = timezone.now()
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.user_id} {self.course_id} {self.status}"


class CourseEnrollment(models.Model):
    """
    A learner's enrollment, shaped like edx-platform's student.CourseEnrollment. edx-platform keeps
    the time of the last change in its history table; this stand-in keeps it in ``modified``.
    """

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    course_id = CourseKeyField(max_length=255)
    mode = models.CharField(max_length=100, default="audit")
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    modified = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        unique_together = [("user", "course_id")]

    def save(self, *args, **kwargs):
        self.modified = timezone.now()
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.user_id} {self.course_id} {self.mode}{'' if self.is_active else ' (inactive)'}"
