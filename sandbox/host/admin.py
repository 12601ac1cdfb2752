from django.contrib import admin

from .models import Course


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("course_key", "display_name", "completable_blocks")
    search_fields = ("course_key", "display_name")
