"""The few platform tables the demo host needs, standing in for edx-platform's."""

from django.db import models
from opaque_keys.edx.django.models import CourseKeyField


class Course(models.Model):
    course_key = CourseKeyField(max_length=255, unique=True)
    display_name = models.CharField(max_length=255)
    completable_blocks = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.display_name} ({self.course_key})"
