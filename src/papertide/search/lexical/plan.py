"""Turning a parsed SearchQuery into tantivy queries, with a readable description of each.

Built apart from running it so that tests can check the plan as a string and
``papertide search --explain`` can print what the index is asked.

Shape of a plan (Lucene notation, as ``describe`` prints it):
- every free word is a SHOULD clause over the text (title and abstract), the title alone
  (boosted, so a title match counts more than an abstract match) and the authors, so
  documents are ranked by BM25 summed over fields and any word may match (block-max WAND
  keeps that fast on large indexes);
- every phrase is a MUST clause: the phrase in the text, the title or the authors;
- filters (authors, categories, dates) are MUST clauses with a constant score of 0, so they
  narrow the results without changing their order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import tantivy

from papertide.domain.errors import InvalidQuery
from papertide.domain.query import SearchQuery
from papertide.search.lexical.analyzer import (
    FIELD_AUTHORS,
    FIELD_CATEGORY,
    FIELD_PAPER_ID,
    FIELD_PUBLISHED,
    FIELD_TEXT,
    FIELD_TITLE,
    NAME_ANALYZER,
    TEXT_ANALYZER,
    build_analyzer,
)

Clause = tuple[tantivy.Occur, tantivy.Query]


@dataclass(frozen=True, slots=True)
class FieldWeights:
    """BM25 boosts per field. The title is also part of the text, so a title word scores ``text + title``."""

    text: float = 1.0
    title: float = 0.3
    authors: float = 1.0


@dataclass(frozen=True, slots=True)
class LexicalPlan:
    """The queries one search runs against the lexical index."""

    # Ranked query: free words scored, phrases and filters required. None: nothing to rank by.
    ranked: tantivy.Query | None
    # Only what every result must satisfy (phrases and filters), constant-scored. None: no constraint.
    required: tantivy.Query | None
    description: str
    required_description: str
    # The (field, term) pairs of the free words: their document frequencies bound the match count.
    terms: tuple[tuple[str, str], ...] = ()
    # Names ``required`` for caching the papers it allows (search/allowed.py); None: not cacheable.
    required_key: str | None = None
    # The free words alone, ranked as ``ranked`` ranks them, when ``required`` holds filters only (no
    # phrase, no given papers): ``ranked``'s hits are exactly its hits that pass (lexical/broad.py).
    words: tantivy.Query | None = None


class _Analyzers:
    """The two analyzers, built once per process (the index registers the same configuration)."""

    text = build_analyzer(TEXT_ANALYZER)
    names = build_analyzer(NAME_ANALYZER)


def _positioned(analyzer: tantivy.TextAnalyzer, text: str) -> list[tuple[int, str]]:
    """Terms with their positions relative to the first, so phrases keep gaps of dropped stop words."""
    tokens = analyzer.pre_tokenize(text).tokens
    if not tokens:
        return []
    first = tokens[0].position
    return [(token.position - first, token.text) for token in tokens]


def _phrase_or_term(
    schema: tantivy.Schema, field: str, terms: list[tuple[int, str]], boost: float
) -> tuple[tantivy.Query, str]:
    if len(terms) == 1:
        query = tantivy.Query.term_query(schema, field, terms[0][1])
        text = f"{field}:{terms[0][1]}"
    else:
        query = tantivy.Query.phrase_query(schema, field, list(terms))
        text = f'{field}:"{_render_phrase(terms)}"'
    if boost != 1.0:
        return tantivy.Query.boost_query(query, boost), f"{text}^{boost:g}"
    return query, text


def _render_phrase(terms: list[tuple[int, str]]) -> str:
    rendered: list[str] = []
    expected = 0
    for position, term in terms:
        rendered.extend("_" for _ in range(position - expected))
        rendered.append(term)
        expected = position + 1
    return " ".join(rendered)


def _word_clauses(
    schema: tantivy.Schema, query: SearchQuery, weights: FieldWeights
) -> tuple[list[Clause], list[str], list[tuple[str, str]]]:
    clauses: list[Clause] = []
    described: list[str] = []
    seen: set[tuple[str, str]] = set()
    for word in query.words:
        text_terms = _Analyzers.text.analyze(word)
        if not text_terms:
            # A stop word: it would only match author initials and names such as "An".
            continue
        name_terms = [term for term in _Analyzers.names.analyze(word) if len(term) > 1]
        targets = [
            (FIELD_TEXT, text_terms, weights.text),
            (FIELD_TITLE, text_terms, weights.title),
            (FIELD_AUTHORS, name_terms, weights.authors),
        ]
        for field, terms, boost in targets:
            if boost <= 0:
                continue
            for term in terms:
                if (field, term) in seen:
                    continue
                seen.add((field, term))
                term_query, text = _phrase_or_term(schema, field, [(0, term)], boost)
                clauses.append((tantivy.Occur.Should, term_query))
                described.append(text)
    return clauses, described, sorted(seen)


def _phrase_clause(schema: tantivy.Schema, phrase: str, weights: FieldWeights) -> tuple[tantivy.Query, str] | None:
    alternatives: list[tantivy.Query] = []
    described: list[str] = []
    targets = [
        (FIELD_TEXT, _Analyzers.text, weights.text),
        (FIELD_TITLE, _Analyzers.text, weights.title),
        (FIELD_AUTHORS, _Analyzers.names, weights.authors),
    ]
    for field, analyzer, boost in targets:
        terms = _positioned(analyzer, phrase)
        if not terms or boost <= 0:
            continue
        phrase_query, text = _phrase_or_term(schema, field, terms, boost)
        alternatives.append(phrase_query)
        described.append(text)
    if not alternatives:
        # Only stop words ("the"): nothing the index could require.
        return None
    combined = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in alternatives])
    return combined, "(" + " ".join(described) + ")"


def _filter_clauses(schema: tantivy.Schema, query: SearchQuery) -> tuple[list[tantivy.Query], list[str]]:
    filters: list[tantivy.Query] = []
    described: list[str] = []
    for author in query.authors:
        terms = _positioned(_Analyzers.names, author)
        if not terms:
            # Dropping the filter would widen the search the person narrowed (issue 9: author:-).
            raise InvalidQuery(
                f'author:{author!r} has no letters or digits to match a name; give a name such as author:"Ada Lovelace"'
            )
        author_query, text = _phrase_or_term(schema, FIELD_AUTHORS, terms, 1.0)
        filters.append(author_query)
        described.append(text)
    if query.categories:
        values = list(dict.fromkeys(c.lower() for c in query.categories))
        # One category as a term query: its postings are read lazily where the words match, where a
        # term set marks every paper of the category first (cat:cs.LG at 1 M papers: 15 % less CPU).
        if len(values) == 1:
            filters.append(tantivy.Query.term_query(schema, FIELD_CATEGORY, values[0]))
        else:
            filters.append(tantivy.Query.term_set_query(schema, FIELD_CATEGORY, values))
        described.append(f"{FIELD_CATEGORY}:({' OR '.join(values)})")
    if query.since or query.until:
        filters.append(
            tantivy.Query.range_query(
                schema,
                FIELD_PUBLISHED,
                tantivy.FieldType.Integer,
                lower_bound=query.since.toordinal() if query.since else None,
                upper_bound=query.until.toordinal() if query.until else None,
                # The posting lists of the days in range: counted several times faster than a
                # scan of the fast field at a million papers.
                use_inverted_index=True,
            )
        )
        low = query.since.isoformat() if query.since else "*"
        high = query.until.isoformat() if query.until else "*"
        described.append(f"{FIELD_PUBLISHED}:[{low} TO {high}]")
    return filters, described


def compose_lexical_plan(schema: tantivy.Schema, query: SearchQuery, weights: FieldWeights) -> LexicalPlan:
    """The ranked and the required-only query for ``query``; raises InvalidQuery for a filter that cannot match."""
    should, should_text, terms = _word_clauses(schema, query, weights)
    must: list[tantivy.Query] = []
    must_text: list[str] = []
    for phrase in query.phrases:
        built = _phrase_clause(schema, phrase, weights)
        if built is not None:
            must.append(built[0])
            must_text.append(built[1])
    filters, filter_text = _filter_clauses(schema, query)
    constant = [tantivy.Query.const_score_query(f, 0.0) for f in filters]
    required_parts = [tantivy.Query.const_score_query(m, 0.0) for m in must] + constant
    required = (
        tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in required_parts]) if required_parts else None
    )
    required_description = " ".join(f"+{text}" for text in must_text + filter_text)
    ranked: tantivy.Query | None = None
    words: tantivy.Query | None = None
    if should and constant and not must:
        # The filters score 0: the words' scores, and so their order, are the same with or without them.
        words = tantivy.Query.boolean_query(list(should))
    if should or must:
        clauses: list[Clause] = list(should)
        clauses += [(tantivy.Occur.Must, q) for q in must + constant]
        # Beside MUST clauses, SHOULD clauses turn optional: without a phrase, at least one
        # word has to match, or a filter alone would return every paper it lets through.
        minimum = 1 if should and constant and not must else None
        ranked = tantivy.Query.boolean_query(clauses, minimum_number_should_match=minimum)
    description = " ".join([*should_text, *(f"+{text}" for text in must_text + filter_text)])
    return LexicalPlan(
        ranked=ranked,
        required=required,
        description=description,
        required_description=required_description,
        terms=tuple(terms),
        required_key=required_description if required is not None else None,
        words=words,
    )


def restrict_plan(schema: tantivy.Schema, plan: LexicalPlan, paper_ids: Collection[int]) -> LexicalPlan:
    """``plan`` limited to the papers ``paper_ids`` (a constant-scored id filter, so ranking is unchanged).

    The digest matches topics against its candidate papers this way: semantic search then gets
    the ids as its candidates, and the words are ranked among them alone.
    """
    ids = tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(schema, FIELD_PAPER_ID, i)) for i in sorted(paper_ids)]
    )
    within = tantivy.Query.const_score_query(ids, 0.0)
    required = within if plan.required is None else _both(plan.required, within)
    ranked = None if plan.ranked is None else _both(plan.ranked, within)
    described = f"+paper_id:({len(paper_ids)} ids)"
    return replace(
        plan,
        ranked=ranked,
        required=required,
        description=f"{plan.description} {described}".strip(),
        required_description=f"{plan.required_description} {described}".strip(),
        # The description does not name the ids, so it cannot name a cached answer.
        required_key=None,
        words=None,
    )


def _both(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, first), (tantivy.Occur.Must, second)])
