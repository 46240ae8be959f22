"""The query vectors of digest topics, kept between runs (issue 13).

A daily digest run matches every distinct free-text topic its subscribers follow, and embedding
one costs ~2.6 ms of CPU: ~3,000 topics at 100,000 subscribers, the same ones every day. The
first run that embeds a topic stores its vector here; later runs read them in bulk.

Rows are keyed by the topic's words (``topic_words``) hashed, so the table holds no topic text,
and by the vector space: a hash of the model's identity (search/topics.py), so one model's
vectors are never read for another. A vector is derived from its followers' text all the same:
erasing a subscriber, or changing a subscriber's topics, deletes the vectors of the topics they
followed that no other subscriber follows (``forget_topic_vectors``), in the caller's transaction.
A reindex (``papertide reindex``: the model changed, perhaps under the same name or path) deletes
them all (``delete_all_topic_vectors``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, Text, cast, delete, or_, select

from papertide.domain.subscribers import Topics, topic_words
from papertide.store.any_of import any_of
from papertide.store.dialect import insert_for
from papertide.store.schema import subscribers, topic_vectors

# Keys per statement: SQLite's expanding IN list stays well under its parameter limit.
_CHUNK = 5000
# An ASCII word of a topic, found literally in the stored JSON whatever its case (json escapes only
# other characters): narrows the subscribers read to check who else follows a topic.
_PROBE = re.compile(r"[A-Za-z0-9]+")


def topic_vector_key(words: str) -> str:
    """The key a topic's vector is stored under: a hash of its words, not the words."""
    # surrogatepass: words stored by an older version may hold a lone surrogate (tests/web
    # test_hostile_input); any str has bytes this way, and the same ones every time.
    return hashlib.sha256(words.encode("utf-8", "surrogatepass")).hexdigest()


def read_topic_vectors(conn: Connection, space: str, keys: Sequence[str]) -> dict[str, bytes]:
    """The stored vectors of those ``keys`` that have one in ``space``, by key."""
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        statement = select(topic_vectors.c.topic, topic_vectors.c.vector).where(
            topic_vectors.c.space == space, any_of(conn, topic_vectors.c.topic, chunk)
        )
        for key, vector in conn.execute(statement):
            found[key] = bytes(vector)
    return found


def write_topic_vectors(conn: Connection, space: str, vectors: Mapping[str, bytes], now: dt.datetime) -> None:
    """Store vectors by key in ``space``, in one statement; a key already there gets the new vector.

    Two runs embedding the same topic at once both write it, the last one wins (the same model
    makes the same vector); a stored vector of the wrong width (read as missing) is replaced.
    """
    if not vectors:
        return
    statement = insert_for(conn, topic_vectors)
    statement = statement.on_conflict_do_update(
        index_elements=[topic_vectors.c.topic, topic_vectors.c.space],
        set_={"vector": statement.excluded.vector, "created_at": statement.excluded.created_at},
    )
    rows = [{"topic": key, "space": space, "vector": vector, "created_at": now} for key, vector in vectors.items()]
    conn.execute(statement, rows)


def forget_topic_vectors(conn: Connection, phrases: Iterable[str]) -> int:
    """Delete the stored vectors (every space) of those ``phrases`` no subscriber follows now; how many.

    Called after the subscribers who followed them were deleted or changed their topics, in the
    same transaction. Those subscribers that may follow one of the phrases are read by a word of
    it (a LIKE on the stored topics), then compared exactly; a phrase with no ASCII word reads
    every subscriber's topics.
    """
    wanted = {words for phrase in phrases if (words := topic_words(phrase))}
    if not wanted:
        return 0
    probes = {max(_PROBE.findall(words), key=len, default="") for words in wanted}
    statement = select(subscribers.c.topics)
    if "" not in probes:
        stored = cast(subscribers.c.topics, Text)
        statement = statement.where(or_(*(stored.ilike(f"%{probe}%") for probe in sorted(probes))))
    for (value,) in conn.execute(statement):
        wanted -= {topic_words(phrase) for phrase in Topics.from_json(value).phrases}
        if not wanted:
            return 0
    keys = sorted(topic_vector_key(words) for words in wanted)
    deleted = 0
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        deleted += int(conn.execute(delete(topic_vectors).where(any_of(conn, topic_vectors.c.topic, chunk))).rowcount)
    return deleted


def delete_all_topic_vectors(conn: Connection) -> int:
    """Forget every stored topic vector (a reindex: the model may have changed under the same name); how many."""
    return int(conn.execute(delete(topic_vectors)).rowcount)
