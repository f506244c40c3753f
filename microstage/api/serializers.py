"""Serializers for accounts, creators and teams."""
from rest_framework import serializers

from microstage.models import Creator, Role, TeamMembership, User


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class UserCreatedSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]


class MyRoleSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="creator.id")
    slug = serializers.CharField(source="creator.slug")
    name = serializers.CharField(source="creator.name")

    class Meta:
        model = TeamMembership
        fields = ["id", "slug", "name", "role"]


class MeSerializer(serializers.ModelSerializer):
    creators = MyRoleSerializer(source="team_roles", many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "display_name", "creators"]


class CreatorCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.CharField(max_length=60, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class CreatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Creator
        fields = ["id", "slug", "name", "bio"]


class TeamInviteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=[Role.MANAGER, Role.DOOR, Role.MODERATOR])


class TeamEntrySerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "invited"])
    invitation = serializers.CharField(allow_null=True)
