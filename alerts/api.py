"""REST API v1: the key's project's alert channels, their last deliveries, test sends, and
its maintenance windows."""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import auditing, confirmation, delivery
from alerts.models import Channel, Delivery, MaintenanceWindow
from jobs.api.views import api_actor
from jobs.validators import MAX_URL_LENGTH

LAST_DELIVERIES = 10


def model_checked(serializer: serializers.ModelSerializer, attrs: dict) -> dict:
    """The attributes, once the model's own checks (clean) pass on the object as they would
    leave it; its errors become the API's, per field."""
    # A copy: the saved object stays as it was, for the audit log's "before".
    instance = copy.copy(serializer.instance) if serializer.instance else serializer.Meta.model()
    for name, value in attrs.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=["project"])
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.message_dict) from None
    return attrs


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
        return model_checked(self, attrs)

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


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "name",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "duration_minutes",
            "timezone",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "starts_at": {"help_text": "A one-off window: when it starts (with ends_at)."},
            "weekdays": {
                "help_text": "A weekly window: 0 (Monday) to 6 (Sunday), with start_time "
                "and duration_minutes (at most a week), in the window's timezone."
            },
        }

    def validate(self, attrs: dict) -> dict:
        """The model's checks (one-off or weekly), per field."""
        return model_checked(self, attrs)


class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    """The maintenance windows of the key's project (another project's is a 404): its jobs'
    alerts are held while one is on, and summed up after it (alerts/quiet.py)."""

    serializer_class = MaintenanceWindowSerializer
    queryset = MaintenanceWindow.objects.none()  # for the schema; get_queryset scopes to the key
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return MaintenanceWindow.objects.filter(project=self.request.auth.project)

    def perform_create(self, serializer: MaintenanceWindowSerializer) -> None:
        window = serializer.save(project=self.request.auth.project)
        auditing.created(window, api_actor(self.request))

    def perform_update(self, serializer: MaintenanceWindowSerializer) -> None:
        was = auditing.before(serializer.instance)
        window = serializer.save()
        auditing.updated(window, api_actor(self.request), was)

    def perform_destroy(self, window: MaintenanceWindow) -> None:
        auditing.deleted(window, api_actor(self.request))
        window.delete()
