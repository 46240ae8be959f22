"""Community services: discussion, moderation, collections, follows and member profiles (issue 11).

The same layer as ingest and digest: it may use store, search, mail and domain, never ingest
or digest. Submitting a paper needs the arXiv client, so it lives in ingest/submission.py and
the web layer calls it.
"""
