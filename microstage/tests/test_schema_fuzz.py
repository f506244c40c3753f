"""Fuzz the REST API from its own OpenAPI schema (the one served at /api/v1/schema/) with
schemathesis: whatever the generated bodies, queries and path ids, no operation answers 500.
Bounded: a few examples per operation, so the whole run takes a minute or two."""
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 6


def _served_schema() -> dict:
    """The schema exactly as /api/v1/schema/ renders it (generated without a request or database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_served_schema())


@pytest.fixture
def wsgi_app(db):
    """The app, called in-process. As Django's test client does, the request signals must not close the
    test's database connection (it holds the test's transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from microstage.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token_header(db):
    from rest_framework.authtoken.models import Token

    from microstage.models import Role
    from microstage.tests.factories import CreatorFactory, team_member

    owner = team_member(CreatorFactory(), Role.OWNER)
    return {"Authorization": f"Token {Token.objects.create(user=owner).key}"}


def test_the_schema_is_the_served_one(client):
    served = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert len(schema.raw_schema["paths"]) > 30


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_no_operation_answers_500(case, wsgi_app, token_header):
    response = case.call(app=wsgi_app, headers=token_header)
    assert response.status_code < 500, (f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                        f"{response.text[:500]}")
