"""Use cases over the domain and the store; the unit of work is the only place that commits."""
