"""Serializer and filter fields with the platform's input rules (dispensary.inputs): dates within a sane range,
dates of birth between 1900 and today."""

import datetime as dt

from django.utils import timezone
from django_filters import rest_framework as filters
from rest_framework import serializers

from dispensary.inputs import date_of_birth_problem, date_validator


class DateField(serializers.DateField):
    """A date between 1900 and 2199 (year 9999 is a typing slip, and a day after it overflows)."""

    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", ()), date_validator]
        super().__init__(**kwargs)


class DateTimeField(serializers.DateTimeField):
    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", ()), date_validator]
        super().__init__(**kwargs)


class DateOfBirthField(serializers.DateField):
    """Between 1900 and today (UTC's date plus a day: never before any store's local day)."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        problem = date_of_birth_problem(day, today=timezone.now().date() + dt.timedelta(days=1))
        if problem:
            raise serializers.ValidationError(problem, code="implausible_date_of_birth")
        return day


def DateFilter(**kwargs) -> filters.DateFilter:  # noqa: N802 - reads like the filter class it makes
    """django-filter's DateFilter, refusing dates outside 1900..2199 with a 400."""
    return filters.DateFilter(validators=[date_validator], **kwargs)
