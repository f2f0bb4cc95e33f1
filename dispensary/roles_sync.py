"""Create the role groups and give them their model permissions (idempotent)."""

from django.contrib.auth.models import Group, Permission

from dispensary.roles import ROLE_PERMISSIONS


def roles_sync(*, using: str = "default") -> dict[str, int]:
    counts = {}
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
        if f"{app_label}.{codename}" in wanted
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        ids = [by_name[perm] for perm in perms if perm in by_name]
        group.permissions.set(ids)
        counts[role.value] = len(ids)
    return counts
