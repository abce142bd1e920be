from __future__ import annotations

from sessions_app.agents import ConversationTracker


def _categories(make_utt, *turns: tuple[str, str]) -> list[set[str]]:
    tracker = ConversationTracker("m")
    return [
        {m.category for m in tracker.add_utterance(make_utt(text, speaker)).moments}
        for speaker, text in turns
    ]


def test_yes_lets_sign_the_contract_today_is_a_commitment_moment(make_utt):
    (cats,) = _categories(make_utt, ("Speaker_1", "yes, let's sign the contract today"))
    assert cats & {"commitment", "cta_commit"}


def test_question_is_a_question_moment(make_utt):
    cats = _categories(
        make_utt,
        ("Speaker_0", "What does the premium plan include?"),
        ("Speaker_1", "can you send me the invoice"),  # ASR-style, no punctuation
    )
    assert all("question" in c for c in cats)


def test_statement_is_not_a_question(make_utt):
    (cats,) = _categories(make_utt, ("Speaker_0", "The invoice was sent on Monday."))
    assert "question" not in cats


def test_negated_commitment_is_not_a_commitment(make_utt):
    (cats,) = _categories(make_utt, ("Speaker_1", "No, we won't sign the contract this year."))
    assert not cats & {"commitment", "cta_commit"}
    assert "objection" in cats


def test_price_hesitation_is_an_objection(make_utt):
    (cats,) = _categories(make_utt, ("Speaker_1", "Hmm, I'm not sure, it seems too expensive."))
    assert "objection" in cats


def test_angry_complaint_then_thanks_is_complaint_then_resolution(make_utt):
    cats = _categories(
        make_utt,
        ("Speaker_1", "This is ridiculous, my order arrived broken again!"),
        ("Speaker_0", "I'm sorry. I've sent a replacement, it arrives tomorrow."),
        ("Speaker_1", "Thank you, I really appreciate that, problem solved."),
    )
    assert "complaint" in cats[0]
    assert "resolution" in cats[2]


def test_thanks_without_an_earlier_problem_is_not_a_resolution(make_utt):
    (cats,) = _categories(make_utt, ("Speaker_1", "Thanks, I appreciate your time."))
    assert "resolution" not in cats


def test_manager_demand_is_an_escalation(make_utt):
    cats = _categories(
        make_utt,
        ("Speaker_1", "My internet is still not working and it's frustrating."),
        ("Speaker_1", "I want to speak to your manager right now, I'm fed up!"),
    )
    assert "escalation" in cats[1]


def test_topic_shift_cue_is_a_topic_shift(make_utt):
    cats = _categories(
        make_utt,
        ("Speaker_0", "So the migration finishes on Friday."),
        ("Speaker_1", "Great. By the way, how is the new office?"),
    )
    assert "topic_shift" in cats[1]
