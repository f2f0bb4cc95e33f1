"""The staff side of the customer's loyalty page (the public pages are mounted at /my/ by the composition root)."""

from django.urls import path

from messaging import views_loyalty_page

urlpatterns = [
    path(
        "loyalty/customers/<id:pk>/link/",
        views_loyalty_page.link_send_for_customer,
        name="loyalty_link_send",
    ),
]
