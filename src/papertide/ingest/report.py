"""What an ingestion run did, for the summary line, the ledger and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field

from papertide.domain.errors import InvalidRecord
from papertide.domain.models import UpsertReport

# Exit codes of `papertide ingest ...`, documented in docs/ingest.md for cron chains: a quiet
# day (3) must not read as a failure (1).
EXIT_NEW_PAPERS = 0
EXIT_FAILURE = 1
EXIT_NOTHING_NEW = 3

# Problems kept for display; beyond this only the count grows, so memory stays flat on a bad file.
MAX_PROBLEMS_KEPT = 1000


@dataclass
class IngestReport:
    """Counts of one run; ``problems`` holds the first skipped records with their locations."""

    source: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0
    signals: int = 0
    seconds: float = 0.0
    problems: list[InvalidRecord] = field(default_factory=list)
    failure: str | None = None

    def add_upsert(self, result: UpsertReport) -> None:
        """Fold one stored batch into the totals."""
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged

    def skip(self, problem: InvalidRecord) -> None:
        """Record a record that could not be stored."""
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(problem)

    @property
    def exit_code(self) -> int:
        """0 when papers were stored or changed, 3 when nothing was new, 1 on failure."""
        if self.failure:
            return EXIT_FAILURE
        return EXIT_NEW_PAPERS if (self.new or self.updated) else EXIT_NOTHING_NEW

    @property
    def papers_per_second(self) -> float:
        """Records read per second of the run."""
        return self.fetched / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for the terminal and the log."""
        extra = "".join(
            f", {name} {count}" for name, count in (("deleted", self.deleted), ("signals", self.signals)) if count
        )
        return (
            f"{self.source}: fetched {self.fetched}, new {self.new}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}{extra} in {self.seconds:.1f} s"
        )
