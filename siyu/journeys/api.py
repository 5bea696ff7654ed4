"""``/api/journeys``: drafts, versions, pause / resume / archive, entries through the API trigger,
figures; ``/api/journey-templates``: ready journeys to start from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.journeys import entry_store, lifecycle, stats, store, task_store, templates
from siyu.journeys.errors import JourneyError, JourneyNotFound
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/journeys", tags=["journeys"])
templates_router = APIRouter(prefix="/api/journey-templates", tags=["journeys"])
tasks_router = APIRouter(prefix="/api/staff-tasks", tags=["journeys"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]  # journeys send messages
JourneyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Language = Annotated[Literal["zh", "en"], Query(description="Language of names and texts")]


class JourneyIn(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200, description="Required unless from a template")
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = Field(None, description="trigger, entry, goal, holdout_percent, policy, "
                                              "steps (see docs/journeys.md)")
    template: str | None = Field(None, max_length=64, description="Start from a ready template instead")
    language: Literal["zh", "en"] = "zh"


class JourneyPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] | None = None


class VersionOut(BaseModel):
    version: int
    published_at: datetime
    published_by: str | None


class JourneyOut(BaseModel):
    id: int
    name: str
    description: str | None
    status: str
    version: int = Field(description="latest published version; 0 before the first")
    draft: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    versions: list[VersionOut] = Field(default_factory=list)


class EntryIn(BaseModel):
    profile_id: int = Field(ge=1, le=2**62)
    idempotency_key: str = Field(min_length=1, max_length=150,
                                 description="The same key again returns the first entry and enters nobody")
    properties: dict[str, Any] | None = Field(None, description="Kept with the entry as its context")


class EntryOut(BaseModel):
    id: int
    journey_id: int
    version: int
    profile_id: int
    cohort: str
    status: str
    step: str | None
    due_at: datetime | None
    entered_at: datetime
    finished_at: datetime | None
    converted_at: datetime | None
    exit_reason: str | None
    created: bool | None = None


def _out(conn: Any, workspace_id: int, journey_id: int) -> JourneyOut:
    return JourneyOut(**lifecycle.describe(conn, workspace_id, journey_id))


@router.post("", status_code=201, response_model=JourneyOut, summary="Create a draft journey")
def create_journey(request: Request, caller: Writer, body: JourneyIn) -> JourneyOut:
    if body.template is not None:
        ready = templates.get(body.template, body.language)
        name, definition = body.name or ready["name"], body.definition or ready["definition"]
        description = body.description or ready["description"]
    elif body.definition is None or body.name is None:
        raise JourneyError("Give a 'name' and a 'definition', or a 'template'.", code="journeys.invalid",
                           details={"field": "definition"})
    else:
        name, definition, description = body.name, body.definition, body.description
    with write(runtime_of(request).engine) as conn:
        if body.template is not None and body.definition is None:
            definition = templates.tailored(conn, caller.workspace_id, body.template, definition)
        journey = lifecycle.create(conn, caller.workspace_id, name=name, description=description,
                                   definition=definition, actor=caller.actor, now=clock.now())
        return _out(conn, caller.workspace_id, journey.id)


@router.get("", response_model=list[JourneyOut])
def list_journeys(request: Request, caller: Reader, include_archived: bool = False) -> list[JourneyOut]:
    with read(runtime_of(request).engine) as conn:
        return [JourneyOut(**lifecycle.as_dict(j))
                for j in store.list_journeys(conn, caller.workspace_id, include_archived=include_archived)]


@router.get("/{journey_id}", response_model=JourneyOut)
def get_journey(request: Request, caller: Reader, journey_id: JourneyId) -> JourneyOut:
    with read(runtime_of(request).engine) as conn:
        return _out(conn, caller.workspace_id, journey_id)


@router.patch("/{journey_id}", response_model=JourneyOut, summary="Edit the draft (published versions never change)")
def edit_journey(request: Request, caller: Writer, journey_id: JourneyId, body: JourneyPatch) -> JourneyOut:
    with write(runtime_of(request).engine) as conn:
        lifecycle.edit(conn, caller.workspace_id, journey_id, name=body.name, description=body.description,
                       definition=body.definition, now=clock.now())
        return _out(conn, caller.workspace_id, journey_id)


@router.get("/{journey_id}/versions/{version}", summary="A published version's definition")
def get_version(request: Request, caller: Reader, journey_id: JourneyId,
                version: Annotated[int, Path(ge=1, le=100_000)]) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        found = store.get_version(conn, caller.workspace_id, journey_id, version)
    return {"journey_id": journey_id, "version": found.version, "definition": found.definition,
            "published_at": found.published_at, "published_by": found.published_by}


def _transition(request: Request, caller: Principal, journey_id: int, action: str) -> JourneyOut:
    with write(runtime_of(request).engine) as conn:
        now = clock.now()
        if action == "publish":
            lifecycle.publish(conn, caller.workspace_id, journey_id, actor=caller.actor, now=now)
        else:
            {"pause": lifecycle.pause, "resume": lifecycle.resume, "archive": lifecycle.archive}[action](
                conn, caller.workspace_id, journey_id, now)
        return _out(conn, caller.workspace_id, journey_id)


@router.post("/{journey_id}/publish", response_model=JourneyOut,
             summary="Publish the draft as the next version; new entries take it, people inside stay on theirs")
def publish_journey(request: Request, caller: Writer, journey_id: JourneyId) -> JourneyOut:
    return _transition(request, caller, journey_id, "publish")


@router.post("/{journey_id}/pause", response_model=JourneyOut, summary="Stop entries; hold people inside")
def pause_journey(request: Request, caller: Writer, journey_id: JourneyId) -> JourneyOut:
    return _transition(request, caller, journey_id, "pause")


@router.post("/{journey_id}/resume", response_model=JourneyOut)
def resume_journey(request: Request, caller: Writer, journey_id: JourneyId) -> JourneyOut:
    return _transition(request, caller, journey_id, "resume")


@router.post("/{journey_id}/archive", response_model=JourneyOut, summary="End it; people inside exit")
def archive_journey(request: Request, caller: Writer, journey_id: JourneyId) -> JourneyOut:
    return _transition(request, caller, journey_id, "archive")


@router.post("/{journey_id}/entries", status_code=201, response_model=EntryOut,
             summary="Enter a person (the API trigger); 200 with the first entry when the key was used before")
def enter_journey(request: Request, caller: Writer, journey_id: JourneyId, body: EntryIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        entry, created = lifecycle.enter_by_api(conn, caller.workspace_id, journey_id, profile_id=body.profile_id,
                                                key=body.idempotency_key, properties=body.properties,
                                                now=clock.now())
    out = EntryOut(**lifecycle.entry_dict(entry), created=created)
    return out if created else JSONResponse(out.model_dump(mode="json"), status_code=200)


@router.get("/{journey_id}/entries", response_model=list[EntryOut], summary="Entries, newest first")
def list_entries(request: Request, caller: Reader, journey_id: JourneyId,
                 status: Annotated[Literal["active", "waiting", "completed", "exited", "converted"] | None,
                                   Query()] = None,
                 profile_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> list[EntryOut]:
    with read(runtime_of(request).engine) as conn:
        store.get_journey(conn, caller.workspace_id, journey_id)
        found = entry_store.list_entries(conn, caller.workspace_id, journey_id, status=status, profile_id=profile_id,
                                         limit=limit, before_id=before_id)
    return [EntryOut(**lifecycle.entry_dict(e)) for e in found]


@router.get("/{journey_id}/entries/{entry_id}", summary="One entry and the steps it went through")
def get_entry(request: Request, caller: Reader, journey_id: JourneyId,
              entry_id: Annotated[int, Path(ge=1, le=2**62)]) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        entry = entry_store.get_entry(conn, caller.workspace_id, entry_id)
        if entry is None or entry.journey_id != journey_id:
            raise JourneyNotFound(f"No entry {entry_id} in journey {journey_id}.", details={"entry_id": entry_id})
        visits = entry_store.visits_of(conn, caller.workspace_id, entry_id)
    return {**EntryOut(**lifecycle.entry_dict(entry)).model_dump(exclude={"created"}), "context": entry.context,
            "visits": visits}


@router.get("/{journey_id}/stats", summary="Entered, active, completed, converted; holdout lift; per step")
def journey_stats(request: Request, caller: Reader, journey_id: JourneyId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return stats.journey_stats(conn, caller.workspace_id, journey_id)


@templates_router.get("", summary="Ready journeys (welcome series, cart abandonment, birthday gift, ...)")
def list_templates(caller: Reader, language: Language = "zh") -> list[dict[str, Any]]:
    return [templates.get(key, language) for key in templates.KEYS]


@tasks_router.get("", summary="Staff tasks journeys created: whom to contact, about what, by when")
def list_tasks(request: Request, caller: Reader,
               status: Annotated[Literal["open", "done", "skipped"] | None, Query()] = None,
               profile_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        found = task_store.list_tasks(conn, caller.workspace_id, profile_id=profile_id, status=status, limit=limit)
    return [{k: v for k, v in task.items() if k != "workspace_id"} for task in found]
