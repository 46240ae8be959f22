"""Submitting a paper (``/submit``) and a moderator removing a submission.

The form takes one field, ``arxiv_id`` (an id or an arXiv / Hugging Face URL). The page says
which rule applied (listed today, already listed today, re-listed, too old) with a link to the
paper, or the error that stopped it, with the form filled in again. The rules and limits are
``ingest/submission.py``'s, called through ``Services.submit_paper``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.domain.errors import PapertideError, ProfileRequired
from papertide.store.papers import get_papers
from papertide.store.submissions import get_submission
from papertide.web.deps import ServicesDep, TemplatesDep
from papertide.web.problems import headers_for, profile_form_url, status_for
from papertide.web.row_ids import RowIdPath
from papertide.web.security import CsrfDep, UserDep

router = APIRouter()


@router.get("/submit", response_class=HTMLResponse, include_in_schema=False)
def read_submit_form(request: Request, user: UserDep, templates: TemplatesDep) -> Response:
    """The submit form; members without a handle choose one first."""
    if not user.handle:
        return RedirectResponse(profile_form_url("/submit"), status_code=303)
    return templates.TemplateResponse(request, "submit.html", {"value": "", "outcome": None, "error": ""})


@router.post("/submit", response_class=HTMLResponse, include_in_schema=False)
def submit_paper_form(
    request: Request,
    _csrf: CsrfDep,
    user: UserDep,
    services: ServicesDep,
    templates: TemplatesDep,
    arxiv_id: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Submit the paper and show what happened: the rule that applied, or the error."""
    try:
        outcome = services.submit_paper(arxiv_id, user.id)
    except ProfileRequired:
        return RedirectResponse(profile_form_url("/submit"), status_code=303)
    except PapertideError as error:
        status, _title = status_for(error)
        context = {"value": arxiv_id, "outcome": None, "error": str(error)}
        return templates.TemplateResponse(
            request, "submit.html", context, status_code=status, headers=headers_for(error)
        )
    return templates.TemplateResponse(request, "submit.html", {"value": "", "outcome": outcome, "error": ""})


@router.post("/submissions/{submission_id}/remove", include_in_schema=False, response_model=None)
def remove_submission(submission_id: RowIdPath, _csrf: CsrfDep, user: UserDep, services: ServicesDep) -> Response:
    """Moderators and operators take a submission off the list (the paper stays)."""
    services.moderation.remove_submission(user.id, submission_id)
    with services.engine.connect() as conn:
        submission = get_submission(conn, submission_id)
        found = get_papers(conn, [submission.paper_id]) if submission else []
    target = f"/papers/{found[0].paper.arxiv_id}" if found else "/moderation"
    return RedirectResponse(f"{target}?removed=1", status_code=303)
