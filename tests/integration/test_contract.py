"""The OpenAPI document promises per operation only the statuses and error codes it can return, and
the test clients hold every reply to it (tests/support/contract.py)."""

from __future__ import annotations

import json
import re

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api.contract import responses
from loyalty.api.errors import STATUS
from loyalty.api.resolver import make_resolver
from loyalty.domain.errors import AlreadyMember, Forbidden, NotFound
from loyalty.replies.merchants import LocationList

from infra.openapi import with_contract_conventions
from tests.support.contract import Contract, ContractViolation, committed_contract
from tests.support.world import bearer

JSON = {"content-type": "application/json"}


def _envelope(code: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": "m", "details": []}}).encode()


def _operations():
    for path, operations in committed_contract().document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


@pytest.mark.parametrize("reply, why", [
    (("POST", "/v1/scans", 409, JSON, _envelope("already_member")), "a code the route does not declare"),
    (("POST", "/v1/scans", 429, JSON, _envelope("cooldown")), "429 without Retry-After"),
    (("POST", "/v1/scans", 200, JSON, b'{"scanId": "scn_1"}'), "a reply missing required fields"),
    (("GET", "/v1/health", 409, JSON, _envelope("cooldown")), "a status the route does not declare"),
    (("GET", "/v1/health", 200, {"content-type": "text/html"}, b"<p>ok</p>"), "an undeclared media type"),
    (("GET", "/v1/merchants/m/locations/l/counter-code", 200, {"content-type": "image/gif"}, b"GIF89a"),
     "an undeclared image format"),
    (("GET", "/v1/not-a-route", 200, JSON, b"{}"), "a route the document does not have"),
])
def test_the_check_refuses_replies_the_document_does_not_promise(reply, why):
    with pytest.raises(ContractViolation):
        committed_contract().check(*reply)


def test_the_check_accepts_what_the_document_promises():
    contract = committed_contract()
    contract.check("POST", "/v1/scans", 429, {**JSON, "retry-after": "60"}, _envelope("cooldown"))
    contract.check("POST", "/v1/scans", 410, JSON, _envelope("counter_code_expired"))
    contract.check("GET", "/v1/merchants/m/locations/l/counter-code?format=png", 200, {"content-type": "image/png"},
                   b"\x89PNG")
    contract.check("GET", "/v1/no-such-route", 404, JSON, _envelope("not_found"))


def test_a_route_answering_with_an_undeclared_error_fails_the_test_that_called_it(world, monkeypatch):
    from loyalty.services import referral

    def undeclared(*args, **kwargs):
        raise AlreadyMember()

    member = world.enroll()
    monkeypatch.setattr(referral, "my_referral", undeclared)
    with pytest.raises(ContractViolation, match="already_member"):
        world.call("GET", "/v1/me/referral", headers=member.headers)


def test_every_declared_code_is_a_domain_error_of_that_status():
    statuses = {cls.code: status for cls, status in STATUS.items()}
    for method, path, operation in _operations():
        for status, response in operation["responses"].items():
            if int(status) < 400 or "text/html" in response["content"]:  # a page's own error page has no code
                continue
            codes = response["x-error-codes"]
            assert codes and all(statuses[code] == int(status) for code in codes), (method, path, status, codes)
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert ("Retry-After" in response.get("headers", {})) == (status in ("429", "503")), (method, path)


def test_operation_ids_are_readable_and_unique():
    ids = [operation["operationId"] for _, _, operation in _operations()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op) for op in ids), ids
    assert {"createMerchant", "recordScan", "claimReward", "getCard"} <= set(ids)


def test_only_the_scan_verifies_counter_codes_so_only_it_declares_410():
    with_410 = {operation["operationId"] for _, _, operation in _operations() if "410" in operation["responses"]}
    assert with_410 == {"recordScan"}


def _concrete(path: str, world, member) -> str:
    values = {"merchantId": world.merchant_id, "locationId": world.locations[0], "memberId": member.member_id,
              "issuedRewardId": "rwd_unknown"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_every_route_refuses_unknown_credentials_as_declared(world):
    member = world.enroll()
    for method, path, _ in _operations():
        reply = world.call(method, _concrete(path, world, member), None, bearer("bw_owner_forged"))
        assert (reply.status, reply.error_code) == (401, "unauthorized"), (method, path, reply.raw)


def test_merchant_routes_refuse_member_cards_and_other_merchants_as_declared(world, other_world):
    member = world.enroll()
    for method, path, operation in _operations():
        if operation.get("security") != [{"apiKey": []}] or "{merchantId}" not in path:
            continue
        if operation["operationId"] == "replaceOwnerKey":
            continue  # the platform administrator's route: any merchant's key is 403 there (tested elsewhere)
        body = {} if "requestBody" in operation else None
        target = _concrete(path, world, member)
        as_member = world.call(method, target, body, member.headers)
        as_stranger = world.call(method, target, body, other_world.owner)
        # The body may be refused first (422); either way only declared codes come back (checked by the client).
        assert as_member.status in (403, 422), (method, path, as_member.raw)
        assert as_stranger.status in (404, 422), (method, path, as_stranger.raw)


_VALID_MEMBER_BODIES = {"changePreferences": {"language": "pl"},  # valid, so the caller is what is refused
                        "giveFeedback": {"scanId": "scn_x", "rating": 5}}


def test_member_routes_refuse_api_keys_and_forged_cards_as_declared(world):
    member = world.enroll()
    forged = member.token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    for method, path, operation in _operations():
        if operation.get("security") != [{"memberToken": []}]:
            continue
        body = _VALID_MEMBER_BODIES.get(operation["operationId"], {"rewardId": "cake"}) \
            if "requestBody" in operation else None
        target = _concrete(path, world, member)
        assert world.call(method, target, body, world.owner).status == 403, (method, path)
        assert world.call(method, target, body, {"X-Member-Token": forged}).error_code == "invalid_member_token"


def test_a_new_route_is_typed_by_its_declaration_alone():
    """What typing a route takes: a reply model (or none, for 204), the errors its service raises, an operation id."""
    router = Router()

    @router.get("/v1/things", operation_id="listThings", responses=responses(Forbidden))
    def list_things() -> LocationList:
        return LocationList(locations=[])

    @router.delete("/v1/things/<thingId>", operation_id="deleteThing", responses=responses(NotFound, replies={204: {}}))
    def delete_thing(thingId: str):
        return Response(204, None, "")

    document = with_contract_conventions(json.loads(make_resolver(router).get_openapi_json_schema()))
    contract = Contract(document)

    listed = document["paths"]["/v1/things"]["get"]["responses"]
    assert listed["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LocationList"}
    assert sorted(listed) == ["200", "401", "403", "413", "503"]
    contract.check("GET", "/v1/things", 200, JSON, b'{"locations": []}')
    contract.check("DELETE", "/v1/things/t1", 204, {}, b"")
    contract.check("DELETE", "/v1/things/t1", 404, JSON, _envelope("not_found"))
    with pytest.raises(ContractViolation):
        contract.check("DELETE", "/v1/things/t1", 403, JSON, _envelope("forbidden"))


def test_a_reply_that_does_not_fit_its_model_is_a_server_error_not_the_clients(world, handlers, monkeypatch):
    from loyalty.services import card

    from infra.local.http_api import json_request

    member = world.enroll()
    monkeypatch.setattr(card, "my_card", lambda caller: {"memberId": member.member_id})
    # Straight to the handlers: a 500 is not in the document, which is the point.
    response = handlers.api.handle(json_request("GET", "/v1/me", headers=member.headers))
    assert response.status == 500
    assert json.loads(response.body)["error"]["code"] == "internal_error"
