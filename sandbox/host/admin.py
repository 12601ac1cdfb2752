from django.contrib import admin

from .models import Course, CourseAccessRole, CourseEnrollment, CourseGrade, GeneratedCertificate


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("course_key", "display_name", "completable_blocks")
    search_fields = ("course_key", "display_name")


@admin.register(CourseAccessRole)
class CourseAccessRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "org", "course_key")
    list_filter = ("role", "org")
    search_fields = ("user__username", "org", "course_key")


@admin.register(CourseGrade)
class CourseGradeAdmin(admin.ModelAdmin):
    list_display = ("user_id", "course_id", "percent_grade", "letter_grade", "passed_timestamp", "modified")
    search_fields = ("=user_id", "=course_id")


@admin.register(GeneratedCertificate)
class GeneratedCertificateAdmin(admin.ModelAdmin):
    list_display = ("user", "course_id", "status", "mode", "modified_date")
    list_filter = ("status", "mode")
    search_fields = ("user__username", "=course_id")


@admin.register(CourseEnrollment)
class CourseEnrollmentAdmin(admin.ModelAdmin):
    list_display = ("user", "course_id", "mode", "is_active", "modified")
    list_filter = ("mode", "is_active")
    search_fields = ("user__username", "=course_id")
