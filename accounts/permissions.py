"""Role rules for the REST API, one small class per rule, combined with & and |."""
from rest_framework.permissions import BasePermission

from .roles import ADMIN, CLINICIAN, RESEARCHER, user_has_role


class IsClinician(BasePermission):
    def has_permission(self, request, view):
        return user_has_role(request.user, CLINICIAN)


class IsResearcher(BasePermission):
    def has_permission(self, request, view):
        return user_has_role(request.user, RESEARCHER)


class IsStudyAdmin(BasePermission):
    def has_permission(self, request, view):
        return user_has_role(request.user, ADMIN)


class ReadOnly(BasePermission):
    def has_permission(self, request, view):
        return request.method in ("GET", "HEAD", "OPTIONS")
