"""The voice interface (NextEVI-compatible): `/ws/voice/{connection_id}`."""
