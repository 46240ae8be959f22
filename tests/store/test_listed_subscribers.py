"""``list_subscribers`` reads the stored topics as text and parses each distinct text once (issue 13)."""

from __future__ import annotations

from sqlalchemy import Engine, update

from papertide.domain.subscribers import Topics
from papertide.store.engine import begin_write
from papertide.store.schema import subscribers
from papertide.store.subscribers import get_subscriber, list_subscribers
from tests.digest.digest_data import add_subscriber


def test_listed_subscribers_have_the_topics_they_stored_and_the_same_topics_are_one_value(engine: Engine) -> None:
    followed = Topics(categories=("cs.LG", "math.OC"), authors=("Émile Borel",), phrases=('neural "ODEs": 2nd',))
    other = Topics(phrases=("graph neural networks",))
    same = [add_subscriber(engine, f"same{n}@example.org", topics=followed) for n in range(3)]
    different = add_subscriber(engine, "other@example.org", topics=other)
    nothing = add_subscriber(engine, "nothing@example.org")
    with engine.connect() as conn:
        listed = {s.id: s for s in list_subscribers(conn, statuses=["confirmed"])}
        # A subscriber read alone (select(subscribers), the JSON type's parsed value) is the same subscriber.
        alone = {s.id: get_subscriber(conn, s.id) for s in [*same, different, nothing]}
    assert [listed[s.id].preferences.topics for s in same] == [followed] * 3
    assert listed[different.id].preferences.topics == other
    assert listed[nothing.id].preferences.topics == Topics()
    assert listed == alone
    first, *rest = (listed[s.id].preferences.topics for s in same)
    assert all(topics is first for topics in rest)


def test_stored_topics_of_an_unexpected_shape_read_as_following_nothing(engine: Engine) -> None:
    # Topics are written by the product as an object; a hand-edited row holding a list or null follows nothing.
    odd = add_subscriber(engine, "odd@example.org")
    null = add_subscriber(engine, "null@example.org")
    with begin_write(engine) as conn:
        conn.execute(update(subscribers).where(subscribers.c.id == odd.id).values(topics=["cs.LG"]))
        conn.execute(update(subscribers).where(subscribers.c.id == null.id).values(topics=None))
    with engine.connect() as conn:
        listed = {s.id: s.preferences.topics for s in list_subscribers(conn)}
    assert listed == {odd.id: Topics(), null.id: Topics()}
