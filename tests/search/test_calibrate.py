"""Choosing the similarity floor: the highest floor that costs no nDCG@10 and removes few relevant documents."""

from __future__ import annotations

from papertide.search.calibrate import Observation, RankedDoc, apply_floor, calibrate_floor, score_floor


def observation(*ranking: tuple[str, bool, float | None], relevant: dict[str, int]) -> Observation:
    similarities = tuple(score for doc, _, score in ranking if doc in relevant and score is not None)
    return Observation(
        ranking=tuple(RankedDoc(doc, by_words, score) for doc, by_words, score in ranking),
        relevance=relevant,
        relevant_similarities=similarities,
    )


def test_the_floor_removes_only_results_found_by_meaning_alone_below_it() -> None:
    ranking = [
        RankedDoc("a", True, 0.1),
        RankedDoc("b", False, 0.5),
        RankedDoc("c", False, 0.2),
        RankedDoc("d", True, None),
    ]
    assert apply_floor(ranking, 0.3) == ["a", "b", "d"]
    assert apply_floor(ranking, -1.0) == ["a", "b", "c", "d"]


def test_the_chosen_floor_is_the_highest_that_keeps_ndcg_and_the_relevant_documents() -> None:
    observations = [
        # Junk found by meaning only at 0.2 and 0.3 sits above the relevant word match: a floor helps.
        observation(("junk1", False, 0.2), ("junk2", False, 0.3), ("rel1", True, 0.1), relevant={"rel1": 1}),
        # A relevant paper found by meaning only at 0.45: a floor above it removes it.
        observation(("rel2", False, 0.45), ("junk3", False, 0.25), relevant={"rel2": 1}),
    ]
    calibration = calibrate_floor(observations, grid=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], max_relevant_below=1.0)
    assert calibration.chosen == 0.4
    rows = {row.floor: row for row in calibration.rows}
    assert rows[0.4].ndcg_at_10 > calibration.baseline_ndcg
    assert rows[0.5].relevant_removed == 0.5
    assert score_floor(observations, 0.4).kept_per_query == 1.0


def test_the_first_floor_that_costs_ndcg_ends_the_search() -> None:
    observations = [
        observation(("rel", False, 0.25), ("x", True, 0.1), relevant={"rel": 1}),
        observation(("y", False, 0.35), ("rel2", True, 0.9), relevant={"rel2": 1}),
    ]
    calibration = calibrate_floor(observations, grid=[0.0, 0.2, 0.3, 0.4], max_relevant_removed=1.0)
    assert calibration.chosen == 0.2


def test_the_floor_stops_where_meaning_only_search_would_lose_too_many_relevant_documents() -> None:
    observations = [
        # The relevant paper is a word match (hybrid keeps it), but its similarity is only 0.25:
        # meaning-only search, which holds every hit to the floor, would lose it above 0.25.
        observation(("junk", False, 0.3), ("rel", True, 0.25), relevant={"rel": 1}),
        observation(("rel2", True, 0.9), relevant={"rel2": 1}),
    ]
    calibration = calibrate_floor(observations, grid=[0.0, 0.2, 0.3, 0.4], max_relevant_below=0.1)
    assert calibration.chosen == 0.2
    assert calibrate_floor(observations, grid=[0.0, 0.2, 0.3, 0.4], max_relevant_below=1.0).chosen == 0.4
