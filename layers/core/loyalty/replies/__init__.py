"""The JSON replies of the HTTP API: pydantic models the services build and the routes declare.

One model per reply shape; the OpenAPI document is generated from these same classes, so what a
client is promised is what the code sends. camelCase on the wire, times as ISO 8601 UTC strings.
"""
