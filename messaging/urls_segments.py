"""Segments' pages: the list, the rule builder with its live count, a segment's members and their CSV."""

from django.urls import path

from messaging.views_segments import (
    segment_condition,
    segment_count,
    segment_create,
    segment_detail,
    segment_edit,
    segment_export,
    segment_list,
    segment_remove,
)

urlpatterns = [
    path("segments/", segment_list, name="segments"),
    path("segments/new/", segment_create, name="segment_create"),
    path("segments/count/", segment_count, name="segment_count"),
    path("segments/condition/", segment_condition, name="segment_condition"),
    path("segments/<id:segment_id>/", segment_detail, name="segment_detail"),
    path("segments/<id:segment_id>/edit/", segment_edit, name="segment_edit"),
    path("segments/<id:segment_id>/members.csv", segment_export, name="segment_export"),
    path("segments/<id:segment_id>/archive/", segment_remove, name="segment_archive"),
]
