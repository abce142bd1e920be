"""Barge-in: a cough or "uh-huh" leaves the reply playing; talking over it stops it."""

from sessions_app.dialogue.barge_in import BargeInGuard, Playback, words_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_playback_hears_in_real_time_from_the_first_chunk_capped_by_what_was_sent():
    clock = Clock()
    playback = Playback(clock)
    assert not playback.playing() and playback.heard_seconds() == 0.0
    playback.sent(0.2, "Thanks for calling.")
    playback.sent(0.2)
    clock.now += 0.1
    assert abs(playback.heard_seconds() - 0.1) < 1e-9
    assert abs(playback.lead() - 0.3) < 1e-9 and playback.playing()
    clock.now += 5
    assert playback.heard_seconds() == 0.4 and playback.lead() == 0.0
    assert not playback.playing()  # all of it was played


def test_heard_text_is_the_reply_truncated_to_what_was_played():
    clock = Clock()
    playback = Playback(clock)
    playback.sent(1.0, "Thanks for calling.")
    playback.sent(2.0, "How can I help you today?")
    clock.now += 1.0 + 1.0  # the first clause and half of the second
    assert playback.heard_text() == "Thanks for calling. How can I"
    clock.now += 10
    assert playback.heard_text() == "Thanks for calling. How can I help you today?"


def test_nothing_is_judged_without_a_speech_start():
    assert not BargeInGuard().interrupts(audio_time=9.0, text="stop right there", reply_heard="")


def test_a_short_cough_does_not_interrupt():
    guard = BargeInGuard(threshold=0.5)
    guard.speech_started(10.0)
    assert not guard.interrupts(audio_time=10.3, text="", reply_heard="Let me check that")


def test_sustained_speech_interrupts_before_any_word_is_recognised():
    guard = BargeInGuard(threshold=0.5)
    guard.speech_started(10.0)
    assert guard.interrupts(audio_time=10.55, text="", reply_heard="Let me check that")


def test_a_backchannel_does_not_interrupt_however_long():
    guard = BargeInGuard(threshold=0.5)
    guard.speech_started(10.0)
    for text in ("uh-huh", "Yeah, okay.", "mm-hmm right"):
        assert not guard.interrupts(audio_time=11.2, text=text, reply_heard="Your order shipped")


def test_two_words_that_are_not_backchannels_interrupt_at_once():
    guard = BargeInGuard(threshold=0.5)
    guard.speech_started(10.0)
    assert guard.interrupts(audio_time=10.2, text="wait, actually", reply_heard="Your order")


def test_the_replys_own_words_coming_back_do_not_interrupt():
    guard = BargeInGuard(threshold=0.5)
    guard.speech_started(10.0)
    reply = "Your order shipped yesterday and arrives on Friday"
    assert not guard.interrupts(audio_time=11.0, text="arrives on Friday", reply_heard=reply)
    assert guard.interrupts(audio_time=11.0, text="no, cancel it", reply_heard=reply)


def test_the_judgement_ends_with_the_utterance():
    guard = BargeInGuard()
    guard.speech_started(10.0)
    guard.speech_ended()
    assert not guard.judging
    assert not guard.interrupts(audio_time=12.0, text="stop that now", reply_heard="")


def test_words_are_compared_without_case_or_punctuation():
    assert words_of("Uh-huh, OKAY. Don't!") == ["uhhuh", "okay", "dont"]
