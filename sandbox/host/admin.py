from django.contrib import admin

from .models import Course, CourseAccessRole


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("course_key", "display_name", "completable_blocks")
    search_fields = ("course_key", "display_name")


@admin.register(CourseAccessRole)
class CourseAccessRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "org", "course_key")
    list_filter = ("role", "org")
    search_fields = ("user__username", "org", "course_key")
