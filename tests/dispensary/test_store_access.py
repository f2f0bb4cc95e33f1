"""The stores a member may work at, read on every request: the same answer as django-guardian's own query, for
grants to the member and to their groups, and nothing for other permissions, organizations or closed stores."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm, get_objects_for_user

from dispensary.selectors import STORE_ACCESS, store_list_for_user
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ids(stores) -> list[int]:
    return sorted(store.pk for store in stores)


def _guardian(user):
    stores = StoreFactory._meta.model.objects.filter(is_active=True, organization_id=user.organization_id)
    return _ids(get_objects_for_user(user, STORE_ACCESS, klass=stores, accept_global_perms=False))


def test_stores_granted_to_the_member_or_their_groups_and_no_others():
    organization = OrganizationFactory()
    mine, through_group, other_permission, closed, unrelated = (
        StoreFactory(organization=organization) for _ in range(5)
    )
    elsewhere = StoreFactory(organization=OrganizationFactory())
    member = UserFactory(organization=organization)
    group = Group.objects.create(name="Store crew")
    member.groups.add(group)
    assign_perm(STORE_ACCESS, member, mine)
    assign_perm(STORE_ACCESS, group, through_group)
    assign_perm("dispensary.change_store", member, other_permission)
    closed.is_active = False
    closed.save(update_fields=["is_active"])
    assign_perm(STORE_ACCESS, member, closed)
    assign_perm(STORE_ACCESS, member, elsewhere)  # another organization's store: never
    someone_else = UserFactory(organization=organization)
    assign_perm(STORE_ACCESS, someone_else, unrelated)

    found = _ids(store_list_for_user(member))
    assert found == _ids([mine, through_group])
    assert found == _guardian(member)
    assert _ids(store_list_for_user(someone_else)) == [unrelated.pk] == _guardian(someone_else)
    assert list(store_list_for_user(UserFactory(organization=organization))) == []
