"""What the HTTP API answers, for its OpenAPI schema: the JSON bodies (pydantic models), the error
answers each operation documents, and the schema itself (:func:`openapi_schema`).

The routes build plain dicts; the models only describe them (tests/service/test_http_fuzz.py
checks every answer against these schemas).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from connevo.evolution.spec import CampaignSpec

CampaignStatus = Literal["running", "finished", "failed", "stopped"]
CandidateStatus = Literal["ok", "failed", "diverged", "timeout"]


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    detail: str = Field(description="what is wrong: the field or object, the problem and the bad value")


class Launched(BaseModel):
    id: str
    status: Literal["running"]
    url: str = Field(description="poll this path for the campaign's status")


class Stopping(BaseModel):
    id: str
    status: Literal["stopping"]


class CampaignSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: CampaignStatus
    generations_done: int
    candidates: int
    created_at: str = Field(description="ISO 8601, UTC")
    stale: bool = Field(description="running, but its driver has not been heard of for a minute (it died)")
    running_here: bool = Field(description="the campaign runs in a thread of this server")


class GenerationPoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    generation: int
    hypervolume: float | None
    front_size: int
    best_val_accuracy: float | None
    evaluations: int
    cumulative_evaluations: int


class Progress(BaseModel):
    generation: int | None
    generation_size: int
    evaluated_in_generation: int
    evaluated_since_start: int


class CampaignDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: CampaignStatus
    error: str | None
    seed: int
    created_at: str
    updated_at: str
    stale: bool = Field(description="running, but its driver has not been heard of for a minute (it died)")
    running_here: bool
    stopped_at_time_limit: bool = Field(
        description="finished because evolution.time_limit stopped evolution before its last generation "
                    "(POST .../resume goes on)")
    generation: int | None = Field(description="the last finished generation, null before the first")
    generations_done: int
    generations_total: int
    candidates_done: int
    candidates_total: int
    front_size: int
    hypervolume: float | None
    best_val_accuracy: float | None = Field(
        description="the best value so far of the campaign's first maximized objective (best_objective): "
                    "validation accuracy by default, R^2 for a regression")
    best_objective: str = Field(description="the objective best_val_accuracy is the best of (val_accuracy, val_r2, ...)")
    kind: str = Field(description="the task kind: classification or regression (task.kind)")
    objectives: dict[str, Any]
    progress: Progress | None = Field(description="live counters while the campaign runs here, else null")
    hypervolume_history: list[GenerationPoint]
    spec: dict[str, Any]


class _CandidateMetrics(BaseModel):
    """The stored columns of a candidate but its id and genome; metrics are null where not measured."""

    model_config = ConfigDict(extra="allow")

    campaign_id: str
    number: int
    generation: int
    parents: list[str]
    status: CandidateStatus
    error: str | None
    seed: int
    train_accuracy: float | None
    val_accuracy: float | None
    test_accuracy: float | None
    train_loss: float | None
    val_loss: float | None
    test_loss: float | None
    connections: int | None
    params: int | None
    flops: int | None
    depth: int | None
    hidden_nodes: int | None
    wiring_length: float | None
    modularity: float | None
    train_val_gap: float | None
    train_test_gap: float | None
    epochs: int | None
    seconds: float | None
    extra: dict[str, Any]
    created_at: str


class CandidateRow(_CandidateMetrics):
    candidate_id: str


class FrontItem(CandidateRow):
    duplicates: int = Field(description="other candidates with the same objective values (not listed)")


class FrontPage(BaseModel):
    campaign_id: str
    objectives: list[str]
    senses: list[Literal["max", "min"]]
    rank_accuracy_by: Literal["accuracy", "loss", "pooled", "accuracy_and_loss"] = Field(
        description="how val_accuracy (a regression: val_r2) ranks the front's candidates (the campaign's objectives.rank_accuracy_by)")
    items: list[FrontItem]


class HeldOutScores(BaseModel):
    """A campaign's front scored on held-out rows (``GET /campaigns/{campaign}/score``, ``connevo score``)."""

    campaign_id: str
    kind: Literal["classification", "regression"]
    metric: Literal["accuracy", "r2"]
    rows: int = Field(description="held-out rows scored")
    hypervolume: float = Field(description="of (held-out score, connections), normalized to [0, 1]")
    reference: dict[str, float] = Field(description="the hypervolume's reference point: the score 0 and twice "
                                                    "the connections of the dense input-to-output network")
    ignored_columns: list[str] = Field(description="columns of the file the campaign did not train on")
    unseen_labels: dict[str, int] = Field(description="held-out labels the campaign's data never had, with their "
                                                      "row counts (wrong for every network)")
    missing_values: dict[str, int] = Field(default_factory=dict,
                                           description="feature columns with missing values, with their counts "
                                                       "(each read as the column's training mean)")
    networks: list[dict[str, Any]] = Field(description="one per front network: candidate_id, connections, "
                                                       "hidden_nodes, val_/test_/heldout_<metric>, heldout_front")


class CandidatePage(BaseModel):
    total: int = Field(description="candidates that match the filters, over all pages")
    limit: int
    offset: int
    items: list[CandidateRow]


class Topology(BaseModel):
    nodes: int
    enabled_connections: int
    connection_genes: int


class CandidateDetail(_CandidateMetrics):
    id: str
    genome: dict[str, Any] = Field(description="the genome JSON (format connevo.genome)")
    topology: Topology
    plots: dict[str, str]


ERROR_DESCRIPTIONS = {
    400: "a bad value: a spec field, an objective name, a data file (or an invalid Content-Length)",
    401: "missing or wrong bearer token",
    404: "no campaign or candidate with that id (or name)",
    409: "the request conflicts with the campaign's state (or the candidate's: an export of an untrained one)",
    413: "request body larger than limits.max_body_bytes",
    422: "a query parameter, path parameter or body that does not validate",
    429: "as many campaigns run already as limits.max_concurrent allows",
    500: "the store failed",
    504: "an export (or a scoring) ran past its time limit",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers: every one a JSON :class:`ErrorBody`."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


def ok(code: int, model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the success answer ``code`` with a body described by ``model``."""
    return {code: {"model": model, "description": description}}


COMMON_ERRORS = (400, 413, 422, 500)
"""What any route may answer: a bad value (any ConnevoError), a body too large, a request that
does not validate, the store failing."""

PNG = {200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
             "description": "a PNG image"}, **errors(*COMMON_ERRORS, 404)}
"""OpenAPI ``responses`` of a route that draws a plot."""

ZIP = {200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
             "description": "a zip of the files `connevo export` writes"}, **errors(*COMMON_ERRORS, 404, 409, 504)}
"""OpenAPI ``responses`` of a route that exports networks."""


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the campaign spec's JSON schema as the body of ``POST /campaigns``."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    spec_schema = CampaignSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(spec_schema.pop("$defs", {}))
    components["CampaignSpec"] = spec_schema
    body = schema["paths"]["/campaigns"]["post"]["requestBody"]
    body["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/CampaignSpec"}
    if getattr(app.state, "token_required", False):
        # service.guard.Guard answers 401 to every data request without the token.
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        unauthorized = {"description": ERROR_DESCRIPTIONS[401],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].setdefault("401", unauthorized)
    app.openapi_schema = schema
    return schema


__all__ = ["COMMON_ERRORS", "ERROR_DESCRIPTIONS", "PNG", "ZIP", "HeldOutScores", "CampaignDetail", "CampaignStatus", "CampaignSummary",
           "CandidateDetail", "CandidatePage", "CandidateRow", "CandidateStatus", "ErrorBody", "FrontItem", "FrontPage",
           "GenerationPoint", "Launched", "Progress", "Stopping", "Topology", "errors", "ok", "openapi_schema"]
