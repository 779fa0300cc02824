"""Typed SQLAlchemy models of the three databases, one module (and one MetaData) each."""
