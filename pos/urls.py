from django.urls import path

from pos.views import counter as views
from pos.views import profiles, receipts

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("sales/<int:pk>/receipt/", receipts.receipt, name="receipt"),
    path("sales/<int:pk>/receipt/send/", receipts.receipt_send, name="receipt_send"),
    path("customers/<int:pk>/profile/", profiles.customer_profile, name="customer_profile"),
    path("customers/<int:pk>/consent/", profiles.consent, name="consent"),
]
