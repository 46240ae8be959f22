"""The lexical side of search: BM25 over title, abstract and authors with tantivy.

``analyzer`` (schema and tokenizers), ``index`` (the index kept in step with the papers table),
``read`` (searching a loaded commit) and ``plan`` (a parsed query turned into a tantivy query).
"""
