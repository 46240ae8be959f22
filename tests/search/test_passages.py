"""How papers are cut into title-prefixed passages and pooled back into one vector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from papertide.search.semantic.passages import (
    MAX_PASSAGES,
    compose_passages,
    compose_text_hash,
    pack_sentences,
    pool_passages,
    split_sentences,
)


def count_words(texts: Sequence[str]) -> list[int]:
    """A stand-in tokenizer: one token per word."""
    return [len(text.split()) for text in texts]


def test_sentences_split_after_full_stops_before_capitals_and_digits() -> None:
    text = "We study flows. 3 cases are shown! Is it new? yes, e.g. this stays. (Brackets) too."
    assert split_sentences(text) == [
        "We study flows.",
        "3 cases are shown!",
        "Is it new? yes, e.g. this stays.",
        "(Brackets) too.",
    ]


def test_packed_chunks_never_exceed_the_budget_and_keep_every_sentence() -> None:
    sentences = [f"s{i} " + "w " * n for i, n in enumerate([3, 5, 2, 7, 1, 4])]
    chunks = pack_sentences(sentences, count_words(sentences), budget=10)
    assert all(size <= 10 for _, size in chunks)
    assert " ".join(text for text, _ in chunks).split() == " ".join(sentences).split()


def test_a_sentence_longer_than_the_budget_is_cut_into_word_runs() -> None:
    sentence = " ".join(f"w{i}" for i in range(25))
    chunks = pack_sentences([sentence], [25], budget=10)
    assert len(chunks) == 3
    assert " ".join(text for text, _ in chunks) == sentence


def test_every_passage_starts_with_the_title_and_weighs_its_tokens() -> None:
    abstract = " ".join(f"Sentence number {i} has six words." for i in range(40))
    passages = compose_passages("Neural flows", abstract, count_words, max_tokens=80)
    assert len(passages) > 1
    assert all(p.text.startswith("Neural flows ") for p in passages)
    assert all(p.weight == len(p.text.split()) for p in passages)
    assert all(p.weight <= 80 for p in passages)
    body = " ".join(p.text.removeprefix("Neural flows ") for p in passages)
    assert body == abstract


def test_a_short_abstract_is_one_passage_and_a_missing_one_is_the_title() -> None:
    assert [p.text for p in compose_passages("T", "One sentence.", count_words, 256)] == ["T One sentence."]
    assert [p.text for p in compose_passages("Only a title", "", count_words, 256)] == ["Only a title"]


def test_passages_per_paper_are_capped() -> None:
    abstract = " ".join(f"Sentence {i} is here." for i in range(2000))
    assert len(compose_passages("T", abstract, count_words, max_tokens=70)) == MAX_PASSAGES


def test_pooling_is_the_token_weighted_mean_normalised() -> None:
    vectors = np.array([[1, 0], [0, 1], [0, 1]], dtype=np.float32)
    pooled = pool_passages(vectors, weights=[3, 1, 5], owners=[0, 0, 1], count=2)
    expected = np.array([3, 1], dtype=np.float32) / np.sqrt(10)
    np.testing.assert_allclose(pooled[0], expected, rtol=1e-6)
    np.testing.assert_allclose(pooled[1], [0, 1])


def test_text_hash_tells_title_from_abstract() -> None:
    assert compose_text_hash("a", "b") != compose_text_hash("ab", "")
    assert compose_text_hash("a", "b") == compose_text_hash("a", "b")
