"""The five seed dialects (issue 3): each turns its request into the same ``IssueRefund`` command
and renders the result or error in its own document's shape. No business rule lives here."""
