"""``/api/openapi.json``: the OpenAPI 3.1 document, generated from the endpoint table
(:data:`qabot.server.routes.ENDPOINTS`) and the pydantic models of
:mod:`qabot.server.schema`, whose JSON Schemas (draft 2020-12, OpenAPI 3.1's dialect) are its
components. Nothing here is written twice: a field added to a model or an endpoint added to
the table is in the document."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from .. import __version__
from .routes import ENDPOINTS, ERROR, Endpoint, Reply
from .schema import REPLY_MODELS, REQUEST_MODELS

__all__ = ["openapi_path", "openapi_spec"]

_REF = "#/components/schemas/{model}"
_RULE_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def openapi_spec(endpoints: Sequence[Endpoint] = ENDPOINTS) -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``endpoints`` (every route of the app by default),
    with a component for each request and reply model they use."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(openapi_path(endpoint.rule), {})[endpoint.method.lower()] = \
            _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qabot",
            "version": __version__,
            "description": "Ask a document a question; get the passage that answers it and "
                           "its section. Every error has the Error shape.",
        },
        "paths": paths,
        "components": {
            # A copy: the cached schemas are shared and a caller may change its document.
            "schemas": copy.deepcopy(_components(_models(endpoints))),
            "responses": {"Error": _reply(ERROR)},
        },
    }


def openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``/api/documents/<path:name>`` is
    ``/api/documents/{name}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": endpoint.summary,
                                 "operationId": endpoint.operation_id}
    if endpoint.parameters:
        operation["parameters"] = [dict(p) for p in endpoint.parameters]
    if endpoint.body is not None:
        media: dict[str, Any] = {"schema": _ref(endpoint.body)}
        if endpoint.example is not None:
            media["example"] = dict(endpoint.example)
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    operation["responses"] = {
        status: {"$ref": "#/components/responses/Error"} if reply is ERROR else _reply(reply)
        for status, reply in endpoint.replies.items()}
    return operation


def _reply(reply: Reply) -> dict[str, Any]:
    if reply.model is not None:
        content: dict[str, Any] = {"application/json": {"schema": _ref(reply.model)}}
    else:
        content = {media: dict(value) for media, value in (reply.content or {}).items()}
    return {"description": reply.description, "content": content}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _models(endpoints: Iterable[Endpoint]) -> tuple[tuple[type[BaseModel], JsonSchemaMode], ...]:
    """Each model the endpoints use, with the mode its schema is for: a request body is
    validated, a reply serialised (a key with a default is then optional)."""
    found: dict[type[BaseModel], JsonSchemaMode] = {model: "validation"
                                                    for model in REQUEST_MODELS}
    found.update((model, "serialization") for model in REPLY_MODELS)
    for endpoint in endpoints:
        if endpoint.body is not None:
            found[endpoint.body] = "validation"
        for reply in endpoint.replies.values():
            if reply.model is not None:
                found[reply.model] = "serialization"
    return tuple(found.items())


class _Schema(GenerateJsonSchema):
    """pydantic's JSON Schema without a title on every property (the name says it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


@cache
def _components(models: tuple[tuple[type[BaseModel], JsonSchemaMode], ...]) -> dict[str, Any]:
    """The JSON Schema of each model and of the models it nests, by class name (pure, and
    models are classes, so it is computed once per set of models)."""
    _, schemas = models_json_schema(models, ref_template=_REF, schema_generator=_Schema)
    return schemas.get("$defs", {})
