from django.urls import path

from pos.views import counter as views

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
]
