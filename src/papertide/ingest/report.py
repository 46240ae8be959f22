"""What an ingestion run did, for the summary line, the ledger and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import UpsertReport

# Exit codes of `papertide ingest ...`, documented in the README for cron chains.
EXIT_NEW_PAPERS = 0
EXIT_FAILURE = 1
EXIT_NOTHING_NEW = 3


@dataclass
class IngestReport:
    """Counts of one run; ``problems`` holds every skipped record with its location."""

    source: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    seconds: float = 0.0
    problems: list[InvalidRecord] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    failure: str | None = None

    def add_upsert(self, result: UpsertReport) -> None:
        """Fold one stored batch into the totals."""
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.changed_ids.extend(result.changed_ids)

    def skip(self, problem: InvalidRecord) -> None:
        """Record a record that could not be stored."""
        self.skipped += 1
        self.problems.append(problem)

    @property
    def exit_code(self) -> int:
        """0 when papers were stored or changed, 3 when nothing was new, 1 on failure."""
        if self.failure:
            return EXIT_FAILURE
        return EXIT_NEW_PAPERS if (self.new or self.updated) else EXIT_NOTHING_NEW

    def summary(self) -> str:
        """One line for the terminal and the log."""
        return (
            f"{self.source}: fetched {self.fetched}, new {self.new}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped} in {self.seconds:.1f} s"
        )
