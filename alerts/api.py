"""REST API v1: the key's project's alert channels, their last deliveries, and test sends."""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import auditing, confirmation, delivery
from alerts.models import Channel, Delivery
from jobs.api.views import api_actor
from jobs.validators import MAX_URL_LENGTH

LAST_DELIVERIES = 10


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "kind",
            "job",
            "status",
            "created_at",
            "finished_at",
            "attempts",
            "retry_after",
            "last_error",
        ]
        read_only_fields = fields


class SecretUrlField(serializers.CharField):
    """Written in full; read back as its scheme and host only, as the rest holds tokens."""

    def get_attribute(self, channel: Channel) -> str:
        return channel.shown_url


class ChannelSerializer(serializers.ModelSerializer):
    url = SecretUrlField(
        required=False,
        max_length=MAX_URL_LENGTH,
        help_text="Webhook (https://…) or Apprise (slack://…, discord://…, tgram://…, "
        "ntfy://…, …) URL. Write-only: reads show its scheme and host.",
    )
    confirmed = serializers.BooleanField(source="is_confirmed", read_only=True)
    last_deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Channel
        fields = [
            "id",
            "kind",
            "name",
            "url",
            "address",
            "is_default",
            "confirmed",
            "created_at",
            "last_deliveries",
        ]
        read_only_fields = ["created_at"]

    def validate_kind(self, kind: str) -> str:
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError("A channel's kind cannot change.")
        return kind

    def validate(self, attrs: dict) -> dict:
        """The model's checks for its kind (address, webhook host, Apprise URL), per field."""
        # A copy: the saved channel stays as it was, for the audit log's "before".
        channel = copy.copy(self.instance) if self.instance else Channel()
        for name, value in attrs.items():
            setattr(channel, name, value)
        try:
            channel.full_clean(exclude=["project"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs

    def create(self, validated_data: dict) -> Channel:
        channel = super().create(validated_data)
        channel.last_deliveries = []
        confirmation.ask_to_confirm(channel)
        return channel

    def update(self, channel: Channel, validated_data: dict) -> Channel:
        if validated_data.get("address", channel.address).lower() != channel.address.lower():
            channel.confirmed_at = None
        channel = super().update(channel, validated_data)
        confirmation.ask_to_confirm(channel)
        return channel


class ChannelViewSet(viewsets.ModelViewSet):
    """The channels of the key's project (another project's channel is a 404). Read keys
    may only read; changing one needs a write key of a member, admin or owner."""

    serializer_class = ChannelSerializer
    queryset = Channel.objects.none()  # for the schema; get_queryset scopes to the key
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Channel]:
        last = Delivery.objects.order_by("-id")[:LAST_DELIVERIES]
        return Channel.objects.filter(project=self.request.auth.project).prefetch_related(
            Prefetch("deliveries", queryset=last, to_attr="last_deliveries")
        )

    def perform_create(self, serializer: ChannelSerializer) -> None:
        channel = serializer.save(project=self.request.auth.project)
        auditing.created(channel, api_actor(self.request))

    def perform_update(self, serializer: ChannelSerializer) -> None:
        was = auditing.before(serializer.instance)
        channel = serializer.save()
        auditing.updated(channel, api_actor(self.request), was)

    def perform_destroy(self, channel: Channel) -> None:
        auditing.deleted(channel, api_actor(self.request))
        channel.delete()

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Send a test alert; it shows in the channel's last deliveries once sent."""
        test = delivery.queue_test(self.get_object())
        return Response(DeliverySerializer(test).data, status=status.HTTP_202_ACCEPTED)
