"""/api/webhook_endpoints[/{id}] and /api/webhook_endpoints/{id}/webhook_subscriptions[/{subscription_id}].

Everything is scoped to the calling key's organization and mode: another organization's (or the other mode's)
endpoint is a 404, as if it did not exist. As in the reference, the endpoint operations take no Nex-Api-Version
header and the subscription operations require it.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from portal.api.base import IdField, NexApiView
from portal.api.envelope import ok
from portal.api.schema import envelope_of
from portal.audit import client_ip
from institutions.scoping import institution_for
from syncs.models import WebhookEndpoint, WebhookSubscription
from syncs.webhooks import services as webhooks


class WebhookEndpointSerializer(serializers.ModelSerializer):
    secret_key = serializers.CharField(read_only=True, help_text="Verify each message's signature with it.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "target_url", "secret_key", "active", "created_at", "updated_at"]


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    webhook_endpoint_id = serializers.IntegerField(source="endpoint_id")
    institution_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "webhook_endpoint_id", "institution_id", "resource_type", "event", "active", "created_at",
                  "updated_at"]


class TargetUrlField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=2000, **kwargs)

    def to_internal_value(self, data) -> str:
        try:
            return webhooks.target_url_clean(super().to_internal_value(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages)


class ResourceTypeField(serializers.ChoiceField):
    """The reference's resource types; its own guide writes them in lower case ("appointment"), so both work."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=webhooks.RESOURCE_TYPES, **kwargs)

    def to_internal_value(self, data):
        canonical = {name.lower(): name for name in webhooks.RESOURCE_TYPES}
        return super().to_internal_value(canonical.get(str(data).lower(), data))


class EndpointListParams(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class EndpointCreateBody(serializers.Serializer):
    target_url = TargetUrlField()
    active = serializers.BooleanField(required=False, default=True)


class EndpointPatchBody(serializers.Serializer):
    target_url = TargetUrlField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class SubscriptionListParams(serializers.Serializer):
    subdomain = serializers.CharField(required=False)
    resource_type = ResourceTypeField(required=False)
    event = serializers.ChoiceField(choices=webhooks.EVENTS, required=False)


class SubdomainParams(serializers.Serializer):
    subdomain = serializers.CharField()


class SubscriptionCreateBody(serializers.Serializer):
    resource_type = ResourceTypeField()
    event = serializers.ChoiceField(choices=webhooks.EVENTS)
    active = serializers.BooleanField(required=False, default=True)

    def validate(self, data: dict) -> dict:
        supported = webhooks.SUPPORTED_EVENTS
        if data["event"] not in supported:
            raise serializers.ValidationError({"event": f"Chairside does not send '{data['event']}' webhooks yet. "
                                                        f"Available: {', '.join(sorted(supported))}."})
        if supported[data["event"]] != data["resource_type"]:
            raise serializers.ValidationError({"event": f"'{data['event']}' is an event of the resource type "
                                                        f"{supported[data['event']]}, not {data['resource_type']}."})
        return data


class SubscriptionPatchBody(serializers.Serializer):
    new_endpoint_id = IdField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class WebhookView(NexApiView):
    def endpoints(self):
        return WebhookEndpoint.objects.filter(organization=self.client.organization, mode=self.client.api_key.mode)

    def endpoint(self, id: int) -> WebhookEndpoint:
        endpoint = self.endpoints().filter(pk=id).first()
        if endpoint is None:
            raise exceptions.NotFound(f"Webhook endpoint {id} was not found.")
        return endpoint

    def subscription(self, endpoint: WebhookEndpoint, subscription_id: int) -> WebhookSubscription:
        subscription = endpoint.subscriptions.select_related("endpoint").filter(pk=subscription_id).first()
        if subscription is None:
            raise exceptions.NotFound(f"Webhook subscription {subscription_id} was not found on endpoint {endpoint.pk}.")
        return subscription


# --- Endpoints ---------------------------------------------------------------------------------------------

@method_decorator(never_cache, name="dispatch")  # carries secret_key
class WebhookEndpointList(WebhookView):
    version_header_required = False

    @extend_schema(operation_id="getWebhookEndpoints", tags=["Webhook Endpoints"], parameters=[EndpointListParams],
                   responses=envelope_of(WebhookEndpointSerializer, many=True))
    def get(self, request):
        params = self.query(EndpointListParams)
        endpoints = self.endpoints().order_by("id")
        if params["active"] is not None:
            endpoints = endpoints.filter(active=params["active"])
        data = WebhookEndpointSerializer(endpoints, many=True).data
        return ok(data, count=len(data))

    @extend_schema(operation_id="postWebhookEndpoints", tags=["Webhook Endpoints"], request=EndpointCreateBody,
                   responses={201: envelope_of(WebhookEndpointSerializer)})
    def post(self, request):
        body = self.body(EndpointCreateBody)
        endpoint = webhooks.webhook_endpoint_create(organization=self.client.organization, sandbox=self.client.sandbox,
                                                    target_url=body["target_url"], active=body["active"])
        return ok(WebhookEndpointSerializer(endpoint).data, status_code=201, count=1)


@method_decorator(never_cache, name="dispatch")  # carries secret_key
class WebhookEndpointDetail(WebhookView):
    version_header_required = False

    @extend_schema(operation_id="getWebhookEndpointsId", tags=["Webhook Endpoints"],
                   description="A Chairside addition (the reference has no GET for one endpoint).",
                   responses=envelope_of(WebhookEndpointSerializer))
    def get(self, request, id: int):
        return ok(WebhookEndpointSerializer(self.endpoint(id)).data, count=1)

    @extend_schema(operation_id="patchWebhookEndpointsId", tags=["Webhook Endpoints"], request=EndpointPatchBody,
                   responses=envelope_of(WebhookEndpointSerializer))
    def patch(self, request, id: int):
        endpoint = self.endpoint(id)
        body = self.body(EndpointPatchBody)
        endpoint = webhooks.webhook_endpoint_update(endpoint, target_url=body.get("target_url"), active=body["active"])
        return ok(WebhookEndpointSerializer(endpoint).data, count=1)

    @extend_schema(operation_id="deleteWebhookEndpointsId", tags=["Webhook Endpoints"], responses={204: None})
    def delete(self, request, id: int):
        self.endpoint(id).delete()
        return Response(status=204)


# --- Subscriptions -----------------------------------------------------------------------------------------

class WebhookSubscriptionList(WebhookView):
    @extend_schema(operation_id="getWebhookEndpointsIdWebhookSubscriptions", tags=["Webhook Subscriptions"],
                   parameters=[SubscriptionListParams], responses=envelope_of(WebhookSubscriptionSerializer, many=True))
    def get(self, request, id: int):
        params = self.query(SubscriptionListParams)
        subscriptions = self.endpoint(id).subscriptions.order_by("id")
        if params.get("subdomain"):
            subscriptions = subscriptions.filter(institution=institution_for(self.client, params["subdomain"]))
        if params.get("resource_type"):
            subscriptions = subscriptions.filter(resource_type=params["resource_type"])
        if params.get("event"):
            subscriptions = subscriptions.filter(event=params["event"])
        data = WebhookSubscriptionSerializer(subscriptions, many=True).data
        return ok(data, count=len(data))

    @extend_schema(operation_id="postWebhookEndpointsIdWebhookSubscriptions", tags=["Webhook Subscriptions"],
                   parameters=[SubdomainParams], request=SubscriptionCreateBody,
                   responses={201: envelope_of(WebhookSubscriptionSerializer)})
    def post(self, request, id: int):
        params = self.query(SubdomainParams)
        endpoint = self.endpoint(id)
        body = self.body(SubscriptionCreateBody)
        institution = institution_for(self.client, params["subdomain"])
        try:
            subscription = webhooks.webhook_subscription_create(
                endpoint=endpoint, institution=institution, resource_type=body["resource_type"], event=body["event"],
                active=body["active"], api_key=self.client.api_key, ip=client_ip(request._request))
        except IntegrityError:
            raise exceptions.ValidationError({"event": f"Endpoint {endpoint.pk} already subscribes to '{body['event']}' "
                                                       f"for '{institution.subdomain}'."})
        return ok(WebhookSubscriptionSerializer(subscription).data, status_code=201, count=1)


class WebhookSubscriptionDetail(WebhookView):
    @extend_schema(operation_id="patchWebhookEndpointsIdWebhookSubscriptionsSubscriptionId",
                   tags=["Webhook Subscriptions"], parameters=[SubdomainParams], request=SubscriptionPatchBody,
                   responses=envelope_of(WebhookSubscriptionSerializer))
    def patch(self, request, id: int, subscription_id: int):
        params = self.query(SubdomainParams)
        subscription = self.subscription(self.endpoint(id), subscription_id)
        body = self.body(SubscriptionPatchBody)
        institution_for(self.client, params["subdomain"])  # the reference validates it even when unused
        target = self.endpoint(body["new_endpoint_id"]) if body.get("new_endpoint_id") else None
        try:
            with transaction.atomic():
                subscription = webhooks.webhook_subscription_update(subscription, endpoint=target, active=body["active"])
        except IntegrityError:
            raise exceptions.ValidationError({"new_endpoint_id": "That endpoint already has the same subscription."})
        return ok(WebhookSubscriptionSerializer(subscription).data, count=1)

    @extend_schema(operation_id="deleteWebhookEndpointsIdWebhookSubscriptionsSubscriptionId",
                   tags=["Webhook Subscriptions"], responses={204: None})
    def delete(self, request, id: int, subscription_id: int):
        webhooks.webhook_subscription_delete(subscription=self.subscription(self.endpoint(id), subscription_id),
                                             api_key=self.client.api_key, ip=client_ip(request._request))
        return Response(status=204)
