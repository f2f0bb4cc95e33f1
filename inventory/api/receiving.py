"""Receiving against manifests: import a manifest CSV into a pending transfer, scan tags as packages come off
the truck, accept or reject each line, and complete the transfer into stock. Every write takes an
Idempotency-Key; a transfer of a store the caller does not reach is not found (404)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.idempotency import idempotent
from dispensary.api.principals import principal_actor, principal_stores
from dispensary.api.schema import IDEMPOTENCY_KEY, error_responses
from inventory.api.fields import ReachableStoreField, path_id
from inventory.api.selectors import transfer_get, transfer_line_get
from inventory.api.serializers import QuantityField, TransferLineSerializer, TransferSerializer
from inventory.models import IncomingTransfer, TransferLine
from inventory.services.receiving import (
    CSV_COLUMNS,
    MAX_CSV_BYTES,
    transfer_complete,
    transfer_import_csv,
    transfer_line_decide,
    transfer_scan,
)

READ = {"scopes": {"read": "inventory:read"}, "perms": {"read": "inventory.view_incomingtransfer"}}
WRITE_SCOPE = {"write": "inventory:write"}
CSV_HELP = f"Manifest CSV with the header {','.join(CSV_COLUMNS)}; UTF-8, at most {MAX_CSV_BYTES // 1024} KB."


def _transfer_get(request, transfer_id: int) -> IncomingTransfer:
    transfer = transfer_get(stores=principal_stores(request), transfer_id=transfer_id)
    if transfer is None:
        raise Http404
    return transfer


class TransferImportApi(APIView):
    scopes = WRITE_SCOPE
    perms = {"write": "inventory.add_incomingtransfer"}
    OutputSerializer = TransferSerializer

    class InputSerializer(serializers.Serializer):
        store = ReachableStoreField(help_text="The receiving store.")
        file = serializers.FileField(required=False, help_text=f"{CSV_HELP} As a multipart upload.")
        csv = serializers.CharField(
            required=False, trim_whitespace=False, help_text=f"{CSV_HELP} As text, instead of a file."
        )

        class Meta:
            ref_name = "TransferImportInput"

        def validate(self, attrs):
            if ("file" in attrs) == ("csv" in attrs):
                raise serializers.ValidationError("Send the manifest either as `file` or as `csv`, not both.")
            return attrs

    @extend_schema(
        operation_id="inventory_transfers_import",
        parameters=[IDEMPOTENCY_KEY],
        request={"multipart/form-data": InputSerializer, "application/json": InputSerializer},
        responses={201: OutputSerializer, **error_responses(400, 409, 422)},
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data, context={"stores": principal_stores(request)})
        data.is_valid(raise_exception=True)
        upload = data.validated_data.get("file")
        # Read one byte past the limit so the service can refuse a file that is too large.
        content = upload.read(MAX_CSV_BYTES + 1) if upload else data.validated_data["csv"].encode()
        transfer = transfer_import_csv(
            store=data.validated_data["store"], content=content, actor=principal_actor(request)
        )
        transfer = transfer_get(stores=principal_stores(request), transfer_id=transfer.pk)
        return Response(self.OutputSerializer(transfer).data, status=status.HTTP_201_CREATED)


class TransferDetailApi(APIView):
    scopes = READ["scopes"]
    perms = READ["perms"]
    OutputSerializer = TransferSerializer

    @extend_schema(
        operation_id="inventory_transfers_retrieve",
        parameters=[path_id("transfer_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, transfer_id: int):
        return Response(self.OutputSerializer(_transfer_get(request, transfer_id)).data)


class TransferScanApi(APIView):
    scopes = WRITE_SCOPE
    perms = {"write": "inventory.change_incomingtransfer"}
    OutputSerializer = TransferLineSerializer

    class InputSerializer(serializers.Serializer):
        tag = serializers.CharField(max_length=64, help_text="The package tag as scanned.")
        quantity = QuantityField(
            required=False,
            allow_null=True,
            help_text="Quantity counted; default the manifest's. Required for a package not on the manifest.",
        )

        class Meta:
            ref_name = "TransferScanInput"

    @extend_schema(
        operation_id="inventory_transfers_scan",
        parameters=[path_id("transfer_id"), IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def post(self, request, transfer_id: int):
        transfer = _transfer_get(request, transfer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = transfer_scan(transfer=transfer, actor=principal_actor(request), **data.validated_data)
        return Response(self.OutputSerializer(line).data)


class TransferLineDecideApi(APIView):
    scopes = WRITE_SCOPE
    perms = {"write": "inventory.approve_incomingtransfer"}
    OutputSerializer = TransferLineSerializer

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(
            choices=[TransferLine.Decision.ACCEPTED, TransferLine.Decision.REJECTED]
        )

        class Meta:
            ref_name = "TransferLineDecideInput"

    @extend_schema(
        operation_id="inventory_transfers_lines_decide",
        parameters=[path_id("transfer_id"), path_id("line_id"), IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def post(self, request, transfer_id: int, line_id: int):
        line = transfer_line_get(transfer=_transfer_get(request, transfer_id), line_id=line_id)
        if line is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = transfer_line_decide(
            line=line,
            accept=data.validated_data["decision"] == TransferLine.Decision.ACCEPTED,
            actor=principal_actor(request),
        )
        return Response(self.OutputSerializer(line).data)


class TransferCompleteApi(APIView):
    scopes = WRITE_SCOPE
    perms = {"write": "inventory.approve_incomingtransfer"}
    OutputSerializer = TransferSerializer

    @extend_schema(
        operation_id="inventory_transfers_complete",
        parameters=[path_id("transfer_id"), IDEMPOTENCY_KEY],
        request=None,
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def post(self, request, transfer_id: int):
        stores = principal_stores(request)
        transfer = transfer_complete(
            transfer=_transfer_get(request, transfer_id), actor=principal_actor(request)
        )
        return Response(self.OutputSerializer(transfer_get(stores=stores, transfer_id=transfer.pk)).data)
