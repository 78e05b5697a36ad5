"""HTTP: the app factory, auth, problem+json, the native API and (later) the seed dialects."""
