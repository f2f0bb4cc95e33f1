"""Reports and the audit center, included by compliance.urls under /compliance/ (namespace compliance:reports)."""

from django.urls import path

from compliance.reporting import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_index, name="index"),
    path("reports/reconciliation/", views.reconciliation, name="reconciliation"),
    path("reports/three-way/", views.three_way, name="three_way"),
    path("reports/waste/", views.waste, name="waste"),
    path("reports/demographics/", views.demographics, name="demographics"),
    path("reports/sales/", views.sales, name="sales"),
    path("audit/", views.audit_search, name="audit_search"),
    path("audit/package/<id:pk>/", views.audit_package, name="audit_package"),
    path("audit/patient/<id:pk>/", views.audit_patient, name="audit_patient"),
    path("audit/patient/<id:pk>/purchases/", views.purchase_history, name="purchase_history"),
    path("audit/batch/", views.audit_batch, name="audit_batch"),
    path("audit/manifest/<id:pk>/", views.audit_manifest, name="audit_manifest"),
    path("audit/day/<str:day>/", views.audit_day, name="audit_day"),
]
