"""Parlance dialogue: the voice surface's conversation parts, with no web framework.

Nothing here imports Django, Channels or the WebSocket protocol; the voice surface adapts
these parts to the NextEVI wire format. `responders` turns the conversation into the
assistant's reply, streamed as text deltas (`turns` holds what they are given,
`offline_responder` the default); `speech` speaks it (piper, clause by clause,
24 kHz); `barge_in` follows what the listener has heard and judges speech over the
reply; `call` runs one call's turns with all three. See docs/dialogue.md.
"""
