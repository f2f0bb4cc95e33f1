"""The attribution piece's pages, in the "messaging" namespace: the results page for managers, and the
register's customer panel of messages, clicks and coupons for budtenders."""

from django.urls import path

from messaging import register_panel, views_results

urlpatterns = [
    *views_results.urlpatterns,
    path(
        "register/customers/<id:pk>/",
        register_panel.register_customer_messaging,
        name="register_customer_messaging",
    ),
]
