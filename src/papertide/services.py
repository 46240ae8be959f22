"""The composition root: ``Services`` turns ``Settings`` into the working objects of one process.

``papertide serve`` (through ``web.app.create_app``) and every CLI command build one
``Services`` and hand it down; nothing below web and cli reads settings (import-linter
forbids it). Built once per process, the search service and the indexer share one lexical
index and one semantic searcher, so searching, ingesting and the scheduled jobs never open
the index or load the embedding model twice (issue 12). Nothing connects or loads at
construction: the engine connects on first use, the lexical index opens on the first search
or index step, the embedding model on the first query or batch that needs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from papertide.community.collections import Collections
from papertide.community.comments import Discussion
from papertide.community.follows import Follows
from papertide.community.members import Members
from papertide.community.moderation import Moderation
from papertide.community.policy import CommunityPolicy
from papertide.config import Settings
from papertide.digest.compose import MailComposer, MailSite
from papertide.digest.deliver import Transports
from papertide.digest.job import DigestReport
from papertide.digest.job import Progress as DigestProgress
from papertide.digest.job import run_digest as run_digest_job
from papertide.digest.plan import SearchTopicMatcher, make_topic_matcher
from papertide.digest.policy import DigestPolicy
from papertide.digest.subscription import SignupLimits
from papertide.domain.clock import Clock, utc_now
from papertide.domain.comments import Comment
from papertide.domain.models import Hit, StoredPaper
from papertide.domain.periods import parse_time_zone
from papertide.domain.submissions import SubmissionOutcome
from papertide.domain.subscribers import Preferences
from papertide.domain.trending import TrendingCandidate, score_trending
from papertide.ingest.http import PoliteClient, Politeness
from papertide.ingest.pipeline import ChangeHook
from papertide.ingest.registry import SourceConfig
from papertide.ingest.submission import SubmissionPolicy, submit_paper
from papertide.jobs import Job, JobResult, Scheduler, ingest_job
from papertide.listing import CommunityLists
from papertide.mail.comment_notice import compose_comment_notice
from papertide.mail.transport import DeliveryError, MailTransport, make_transport
from papertide.search.indexer import SearchIndexer
from papertide.search.lexical.index import LexicalIndex, directory_for
from papertide.search.lexical.plan import FieldWeights
from papertide.search.maintenance import IndexMaintainer, MaintenanceStep
from papertide.search.query import SearchService
from papertide.search.request import SearchOptions
from papertide.store.accounts import get_user
from papertide.store.engine import make_engine
from papertide.store.submissions import list_active_submissions

if TYPE_CHECKING:
    from papertide.search.semantic.index import IndexConfig
    from papertide.search.semantic.searcher import SemanticSearcher

DIGEST_JOB = "digest"


class Services:
    """Everything a process builds from its settings, built once and shared by web, cli and the jobs.

    :param clock: the current instant for trending and scheduled digests (the web app's test
        clock, ``app.state.clock``, comes in through here).
    """

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        # Owner-only: indexes, the outbox (live sign-in links), the secret key and the database live here.
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.engine = make_engine(settings.database_url)
        self.lexical = LexicalIndex(self.engine, directory_for(settings.data_dir).resolve())
        self._semantic: SemanticSearcher | None = None
        self._semantic_lock = threading.Lock()
        self.search = SearchService(
            self.engine, self.lexical, self._semantic_for_search, search_options(settings), self._rank_trending
        )
        self.indexer = SearchIndexer(self.lexical, self.semantic, embed_batch_limit=settings.search_embed_batch_limit)
        self.lists = CommunityLists(
            zone=parse_time_zone(settings.list_timezone),
            window_days=settings.trending_window_days,
            gravity=settings.trending_gravity,
            offset_hours=settings.trending_offset_hours,
        )
        self.digest_policy = digest_policy(settings)
        self.signup_defaults = signup_defaults(settings)
        self.signup_limits = signup_limits(settings)
        # How long a preferences link stays valid (a confirmation link: digest_policy.pending_expiry).
        self.link_max_age = dt.timedelta(days=settings.digest_link_days)
        self.sources = source_config(settings)
        self.community_policy = community_policy(settings)
        self.submission_policy = submission_policy(settings)
        self.submission_politeness = submission_politeness(settings)
        # A partial, not a closure: it must pickle for the digest's helper processes (digest/parallel.py).
        self.transports: Transports = partial(make_transport, settings.smtp_url.get_secret_value(), settings.outbox_dir)

    def protected_paths(self) -> list[Path]:
        """What papertide keeps up to date under the data directory: a backup must not land there."""
        data_dir = self.settings.data_dir
        return [data_dir / "search", data_dir / "models", data_dir / "secret_key", self.settings.outbox_dir]

    # --- search -----------------------------------------------------------------------------

    def semantic(self) -> SemanticSearcher:
        """The process's semantic searcher, opened on first use (the embedding model loads later still).

        Opened with ``allow_mismatch`` so that indexing (``papertide reindex``) can repair vectors
        of another model; search goes through ``_semantic_for_search``, which refuses them.
        """
        with self._semantic_lock:
            if self._semantic is None:
                self._semantic = open_semantic_searcher(self.settings, self.engine)
            return self._semantic

    def _semantic_for_search(self) -> SemanticSearcher:
        # Raises ModelMismatch while the stored vectors come from another model: hybrid search
        # then falls back to words (search/query.py).
        searcher = self.semantic()
        searcher.check()
        return searcher

    def make_index_maintainer(self) -> IndexMaintainer:
        """The loop that writes what a request must not wait for (search/maintenance.py); not started here.

        Its steps touch only what this process has opened already: a process that never
        searched or indexed has nothing to write (and loads no model or numpy for it).
        """
        return IndexMaintainer(
            [
                MaintenanceStep("vector snapshot", self._maintain_semantic),
                MaintenanceStep("lexical index", self.lexical.catch_up),
            ],
            self.settings.index_maintenance_s,
        )

    def _maintain_semantic(self) -> bool:
        searcher = self._semantic
        return searcher.maintain() if searcher is not None else False

    def _rank_trending(self, candidates: Sequence[TrendingCandidate]) -> list[Hit]:
        return score_trending(
            candidates,
            now=self.clock(),
            zone=self.lists.zone,
            gravity=self.settings.trending_gravity,
            offset_hours=self.settings.trending_offset_hours,
        )

    def index_changed(self, paper_ids: Sequence[int]) -> None:
        """What ingestion calls with the ids of papers it stored or changed, after each batch.

        The lexical index applies the batch at once (by the change sequence, only those papers);
        a batch of at most ``search_embed_batch_limit`` papers is embedded too (issue 4).
        """
        report = self.indexer.index_changed(paper_ids)
        logging.getLogger("papertide.search").info("indexed a batch: %s", report.summary())

    # --- community: collections, author follows, member pages (issue 11) ----------------------

    @cached_property
    def collections(self) -> Collections:
        """Members' collections under the community limits, on the process's clock."""
        return Collections(self.engine, self.community_policy, self.clock)

    @cached_property
    def follows(self) -> Follows:
        """Author pages and following authors."""
        return Follows(self.engine, self.community_policy, self.clock)

    @cached_property
    def discussion(self) -> Discussion:
        """Comments, replies, comment upvotes and reports, under the community policy."""
        return Discussion(self.engine, self.community_policy, self.clock)

    @cached_property
    def moderation(self) -> Moderation:
        """The moderators' queue and actions."""
        return Moderation(self.engine, self.clock)

    @cached_property
    def members(self) -> Members:
        """Member profiles: handles, display names, member pages."""
        return Members(self.engine, self.clock)

    def submit_paper(self, raw_id: str, member_id: int) -> SubmissionOutcome:
        """Submit an arXiv id or URL for today's list on a member's behalf (ingest/submission.py).

        One polite client per submission, with the short-wait politeness (a member is waiting);
        a paper new to papertide is indexed (and embedded) at once through ``index_changed``.
        """
        with PoliteClient("submission", self.submission_politeness) as client:
            return submit_paper(
                self.engine,
                client,
                self.settings.ingest_arxiv_api_url,
                raw_id,
                member_id,
                policy=self.submission_policy,
                on_changed=self.index_changed,
                clock=self.clock,
            )

    def notify_submitter(self, comment: Comment, paper: StoredPaper) -> bool:
        """Mail the paper's submitter about a new comment or reply, when the operator switched it on.

        Not for the submitter's own comments. A delivery failure is logged, never raised: the
        comment is stored already and the member who wrote it should not see an error.
        """
        if not self.settings.comment_mail_submitter:
            return False
        with self.engine.connect() as conn:
            submission = list_active_submissions(conn, [paper.id]).get(paper.id)
            submitter = get_user(conn, submission.user_id) if submission and submission.user_id else None
        if submitter is None or submitter.id == comment.author_id or submitter.is_suspended:
            return False
        settings = self.settings
        message = compose_comment_notice(
            to=submitter.email,
            site_name=settings.site_name,
            mail_from=settings.mail_from,
            paper_title=paper.paper.title,
            comment_url=f"{settings.base_url.rstrip('/')}/papers/{paper.paper.arxiv_id}#comment-{comment.id}",
            commenter=comment.author_name,
            body=comment.body,
            is_reply=comment.is_reply,
            now=self.clock(),
        )
        try:
            with self.open_transport() as transport:
                transport.send(message)
        except DeliveryError as error:
            logging.getLogger("papertide.mail").warning("comment notice to a submitter not sent: %s", error)
            return False
        return True

    # --- mail and digests -------------------------------------------------------------------

    @cached_property
    def secret(self) -> str:
        """The signing key (read, or created under the data directory, on first use)."""
        return self.settings.secret()

    @cached_property
    def mail_site(self) -> MailSite:
        """Who the mails come from and where their links point."""
        settings = self.settings
        return MailSite(
            name=settings.site_name,
            base_url=settings.base_url,
            mail_from=settings.mail_from,
            secret=self.secret,
            postal_address=settings.postal_address,
            unsubscribe_address=settings.digest_unsubscribe_address,
            templates_dir=settings.templates_dir,
        )

    @cached_property
    def composer(self) -> MailComposer:
        """The composer of the web app's mails (confirmations, previews), kept for the process."""
        return MailComposer(self.mail_site)

    def new_composer(self) -> MailComposer:
        """A composer for one run: its caches live as long as the run."""
        return MailComposer(self.mail_site)

    def open_transport(self) -> MailTransport:
        """SMTP when a URL is configured, else the file outbox."""
        return self.transports()

    def topic_matcher(self) -> SearchTopicMatcher:
        """Free-text topics matched by the search service (by meaning and by words) among a run's candidates."""
        # Imported here: numpy and the vector index load only in processes that need them.
        from papertide.search.topics import TopicSearch

        return make_topic_matcher(self.search.search_ids, TopicSearch(self.search))

    def run_digest(self, *, now: dt.datetime | None = None, progress: DigestProgress | None = None) -> DigestReport:
        """Send every digest due at ``now`` (default: the clock); the same run for cron and the scheduler."""
        return run_digest_job(
            self.engine,
            self.transports,
            self.new_composer(),
            now=now,
            policy=self.digest_policy,
            matcher=self.topic_matcher(),
            progress=progress,
        )

    # --- scheduled jobs ---------------------------------------------------------------------

    def scheduled_jobs(self, *, on_changed: ChangeHook | None = None) -> list[Job]:
        """Every job the settings switch on (an interval of 0 minutes switches one off).

        :param on_changed: what ingest jobs call with changed paper ids; default: index them.
        """
        settings = self.settings
        hook = on_changed or self.index_changed
        intervals = {
            "arxiv-api": settings.ingest_schedule_arxiv_api_minutes,
            "oai": settings.ingest_schedule_oai_minutes,
            "hf-daily": settings.ingest_schedule_hf_daily_minutes,
        }
        jobs = [
            ingest_job(name, dt.timedelta(minutes=minutes), self.engine, self.sources, hook)
            for name, minutes in intervals.items()
            if minutes
        ]
        if settings.digest_schedule_minutes:
            # The digest run is idempotent: each run sends what became due since the last (issue 6).
            jobs.append(Job(DIGEST_JOB, dt.timedelta(minutes=settings.digest_schedule_minutes), self._digest_job))
        return jobs

    def _digest_job(self, stop: threading.Event) -> JobResult:
        report = self.run_digest(now=self.clock())
        return JobResult(report.failure is None, report.failure or report.summary())

    def make_scheduler(self) -> Scheduler:
        """The scheduler `papertide serve` starts with the web app (not started here)."""
        return Scheduler(
            self.engine,
            self.scheduled_jobs(),
            poll_s=self.settings.scheduler_poll_s,
            lease=dt.timedelta(seconds=self.settings.scheduler_lease_s),
        )

    def close(self) -> None:
        """Close the database connections and give up writing the host's vector snapshots.

        The objects stay usable: the pool reopens on use, and the semantic searcher takes the
        writer's place again if nobody else has (search/election.py).
        """
        if self._semantic is not None:
            self._semantic.close()
        self.engine.dispose()


# --- settings as the layers below take them ---------------------------------------------------


def search_options(settings: Settings) -> SearchOptions:
    """The search settings as the search layer takes them."""
    return SearchOptions(
        field_weights=FieldWeights(title=settings.search_title_weight, authors=settings.search_authors_weight),
        fusion=settings.search_fusion,
        fusion_k=settings.search_fusion_k,
        lexical_weight=settings.search_lexical_weight,
        semantic_weight=settings.search_semantic_weight,
        fusion_depth=settings.search_fusion_depth,
        max_results=settings.search_max_results,
        sort_pool=settings.search_sort_pool,
        candidate_limit=settings.search_candidate_limit,
        similarity_floor=settings.search_similarity_floor,
    )


def open_semantic_searcher(settings: Settings, engine: Engine) -> SemanticSearcher:
    """A semantic searcher for the configured model, backend and data directory (see Services.semantic)."""
    # Imported here: numpy and the vector index load only in processes that need them.
    from papertide.search.semantic.searcher import model_cache_for, open_semantic, vector_directory_for

    return open_semantic(
        engine,
        vector_directory_for(settings.data_dir),
        model=settings.embedding_model,
        backend=settings.embedding_backend,
        cache_dir=model_cache_for(settings.data_dir),
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
        index_config=index_config(settings),
        query_cache_size=settings.search_query_embedding_cache,
        allow_mismatch=True,
        bulk_backend=settings.embedding_bulk_backend,
    )


def index_config(settings: Settings) -> IndexConfig:
    """How the vector index is built and searched."""
    from papertide.search.semantic.index import IndexConfig

    return IndexConfig(
        kind=settings.vector_index,
        exact_limit=settings.vector_exact_limit,
        hnsw_m=settings.vector_hnsw_m,
        ef_construction=settings.vector_hnsw_ef_construction,
        ef_search=settings.vector_hnsw_ef_search,
        graph_cost_ratio=settings.vector_filter_graph_cost,
    )


def digest_policy(settings: Settings) -> DigestPolicy:
    """Scheduling, ranking, retry and bounce rules of a digest run."""
    return DigestPolicy(
        max_delay=dt.timedelta(hours=settings.digest_max_delay_hours),
        max_lookback=dt.timedelta(days=settings.digest_lookback_days),
        trending_gravity=settings.trending_gravity,
        trending_offset_hours=settings.trending_offset_hours,
        list_timezone=settings.list_timezone,
        topic_hits=settings.digest_topic_hits,
        max_attempts=settings.digest_max_attempts,
        retry_base=dt.timedelta(minutes=settings.digest_retry_minutes),
        bounce_limit=settings.digest_bounce_limit,
        claim_timeout=dt.timedelta(minutes=settings.digest_claim_timeout_minutes),
        # How long a sign-up may stay unconfirmed (and a confirmation link valid).
        pending_expiry=dt.timedelta(days=settings.digest_pending_days),
        undo_window=dt.timedelta(minutes=settings.digest_undo_unsubscribe_minutes),
        workers=settings.digest_workers,
    )


def signup_defaults(settings: Settings) -> Preferences:
    """Preferences a new subscriber starts with."""
    return Preferences(
        frequency="daily",
        hour=settings.digest_default_hour,
        timezone=settings.digest_default_timezone,
        size=settings.digest_default_size,
    )


def signup_limits(settings: Settings) -> SignupLimits:
    """How many confirmation mails an address and a client may cause."""
    return SignupLimits(
        per_address=settings.digest_confirmations_per_address,
        per_client=settings.digest_confirmations_per_client,
        window=dt.timedelta(minutes=settings.digest_confirmation_window_minutes),
    )


def source_config(settings: Settings) -> SourceConfig:
    """The network sources' configuration (shared by `papertide ingest` and the scheduler)."""
    return SourceConfig(
        politeness=Politeness(
            user_agent=settings.ingest_user_agent,
            spacing_s=settings.ingest_request_spacing_s,
            timeout_s=settings.ingest_timeout_s,
            retries=settings.ingest_retries,
            backoff_s=settings.ingest_backoff_s,
            max_wait_s=settings.ingest_max_wait_s,
        ),
        arxiv_api_url=settings.ingest_arxiv_api_url,
        arxiv_oai_url=settings.ingest_oai_url,
        hf_daily_url=settings.ingest_hf_daily_url,
        arxiv_api_query=settings.ingest_arxiv_api_query,
        arxiv_api_max=settings.ingest_arxiv_api_max,
        arxiv_api_page_size=settings.ingest_arxiv_api_page_size,
        oai_set=settings.ingest_oai_set or None,
        oai_prefix=settings.ingest_oai_prefix,
        hf_daily_days=settings.ingest_hf_daily_days,
    )


def community_policy(settings: Settings) -> CommunityPolicy:
    """Rate limits, the new-member rules and sizes of discussion, collections and follows."""
    window = dt.timedelta(minutes=settings.community_rate_window_minutes)
    return CommunityPolicy(
        comments_per_window=settings.comments_per_member,
        comment_window=dt.timedelta(minutes=settings.comment_rate_window_minutes),
        reactions_per_window=settings.community_actions_per_member,
        reports_per_window=settings.comment_reports_per_member,
        collection_actions_per_window=settings.community_actions_per_member,
        follows_per_window=settings.community_actions_per_member,
        action_window=window,
        new_member_days=settings.new_member_days,
        new_member_comments=settings.new_member_comments,
        new_member_links=settings.new_member_links,
        comment_max_length=settings.comment_max_length,
        collections_per_member=settings.collections_per_member,
        papers_per_collection=settings.papers_per_collection,
        follows_per_member=settings.follows_per_member,
    )


def submission_policy(settings: Settings) -> SubmissionPolicy:
    """How old a submitted paper may be, how many a member may submit, and which calendar decides "today"."""
    return SubmissionPolicy(
        max_age_days=settings.submit_max_age_days,
        per_member_per_day=settings.submit_per_member_per_day,
        list_timezone=settings.list_timezone,
    )


def submission_politeness(settings: Settings) -> Politeness:
    """How a submission's single arXiv request behaves: the ingest politeness, with one retry.

    A member is waiting on the page, so a submission does not wait through the full back-off.
    """
    return Politeness(
        user_agent=settings.ingest_user_agent,
        spacing_s=settings.ingest_request_spacing_s,
        timeout_s=min(settings.ingest_timeout_s, 15.0),
        retries=1,
        backoff_s=min(settings.ingest_backoff_s, 3.0),
        max_wait_s=10.0,
    )
