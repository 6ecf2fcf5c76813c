"""Merchant administration: merchants (admin), locations, staff keys, program, counter codes, messaging."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import KEY
from loyalty.domain.errors import Forbidden, NotFound, OwnerKeyNotRevocable, Unauthorized, ValidationFailed
from loyalty.domain.program import Program
from loyalty.replies.merchants import (
    ApiKeyList,
    CounterCode,
    Location,
    LocationList,
    MerchantCreated,
    MessagingSettings,
    OwnerKey,
    StaffKey,
)
from loyalty.replies.pos import PosKey
from loyalty.requests.merchants import CreateApiKey, CreateLocation, CreateMerchant, UpdateMessagingSettings
from loyalty.services import api_keys, merchants, messaging

router = Router()


# Every merchant route checks the key's merchant and role; another merchant's things are 404.
KEY_CHECKS = (Unauthorized, Forbidden, NotFound)


@router.post("/v1/merchants", tags=["merchants"], status_code=201, security=KEY, operation_id="createMerchant",
             responses=responses(Unauthorized, Forbidden, replies={201: MerchantCreated}))
def create_merchant(body: CreateMerchant):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, merchants.create_merchant(who, body)))


@router.post("/v1/merchants/<merchantId>/locations", tags=["merchants"], status_code=201, security=KEY,
             operation_id="createLocation", responses=responses(*KEY_CHECKS, replies={201: Location}))
def create_location(merchantId: str, body: CreateLocation):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, merchants.add_location(who, merchantId, body)))


@router.get("/v1/merchants/<merchantId>/locations", tags=["merchants"], security=KEY, operation_id="listLocations",
            responses=responses(*KEY_CHECKS))
def list_locations(merchantId: str) -> LocationList:
    return merchants.list_locations(http.caller(router), merchantId)


@router.post("/v1/merchants/<merchantId>/api-keys", tags=["merchants"], status_code=201, security=KEY,
             operation_id="createApiKey",
             responses=responses(*KEY_CHECKS, ValidationFailed, replies={201: StaffKey | PosKey}))
def create_api_key(merchantId: str, body: CreateApiKey):
    who = http.caller(router)
    create = merchants.create_pos_key if body.role == "pos" else merchants.create_staff_key
    return http.exactly_once(router, who, lambda: (201, create(who, merchantId, body.location_ids)))


@router.get("/v1/merchants/<merchantId>/api-keys", tags=["merchants"], security=KEY, operation_id="listApiKeys",
            responses=responses(*KEY_CHECKS))
def list_api_keys(merchantId: str) -> ApiKeyList:
    return api_keys.list_api_keys(http.caller(router), merchantId)


@router.delete("/v1/merchants/<merchantId>/api-keys/<apiKeyId>", tags=["merchants"], status_code=204, security=KEY,
               operation_id="revokeApiKey", responses=responses(*KEY_CHECKS, OwnerKeyNotRevocable, replies={204: {}}))
def revoke_api_key(merchantId: str, apiKeyId: str):
    api_keys.revoke_api_key(http.caller(router), merchantId, apiKeyId)
    return Response(204)


@router.post("/v1/merchants/<merchantId>/owner-key", tags=["merchants"], status_code=201, security=KEY,
             operation_id="replaceOwnerKey", responses=responses(*KEY_CHECKS, replies={201: OwnerKey}))
def replace_owner_key(merchantId: str):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, api_keys.replace_owner_key(who, merchantId)))


@router.get("/v1/merchants/<merchantId>/program", tags=["merchants"], security=KEY, operation_id="getProgram",
            responses=responses(*KEY_CHECKS))
def get_program(merchantId: str) -> Program:
    return merchants.get_program(http.caller(router), merchantId)


@router.put("/v1/merchants/<merchantId>/program", tags=["merchants"], security=KEY, operation_id="updateProgram",
            responses=responses(*KEY_CHECKS))
def put_program(merchantId: str, body: Program) -> Program:
    return merchants.put_program(http.caller(router), merchantId, body)


@router.get("/v1/merchants/<merchantId>/locations/<locationId>/counter-code", tags=["counter codes"],
            security=KEY, operation_id="getCounterCode", responses=responses(*KEY_CHECKS, replies={200: {
                "application/json": CounterCode, "image/svg+xml": {},
                "image/png": {}}}))
def counter_code(merchantId: str, locationId: str,
                 format: Annotated[Literal["json", "svg", "png"], Query(
                     description="json, or the QR image of the code's url as svg or png")] = "json"):
    reply = merchants.counter_code(http.caller(router), merchantId, locationId, http.base_url(router))
    no_store = {"Cache-Control": "no-store"}
    if format == "svg":
        return Response(200, "image/svg+xml", reply.svg(), headers=no_store)
    if format == "png":
        return Response(200, "image/png", reply.png(), headers=no_store)
    return Response(200, "application/json", http.json_reply(200, reply.body).body, headers=no_store)


@router.get("/v1/merchants/<merchantId>/messaging", tags=["messaging"], security=KEY,
            operation_id="getMessagingSettings", responses=responses(*KEY_CHECKS))
def get_messaging(merchantId: str) -> MessagingSettings:
    return messaging.get_settings(http.caller(router), merchantId)


@router.put("/v1/merchants/<merchantId>/messaging", tags=["messaging"], security=KEY,
            operation_id="updateMessagingSettings", responses=responses(*KEY_CHECKS))
def put_messaging(merchantId: str, body: UpdateMessagingSettings) -> MessagingSettings:
    return messaging.put_settings(http.caller(router), merchantId, body)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
