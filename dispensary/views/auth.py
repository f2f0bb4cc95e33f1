"""Sign in and out with Django's views and our templates; django-axes locks repeated failures."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from dispensary.forms import InputRulesMixin


class LoginForm(InputRulesMixin, AuthenticationForm):
    """Django's, with the input rules: a username longer than the column is refused before authentication
    (and before django-axes records the attempt)."""


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link or a prefetch cannot sign anyone out."""
