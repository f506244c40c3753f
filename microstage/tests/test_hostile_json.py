"""Hostile JSON gets a clear 400 (or an error frame), never a 500 or a dropped socket: bodies nested
1,000 deep, lone surrogates in choice fields, bodies over the size limit (microstage/safejson.py)."""
import json

import pytest

from microstage import safejson
from microstage.tests.factories import CreatorFactory, UserFactory

DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.django_db
class TestDepth:
    @pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT, "[" * 40 + "]" * 40])
    def test_deep_bodies_are_400_invalid(self, api, body):
        r = api.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert r.status_code == 400, r.content[:300]
        assert r["Content-Type"].startswith("application/json")
        assert r.json()["code"] == "invalid" and "nested" in r.json()["detail"]

    def test_deep_body_behind_login_too(self, auth_api):
        r = auth_api.post("/api/v1/orders", data='{"lines":' + DEEP_LIST + "}", content_type="application/json")
        assert r.status_code == 400 and r.json()["code"] == "invalid"

    def test_ordinary_bodies_still_parse(self, api):
        r = api.post("/api/v1/auth/token", data=json.dumps({"email": "a@b.example", "password": "x"}),
                     content_type="application/json")
        assert r.status_code == 400 and r.json()["code"] != "malformed_request"

    def test_plain_json_views_use_it(self, client):
        user = UserFactory()
        client.force_login(user)
        r = client.post("/door/evt_aaaaaaaaaaaaaaaa/scan", data=DEEP_LIST, content_type="application/json")
        assert r.status_code in (400, 404)

    def test_the_reader_itself(self):
        with pytest.raises(safejson.Refused):
            safejson.loads(DEEP_LIST)
        with pytest.raises(safejson.Refused):
            safejson.loads('"\\ud800"')
        with pytest.raises(safejson.Refused):
            safejson.loads('{"\\udfff": 1}')
        assert safejson.loads('{"a": ["b", {"c": "\\u00e9"}]}') == {"a": ["b", {"c": "é"}]}


@pytest.mark.django_db
class TestLoneSurrogates:
    def test_team_role(self, make_api):
        from microstage.models import Role
        from microstage.tests.factories import team_member

        creator = CreatorFactory()
        owner = team_member(creator, Role.OWNER)
        body = '{"email": "someone@example.com", "role": "\\ud800"}'
        r = make_api(owner).post(f"/api/v1/creators/{creator.pk}/team", data=body, content_type="application/json")
        assert r.status_code == 400, r.content[:300]
        assert r.json()["code"] == "invalid"

    @pytest.mark.parametrize("field", ["visibility", "timezone", "title"])
    def test_event_fields(self, auth_api, field):
        body = json.dumps({"creator": "cre_x", "title": "T", "starts_at": "2030-01-01T20:00:00Z",
                           "ends_at": "2030-01-01T22:00:00Z", "online": True, field: "\ud800"})
        assert "\\ud800" in body  # json.dumps escapes the lone surrogate as the attacker would send it
        r = auth_api.post("/api/v1/events", data=body, content_type="application/json")
        assert r.status_code == 400, r.content[:300]
        assert r.json()["code"] == "invalid"


@pytest.mark.django_db
class TestBodySize:
    def test_an_11_mib_json_body_is_a_json_400(self, api):
        body = json.dumps({"email": "a@b.example", "password": "x" * (11 * 1024 * 1024)})
        r = api.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert r.status_code == 400
        assert r["Content-Type"].startswith("application/json")
        assert r.json()["code"] == "too_large"

    def test_an_11_mib_form_body_to_the_api_is_json_too(self, api):
        body = "a=" + "x" * (11 * 1024 * 1024)
        r = api.post("/api/v1/auth/token", data=body, content_type="application/x-www-form-urlencoded")
        assert 400 <= r.status_code < 500
        assert r["Content-Type"].startswith("application/json")

    def test_a_body_django_refuses_before_any_view_is_json_under_the_api(self, client):
        body = json.dumps({"x": "x" * (11 * 1024 * 1024)})
        r = client.post("/api/v1/telemetry", data=body, content_type="application/json")
        assert r.status_code == 400
        assert r["Content-Type"].startswith("application/json") and r.json()["code"] == "too_large"
