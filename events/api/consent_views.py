"""API for consent forms and pre-event onboarding (API.md "Consent and pre-event onboarding") and for
"notify me" (API.md "Notifications"): thin, they call events.consent and events.notices."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from events import consent, notices
from events.permissions import require_event_role
from events.models import Drop, Event, TicketTier
from microstage.errors import Invalid, NotFound
from microstage.models import EDIT_ROLES
from microstage.permissions import ANY_ROLE
from microstage.selectors import role_of


class QuestionSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["yes_no"])
    required = serializers.BooleanField()


class ConsentFormSerializer(serializers.Serializer):
    questions = QuestionSerializer(many=True)


class OnboardingSerializer(serializers.Serializer):
    questions = QuestionSerializer(many=True)
    answers = serializers.DictField(child=serializers.BooleanField())
    completed = serializers.BooleanField()
    editable = serializers.BooleanField()
    closes_at = serializers.DateTimeField()


class AnswersInSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.BooleanField())


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise Invalid(_("Send a JSON object."))
    return request.data


class ConsentFormView(APIView):
    @extend_schema(responses=ConsentFormSerializer, summary="The event's consent form (team)")
    def get(self, request, event_id):
        event = require_event_role(request.user, event_id, ANY_ROLE)
        return Response({"event": event.pk, "questions": consent.questions_of(event)})

    @extend_schema(request=ConsentFormSerializer, responses=ConsentFormSerializer,
                   summary="Set the yes/no questions every ticket holder answers before the show")
    def put(self, request, event_id):
        event = require_event_role(request.user, event_id, EDIT_ROLES)
        body = _body(request)
        if "questions" not in body:
            raise Invalid(
                _("Send the questions."), fields={"questions": [_("Required (an empty list removes the form).")]}
            )
        form = consent.set_consent_form(event, body["questions"], actor=request.user)
        return Response({"event": event.pk, "questions": form.questions})


class ConsentsView(APIView):
    @extend_schema(responses=dict, summary="Counts and every holder's answers (team)")
    def get(self, request, event_id):
        event = require_event_role(request.user, event_id, ANY_ROLE)
        return Response(consent.summary(event))


class OnboardingView(APIView):
    @extend_schema(responses=OnboardingSerializer, summary="The ticket holder's questions and answers")
    def get(self, request, ticket_id):
        return Response(consent.onboarding(consent.holder_ticket(request.user, ticket_id)))

    @extend_schema(request=AnswersInSerializer, responses=dict,
                   summary="Answer the consent form (changeable until doors open)")
    def post(self, request, ticket_id):
        consent.holder_ticket(request.user, ticket_id)  # 404 for anyone but the holder, before validating
        body = _body(request)
        if "answers" not in body:
            raise Invalid(_("Send the answers."), fields={"answers": [_("Required.")]})
        return Response(consent.answer(request.user, ticket_id, body["answers"]))


def _visible_drop(user, drop_id: str) -> Drop:
    from events.selectors import may_see_event

    drop = Drop.objects.select_related("event", "product").filter(pk=drop_id).first()
    if drop is None or drop.event.status == Event.Status.DRAFT and role_of(user, drop.event.creator_id) is None \
            or not may_see_event(user, drop.event):
        raise NotFound(_("No such drop."))
    return drop


def _visible_tier(user, tier_id: str) -> TicketTier:
    from events.selectors import may_see_event

    tier = TicketTier.objects.select_related("event").filter(pk=tier_id).first()
    if tier is None or tier.event.status == Event.Status.DRAFT and role_of(user, tier.event.creator_id) is None \
            or not may_see_event(user, tier.event):
        raise NotFound(_("No such tier."))
    return tier


class DropNotifyMeView(APIView):
    @extend_schema(request=None, responses={201: dict}, summary="Tell me once when this drop opens")
    def post(self, request, drop_id):
        req = notices.request_drop(request.user, _visible_drop(request.user, drop_id))
        return Response(notices.as_json(req), status=status.HTTP_201_CREATED)


class TierNotifyMeView(APIView):
    @extend_schema(request=None, responses={201: dict}, summary="Tell me once when this tier's sales start")
    def post(self, request, tier_id):
        req = notices.request_tier(request.user, _visible_tier(request.user, tier_id))
        return Response(notices.as_json(req), status=status.HTTP_201_CREATED)
