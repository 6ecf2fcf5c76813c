"""The owner's member imports: upload a CSV file (processed by the import worker), follow its progress."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import FileBody, lambda_handler_for, make_resolver
from loyalty.api.security import KEY
from loyalty.domain.errors import Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from loyalty.replies.imports import ImportAccepted, ImportStatus
from loyalty.services import imports

router = Router()
IMPORTS = "/v1/merchants/{merchantId}/imports"
CSV_FILE = FileBody(limit_setting="max_import_bytes")
CSV_BODY = {
    "required": True,
    "description": "The CSV file, UTF-8 (a byte order mark is fine), up to 5 MB, comma, semicolon or tab "
                   "separated, quoted fields as RFC 4180, Unix or Windows line endings. The header row names the "
                   "columns (case, spaces, underscores and hyphens aside): phone, email (one of them is required), "
                   "name, birthday (YYYY-MM-DD, MM-DD or DD.MM.YYYY), points, stamps, visits (whole numbers of 0 "
                   "or more), lastVisit (YYYY-MM-DD or DD.MM.YYYY), consentSms, consentEmail (yes/no, tak/nie, "
                   "true/false, 1/0). Unknown columns are ignored. Phones without a country code are read as "
                   "numbers of the merchant's country (from its timezone).",
    "content": {"text/csv": {"schema": {"type": "string"},
                             "example": "phone,name,points,lastVisit\n600 100 200,Anna,120,2026-10-02\n"}},
}


@router.post("/v1/merchants/<merchantId>/imports", tags=["imports"], status_code=202, security=KEY,
             operation_id="createImport", openapi_extensions={"x-file-body": CSV_BODY},
             responses=responses(Unauthorized, Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType,
                                 replies={202: ImportAccepted}))
def create_import(merchantId: str,
                  mapping: Annotated[str | None, Query(
                      max_length=1000, examples=["phone:Telefon,name:Imię,points:Punkty"],
                      description="Columns whose header is not the field's name, as field:column pairs separated "
                                  "by commas (phone:Telefon,name:Imię). Fields left out are found by their own "
                                  "name. A column name cannot contain a comma or a colon.")] = None):
    data, media_type = http.file_body(router)
    return http.json_reply(202, imports.start(http.caller(router), merchantId, data, media_type, mapping))


@router.get("/v1/merchants/<merchantId>/imports/<importId>", tags=["imports"], security=KEY,
            operation_id="getImport", responses=responses(Unauthorized, Forbidden, NotFound))
def get_import(merchantId: str, importId: str) -> ImportStatus:
    return imports.status(http.caller(router), merchantId, importId)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app, file_routes={f"POST {IMPORTS}": CSV_FILE})
