"""Staff tokens: issued for a username and password (through django-axes, so repeated failures lock the
account), shown once, valid for STAFF_TOKEN_LIFETIME_HOURS, rotated (a new key, the old one dead at once) and
revoked by the token itself."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.schema import error_responses
from dispensary.errors import ApplicationError, PermissionDenied, ValidationFailed
from dispensary.models import StaffToken
from dispensary.services import staff_token_create, staff_token_revoke, staff_token_rotate


class LockedOut(ApplicationError):
    code = "locked_out"
    status = 429


class StaffTokenCreateApi(APIView):
    permission_classes = [permissions.AllowAny]
    # A password grant must not act on a session or another key it happens to carry.
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(
            max_length=4096, trim_whitespace=False, style={"input_type": "password"}
        )
        name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "StaffTokenCreateInput"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(
            help_text="The key, shown once: send it as `Authorization: Bearer <token>`."
        )
        name = serializers.CharField()
        expires_at = serializers.DateTimeField(help_text="The key stops working at this time.")

        class Meta:
            ref_name = "StaffTokenCreated"

    @extend_schema(
        operation_id="auth_token_create",
        auth=[],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 429, common=False)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data
        # The plain Django request: django-axes keeps its lockout marks on it, and its middleware reads them.
        django_request = request._request
        user = authenticate(
            django_request, username=credentials["username"], password=credentials["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut("Too many failed attempts: this account is locked for a while.")
        if user is None:
            raise ValidationFailed("Wrong username or password.", code="invalid_credentials")
        token, key = staff_token_create(user=user, name=credentials["name"])
        return Response(
            self.OutputSerializer({"token": key, "name": token.name, "expires_at": token.expires_at}).data,
            status=status.HTTP_201_CREATED,
        )


class StaffTokenRevokeApi(APIView):
    @extend_schema(operation_id="auth_token_revoke", request=None, responses={204: None, **error_responses()})
    def delete(self, request):
        if not isinstance(request.auth, StaffToken):
            raise PermissionDenied("Only a staff token can revoke itself; send it as the bearer key.")
        staff_token_revoke(token=request.auth, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffTokenRotateApi(APIView):
    @extend_schema(
        operation_id="auth_token_rotate",
        request=None,
        responses={201: StaffTokenCreateApi.OutputSerializer, **error_responses()},
        description=(
            "Replace the calling staff token by a new key with a fresh lifetime; the old key stops working "
            "at once. The new key is shown once: if the answer is lost, sign in again for a new token."
        ),
    )
    def post(self, request):
        if not isinstance(request.auth, StaffToken):
            raise PermissionDenied("Only a staff token can rotate itself; send it as the bearer key.")
        token, key = staff_token_rotate(token=request.auth)
        return Response(
            StaffTokenCreateApi.OutputSerializer(
                {"token": key, "name": token.name, "expires_at": token.expires_at}
            ).data,
            status=status.HTTP_201_CREATED,
        )
