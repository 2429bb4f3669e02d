"""annotation's services (writes), split by sub-domain."""
