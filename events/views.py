"""Public event pages: discovery and the landing page."""
from django.http import Http404
from django.shortcuts import render

from . import selectors


def discover(request):
    return render(request, "events/discover.html", {"events": selectors.upcoming_public_events()})


def landing(request, slug):
    event = selectors.landing_event(slug)
    if event is None:
        raise Http404("No such event.")
    return render(request, "events/landing.html", {"event": event, "tiers": list(event.tiers.all())})
