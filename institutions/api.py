"""GET /api/institutions, /api/institutions/{id}, /api/locations, /api/locations/{id}."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers

from institutions.models import Location
from institutions.serializers import InstitutionSerializer, InstitutionWithLocationsSerializer, LocationSerializer
from portal.api.base import NexApiView
from portal.api.envelope import ok
from portal.api.schema import envelope_of
from institutions.scoping import institution_for, location_in, reachable_institutions, serving_locations


def _active_locations(client, queryset=None):
    queryset = queryset if queryset is not None else Location.objects.all()
    return Prefetch(
        "locations",
        queryset=queryset.filter(pk__in=serving_locations(client).values("pk")).select_related("sync").order_by("id"),
        to_attr="active_locations",
    )


class InstitutionList(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getInstitutions", tags=["Institutions"], responses=envelope_of(InstitutionSerializer, many=True))
    def get(self, request):
        institutions = reachable_institutions(self.client).prefetch_related(_active_locations(self.client), "syncs").order_by("id")
        data = InstitutionSerializer(institutions, many=True).data
        return ok(data, count=len(data))


class InstitutionDetail(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getInstitutionsId", tags=["Institutions"], responses=envelope_of(InstitutionSerializer))
    def get(self, request, id: int):
        institution = (
            reachable_institutions(self.client).prefetch_related(_active_locations(self.client), "syncs").filter(pk=id).first()
        )
        if institution is None:
            # The reference answers this operation with 404, never 403: unknown and unreachable look the same.
            raise exceptions.NotFound(f"Institution {id} was not found.")
        return ok(InstitutionSerializer(institution).data, count=1)


class LocationListParams(serializers.Serializer):
    subdomain = serializers.CharField(required=False)
    inactive = serializers.BooleanField(required=False, allow_null=True, default=None)
    foreign_id = serializers.CharField(required=False)
    filter_by_subscription_feature = serializers.CharField(required=False)


class LocationList(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getLocations", tags=["Locations"], parameters=[LocationListParams],
                   responses=envelope_of(InstitutionWithLocationsSerializer, many=True))
    def get(self, request):
        params = self.query(LocationListParams)
        institutions = reachable_institutions(self.client)
        if params.get("subdomain"):
            institutions = institutions.filter(pk=institution_for(self.client, params["subdomain"]).pk)
        locations = Location.objects.all()
        if params.get("foreign_id"):
            locations = locations.filter(foreign_id=params["foreign_id"])
        if params.get("inactive"):  # only reachable (active) locations are listed, so none is inactive
            locations = locations.none()
        institutions = institutions.prefetch_related(_active_locations(self.client, locations)).order_by("id")
        data = InstitutionWithLocationsSerializer(institutions, many=True).data
        return ok(data, count=len(data))


class LocationDetail(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getLocationsId", tags=["Locations"], responses=envelope_of(LocationSerializer))
    def get(self, request, id: int):
        location = Location.objects.select_related("institution", "sync").filter(pk=id).first()
        institution = location and reachable_institutions(self.client).filter(pk=location.institution_id).first()
        if location is None or institution is None:
            raise exceptions.NotFound(f"Location {id} was not found.")
        try:
            location_in(self.client, institution, location.pk)
        except exceptions.PermissionDenied:  # an inactive location: the reference has no 403 here
            raise exceptions.NotFound(f"Location {id} was not found.") from None
        return ok(LocationSerializer(location).data, count=1)
