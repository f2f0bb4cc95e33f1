from django.urls import path

from delivery import views

app_name = "delivery"

urlpatterns = [
    path("", views.driver_home, name="driver_home"),
]
