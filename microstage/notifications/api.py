"""API for a person's notification preferences (API.md "Notifications"): thin, calls services."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from microstage.api.views import parse

from . import services


class StrictBooleanField(serializers.BooleanField):
    """true/false only: "yes", 1 or "on" in JSON are a mistake, not a preference."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class PreferencesInSerializer(serializers.Serializer):
    email = StrictBooleanField(required=False)
    sms = StrictBooleanField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, trim_whitespace=True)


class PreferencesSerializer(serializers.Serializer):
    email = serializers.BooleanField()
    sms = serializers.BooleanField()
    phone = serializers.CharField()
    phone_confirmed = serializers.BooleanField()
    sms_active = serializers.BooleanField(source="sms_usable")


class ConfirmPhoneSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)


def _out(pref, **extra) -> dict:
    return {**PreferencesSerializer(pref).data, **extra}


class NotificationPreferencesView(APIView):
    @extend_schema(responses=PreferencesSerializer, summary="The caller's notification preferences")
    def get(self, request):
        return Response(_out(services.preferences_of(request.user)))

    @extend_schema(request=PreferencesInSerializer, responses=PreferencesSerializer,
                   summary="Choose email and/or SMS; a new phone number gets a confirmation code by SMS")
    def put(self, request):
        data = parse(PreferencesInSerializer, request)
        pref, code_sent = services.update_preferences(request.user, email=data.get("email"), sms_on=data.get("sms"),
                                                      phone=data.get("phone"))
        return Response(_out(pref, code_sent=code_sent))


class ConfirmPhoneView(APIView):
    @extend_schema(request=ConfirmPhoneSerializer, responses=PreferencesSerializer,
                   summary="Confirm the phone number with the code sent to it")
    def post(self, request):
        data = parse(ConfirmPhoneSerializer, request)
        return Response(_out(services.confirm_phone(request.user, data["code"])))


class ResendCodeView(APIView):
    @extend_schema(request=None, responses=PreferencesSerializer, summary="Send the phone confirmation code again")
    def post(self, request):
        return Response(_out(services.resend_code(request.user), code_sent=True))
