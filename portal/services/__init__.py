"""Use cases: ``verb_noun(actor, obj, data)``. Services flush, never commit; they raise DomainError."""
