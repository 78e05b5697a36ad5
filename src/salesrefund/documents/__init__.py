"""Credit-note documents: pure functions from a ``CreditNoteRecord`` to bytes (UBL XML, PDF)."""
