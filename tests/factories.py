"""Factories shared by every app's tests."""

import datetime as dt

import factory
from django.contrib.auth.models import Group

from dispensary.models import Customer, Organization, Store, User
from dispensary.roles import Role
from dispensary.services import STORE_ACCESS


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Green Leaf {n}")
    slug = factory.Sequence(lambda n: f"green-leaf-{n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    code = factory.Sequence(lambda n: f"store-{n}")
    license_adult_use = factory.Sequence(lambda n: f"C10-0000{n:03d}-LIC")
    jurisdiction = "US-CA"
    time_zone = "America/Los_Angeles"
    address_line1 = "1 Market St"
    city = "San Francisco"
    region = "CA"
    postal_code = "94105"
    opening_hours = factory.LazyFunction(
        lambda: {day: [["09:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Sam"
    last_name = "Staff"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            from dispensary.roles_sync import roles_sync

            roles_sync()
            self.groups.set(Group.objects.filter(name__in=[Role(role).value for role in extracted]))

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        if create and extracted:
            from guardian.shortcuts import assign_perm

            for store in extracted:
                assign_perm(STORE_ACCESS, self, store)
        if create:
            self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    # 2000-9999: tests type numbers of the 0000-1999 range themselves.
    phone = factory.Sequence(lambda n: f"+1415555{2000 + n % 8000:04d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = dt.date(1990, 5, 17)
    customer_type = Customer.Type.ADULT_USE
