"""What Hugging Face shows beside a paper's listing that the paper itself does not say (issue 11)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ListingExtras:
    """Hugging Face's submitter, thumbnail, GitHub stars and project page of a paper's latest listing.

    Links were checked to be http(s) at ingest; pages check again when they show them.
    """

    submitted_by: str | None = None
    thumbnail_url: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
