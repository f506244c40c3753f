"""Serializers for the streaming API's ingest answers."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class IngestSerializer(serializers.Serializer):
    ingest_url = serializers.CharField()
    stream_key = serializers.CharField()
    backup_ingest_url = serializers.CharField()
    backup_stream_key = serializers.CharField()
    test_stream_key = serializers.CharField(help_text=_("The private test ingest: always open, seen only by the team"))
    status = serializers.CharField()


class RotateKeyRequestSerializer(serializers.Serializer):
    which = serializers.ChoiceField(choices=["main", "backup"], default="main", required=False)


class RotatedKeySerializer(serializers.Serializer):
    stream_key = serializers.CharField()
