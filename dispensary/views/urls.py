"""Pages of the core: sign-in, landing, store switcher, dead letters, customers (the dashboard is routed by the
composition root, dispensary.urls)."""

from django.urls import path

from dispensary.views import auth, customers, home, outbox, stores

urlpatterns = [
    path("", home.landing, name="landing"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("stores/switch/", stores.store_switch, name="store_switch"),
    path("outbox/dead-letters/", outbox.dead_letter_index, name="dead_letters"),
    path("outbox/dead-letters/<id:pk>/retry/", outbox.dead_letter_retry, name="dead_letter_retry"),
    path("customers/", customers.customer_index, name="customer_index"),
    path("customers/new/", customers.customer_new, name="customer_new"),
    path("customers/<id:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<id:pk>/edit/", customers.customer_edit, name="customer_edit"),
]
