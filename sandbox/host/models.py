"""The few platform tables the demo host needs, standing in for edx-platform's."""

from django.db import models
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
