"""Output shapes of the NexHealth API for institutions and locations (field names as in the reference)."""

from rest_framework import serializers

from portal.api.fast import FastModelSerializer

from institutions.models import Institution, Location


class SpecialtySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


GENERAL_DENTISTRY = {"id": 1, "name": "General Dentistry"}


class LocationBasicSerializer(FastModelSerializer):
    inactive = serializers.BooleanField()

    class Meta:
        model = Location
        fields = ["id", "name", "street_address", "street_address_2", "city", "state", "zip_code", "phone_number",
                  "email", "inactive"]


class LocationSerializer(serializers.ModelSerializer):
    institution_id = serializers.IntegerField()
    inactive = serializers.BooleanField()
    last_sync_time = serializers.SerializerMethodField()
    specialty = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = ["id", "name", "institution_id", "street_address", "street_address_2", "city", "state", "zip_code",
                  "country_code", "created_at", "updated_at", "latitude", "longitude", "phone_number", "foreign_id",
                  "foreign_id_type", "email", "tz", "last_sync_time", "insert_appt_client", "map_by_operatory",
                  "set_availability_by_operatory", "inactive", "specialty"]

    def get_last_sync_time(self, location: Location) -> str | None:
        sync = location.sync
        last = sync.last_read_at if sync else None
        return serializers.DateTimeField().to_representation(last) if last else None

    def get_specialty(self, location: Location) -> dict:
        return SpecialtySerializer(GENERAL_DENTISTRY).data


class InstitutionSerializer(serializers.ModelSerializer):
    emrs = serializers.SerializerMethodField()
    country_code = serializers.SerializerMethodField()
    appointment_types_location_scoped = serializers.SerializerMethodField()
    is_sync_notifications = serializers.SerializerMethodField()
    notify_insert_fails = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(source="created_at")
    locations = LocationBasicSerializer(source="active_locations", many=True)

    class Meta:
        model = Institution
        fields = ["id", "name", "created_at", "updated_at", "subdomain", "phone_number", "emrs", "country_code",
                  "appointment_types_location_scoped", "is_sync_notifications", "notify_insert_fails", "locations"]

    def get_emrs(self, institution: Institution) -> list[str]:
        return sorted({sync.ehr for sync in institution.syncs.all()})

    def get_country_code(self, institution: Institution) -> str:
        return "US"

    def get_appointment_types_location_scoped(self, institution: Institution) -> bool:
        return True

    def get_is_sync_notifications(self, institution: Institution) -> bool:
        return True

    def get_notify_insert_fails(self, institution: Institution) -> bool:
        return True


class InstitutionWithLocationsSerializer(serializers.ModelSerializer):
    locations = LocationSerializer(source="active_locations", many=True)

    class Meta:
        model = Institution
        fields = ["id", "name", "subdomain", "locations"]
