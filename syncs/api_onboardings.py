"""/onboardings: a developer creates an institution plus its sync by emr_name and gets back the state and the
practice's setup link (syncs.onboardings). An onboarding is seen only by the organization that created it, in
the mode of the key that created it."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers

from portal.api.base import NexApiView, sort_param
from portal.api.envelope import ok
from portal.api.pagination import PageParams, paginate
from portal.api.schema import envelope_of
from syncs.models import Onboarding, SyncStatus
from syncs.onboardings import EMR_NAMES, onboarding_create, onboarding_url

STATUSES = {"complete": [SyncStatus.ACTIVE], "failed": [SyncStatus.FAILED, SyncStatus.DEACTIVATED]}
SORTS = {"created_at": F("created_at"), "status": F("sync__status"), "subdomain": F("sync__institution__subdomain")}


class OnboardingSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=["in_progress", "complete", "failed"])
    subdomain = serializers.CharField(source="sync.institution.subdomain", allow_null=True)
    url = serializers.SerializerMethodField()
    url_expires_at = serializers.DateTimeField(source="link_expires_at")
    availability_ready_at = serializers.SerializerMethodField()
    booking_params = serializers.JSONField(allow_null=True, default=None, read_only=True)
    created_at = serializers.DateTimeField()

    def get_url(self, obj) -> str:
        return onboarding_url(obj)

    def get_availability_ready_at(self, obj) -> str | None:
        # Slots can be offered once the sync is active and has read the schedule.
        if obj.status != "complete" or obj.sync.last_read_at is None:
            return None
        return serializers.DateTimeField().to_representation(obj.sync.last_read_at)

    def to_representation(self, instance) -> dict:
        return {**super().to_representation(instance), "booking_params": None}


class OnboardingListParams(PageParams):
    page = None
    subdomain = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=["in_progress", "complete", "failed"], required=False)
    sort = sort_param(*SORTS)


class OnboardingInput(serializers.Serializer):
    emr_name = serializers.ChoiceField(choices=EMR_NAMES)
    institution_name = serializers.CharField(max_length=200)
    institution_email = serializers.EmailField(required=False)
    institution_website = serializers.URLField(required=False)
    institution_zip_code = serializers.CharField(max_length=20, required=False)
    subdomain = serializers.SlugField(max_length=63, required=False)


class OnboardingBody(serializers.Serializer):
    onboarding = OnboardingInput()


class OnboardingView(NexApiView):
    def mine(self):
        return (Onboarding.objects.filter(organization=self.client.organization,
                                          sync__institution__is_sandbox=self.client.sandbox)
                .select_related("sync__institution"))


class Onboardings(OnboardingView):
    @extend_schema(operation_id="getOnboardings", tags=["Onboardings"], parameters=[OnboardingListParams],
                   responses=envelope_of(OnboardingSerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(OnboardingListParams)
        onboardings = self.mine()
        if params.get("subdomain"):
            onboardings = onboardings.filter(sync__institution__subdomain=params["subdomain"])
        if params.get("status") in STATUSES:
            onboardings = onboardings.filter(sync__status__in=STATUSES[params["status"]])
        elif params.get("status") == "in_progress":
            onboardings = onboardings.exclude(sync__status__in=STATUSES["complete"] + STATUSES["failed"])
        sort = params.get("sort") or ["-created_at"]
        onboardings = onboardings.annotate(**{f"sort_{name.lstrip('-')}": SORTS[name.lstrip("-")] for name in sort})
        order = tuple(f"{'-' if name.startswith('-') else ''}sort_{name.lstrip('-')}" for name in sort)
        page = paginate(onboardings, params, cursor=True, order=order)
        return ok(OnboardingSerializer(page.items, many=True).data, count=page.count, page_info=page.page_info)

    @extend_schema(operation_id="postOnboardings", tags=["Onboardings"], request=OnboardingBody,
                   responses={201: envelope_of(OnboardingSerializer)})
    def post(self, request):
        body = OnboardingBody(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            onboarding = onboarding_create(api_key=self.client.api_key, data=body.validated_data["onboarding"])
        except DjangoValidationError as error:
            if not hasattr(error, "error_dict"):  # production is not enabled for the organization
                raise exceptions.PermissionDenied(" ".join(error.messages))
            raise exceptions.ValidationError(error.message_dict)
        return ok(OnboardingSerializer(onboarding).data, status_code=201, count=1)


class OnboardingDetail(OnboardingView):
    @extend_schema(operation_id="getOnboardingsHashid", tags=["Onboardings"],
                   responses=envelope_of(OnboardingSerializer))
    def get(self, request, hashid: str):
        onboarding = self.mine().filter(public_id=hashid).first()
        if onboarding is None:
            raise exceptions.NotFound(f"Onboarding {hashid} was not found.")
        return ok(OnboardingSerializer(onboarding).data, count=1)
