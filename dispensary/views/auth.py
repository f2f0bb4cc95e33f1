"""Sign in and out with Django's views and our templates; django-axes locks repeated failures."""

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link or a prefetch cannot sign anyone out."""
