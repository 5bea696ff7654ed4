"""``siyu surveys``: create surveys, issue links, read the NPS report."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

surveys_app = typer.Typer(help="Surveys and NPS: an NPS question (0-10) and a comment, answered on a mobile page.",
                          no_args_is_help=True)
app.add_typer(surveys_app, name="surveys")

SurveyArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The survey's id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace_id(conn: Any, workspace: str) -> int:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace).id


@surveys_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="A name for operators.")],
           question_zh: Annotated[str | None, typer.Option(help="The question in Chinese (default: the NPS one).")]
           = None,
           question_en: Annotated[str | None, typer.Option(help="The question in English.")] = None,
           no_comment: Annotated[bool, typer.Option("--no-comment", help="Ask only for the score.")] = False,
           as_json: JsonOption = False) -> None:
    """Create a survey: the NPS question (0-10) and, unless --no-comment, a comment box."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.surveys import store
    from siyu.surveys.models import checked_texts

    if (question_zh is None) != (question_en is None):
        raise fail("Give the question in both languages (--question-zh and --question-en), or neither.")
    if not 1 <= len(name.strip()) <= 200:
        raise fail("The name is 1-200 characters.")
    texts = checked_texts({"question": {"zh": question_zh, "en": question_en}} if question_zh else {},
                          not no_comment)
    with write(runtime().engine) as conn:
        survey = store.create_survey(conn, _workspace_id(conn, workspace), name.strip(), texts, clock.now())
    if as_json:
        _print(survey.to_dict())
    else:
        out.print(f"survey {survey.id} 「{survey.name}」 created")


@surveys_app.command("list")
@handles_errors
def list_surveys(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The workspace's surveys, newest first."""
    from siyu.db.engine import read
    from siyu.surveys import store

    with read(runtime().engine) as conn:
        found = [s.to_dict() for s in store.list_surveys(conn, _workspace_id(conn, workspace))]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"{item['id']}  {item['name']}  {item['status']}")


@surveys_app.command("links")
@handles_errors
def links(workspace: WorkspaceOption, survey: SurveyArgument,
          segment: Annotated[int | None, typer.Option(min=1, help="Every member of this segment.")] = None,
          profile: Annotated[list[int] | None, typer.Option(help="A profile id (repeat).")] = None,
          send_key: Annotated[str, typer.Option(help="Which sending (a new key lets people answer again).")]
          = "default",
          save_trait: Annotated[bool, typer.Option(help="Store each link in the trait survey_<id>_link.")] = True,
          as_json: JsonOption = False) -> None:
    """Signed per-person links to the survey's page (for a journey: stored as a trait)."""
    from siyu.db.engine import write
    from siyu.surveys.page import issue_links

    rt = runtime()
    with write(rt.engine) as conn:
        found = issue_links(conn, rt, _workspace_id(conn, workspace), survey, profile_ids=profile or None,
                            segment_id=segment, send_key=send_key, save_trait=save_trait)
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"{item['profile_id']}  {item['url']}")


@surveys_app.command("nps")
@handles_errors
def nps_report(workspace: WorkspaceOption, survey: SurveyArgument,
               by: Annotated[str, typer.Option(help="week or month.")] = "week",
               segment: Annotated[int | None, typer.Option(min=1, help="Only this segment's members.")] = None,
               as_json: JsonOption = False) -> None:
    """NPS (% promoters − % detractors) over time, optionally for a segment."""
    from siyu.db.engine import read
    from siyu.surveys.api import report

    if by not in ("week", "month"):
        raise fail("--by is week or month.")
    with read(runtime().engine) as conn:
        found = report(conn, _workspace_id(conn, workspace), survey, by, segment)
    if as_json:
        _print(found)
        return
    overall = found["overall"]
    out.print(f"NPS {overall['nps'] if overall['nps'] is not None else '—'} from {overall['answers']} answers "
              f"({overall['promoters']} promoters, {overall['passives']} passives, {overall['detractors']} detractors)")
    for period in found["periods"]:
        out.print(f"{period['period']}  NPS {period['nps']}  ({period['answers']} answers)")


@surveys_app.command("close")
@handles_errors
def close(workspace: WorkspaceOption, survey: SurveyArgument) -> None:
    """Stop taking answers."""
    from siyu.db.engine import write
    from siyu.surveys import store

    with write(runtime().engine) as conn:
        store.set_status(conn, _workspace_id(conn, workspace), survey, "closed")
    out.print(f"survey {survey} closed")
