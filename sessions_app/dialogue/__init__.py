"""Parlance dialogue: the voice surface's conversation parts, with no web framework.

Nothing here imports Django, Channels or the WebSocket protocol; the voice surface adapts
these parts to the NextEVI wire format. `responders` turns the conversation into the
assistant's reply, streamed as text deltas. See docs/dialogue.md.
"""
