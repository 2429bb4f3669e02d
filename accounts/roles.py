"""The three roles. A role is a Django group; Django's staff flag follows the admin role.

- clinician: rates the responses assigned to them, sees nothing else.
- researcher: sees studies' results and downloads reports; cannot rate.
- admin: manages case sets, personas, models and studies (and the Django admin).
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

CLINICIAN = "clinician"
RESEARCHER = "researcher"
ADMIN = "admin"
ROLES = (ADMIN, RESEARCHER, CLINICIAN)


# Site admins create clinicians' accounts in the app (studies' Clinicians page): Django's "add user".
ADMIN_PERMISSIONS = (("auth", "add_user"),)


def roles_ensure() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    admin_group = Group.objects.get(name=ADMIN)
    wanted = Permission.objects.filter(
        Q(*[Q(content_type__app_label=app, codename=code) for app, code in ADMIN_PERMISSIONS], _connector=Q.OR))
    missing = wanted.exclude(group=admin_group)
    if missing.exists():
        admin_group.permissions.add(*missing)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_cache", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._role_cache = cached
    return cached


def role_flags(user) -> dict[str, RawSQL]:
    """Annotations that let a query the page makes anyway also say which roles the user has (one flag per
    role); `roles_remember` then takes them from a row, so that the role check costs no query of its own.
    Plain SQL (EXISTS over the user's groups): nothing to compile per request."""
    quote = connection.ops.quote_name
    through = get_user_model().groups.through._meta
    memberships, groups = quote(through.db_table), quote(Group._meta.db_table)
    sql = (f"EXISTS (SELECT 1 FROM {memberships} m INNER JOIN {groups} g ON g.{quote('id')} = "
           f"m.{quote(through.get_field('group').column)} WHERE m.{quote(through.get_field('user').column)} = %s "
           f"AND g.{quote('name')} = %s)")
    return {f"_role_{name}": RawSQL(sql, (user.pk, name), output_field=BooleanField()) for name in ROLES}


def roles_remember(user, row) -> set[str]:
    """The user's roles, from a row annotated with `role_flags(user)`, kept for the rest of the request."""
    roles = {name for name in ROLES if getattr(row, f"_role_{name}", False)}
    if user.is_superuser:
        roles.add(ADMIN)
    user._role_cache = roles
    return roles


def user_has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def primary_role(user) -> str | None:
    """The role whose home page a user lands on (admin > researcher > clinician)."""
    owned = user_roles(user)
    return next((r for r in ROLES if r in owned), None)
