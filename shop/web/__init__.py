"""The web layer: every public blueprint, and what views share (responses, templating, access)."""
