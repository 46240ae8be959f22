"""The semantic side of search: papers embedded with a sentence model, nearest neighbours by cosine.

``model`` (the embedding protocol, where a model comes from, its errors), the backends ``onnx``
and ``torch``, ``embedder`` (picks a backend, embeds papers as ``passages``), ``vectors`` (the
``paper_vectors`` table), ``index`` and ``snapshot`` (the vector index beside the database and
its saved copy), ``searcher`` (SemanticSearcher), ``sample`` (the bundled sample's vectors) and
``shared`` (one searcher per process).
"""
