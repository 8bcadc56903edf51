"""The ledger on its own: ids, repeats, de-duplication, every limit in both modes, and what it
forgets (so memory stays flat) — no sockets, no store, no tuner."""

from __future__ import annotations

import pytest

from asyncnni import protocol
from asyncnni.dispatcher.ledger import NO_MORE, Ask, Ledger, Repeat
from asyncnni.errors import ProtocolError
from asyncnni.tuner import TrialOutcome


def ask(ledger: Ledger, job_id: str, index: int = 0):
    return ledger.new_trial(ledger.jobs[job_id], index)


def generated(decision: Ask, **params) -> Ask:
    decision.state.parameters = params or {"n": decision.state.parameter_id}
    decision.state.generated.set()
    return decision


def finish(ledger: Ledger, decision: Ask, value: float) -> None:
    assert ledger.final(decision.state, value, value)
    ledger.delivered(decision.state)


def test_ids_count_up_across_jobs_in_the_order_asked():
    ledger = Ledger()
    for job in ("a", "b"):
        ledger.register_job(job)
    assert [ask(ledger, job).state.parameter_id for job in ("b", "a")] == [0, 1]
    assert ledger.configurations == 2 and ledger.jobs_started == 2


def test_without_multi_phase_every_ask_is_the_first():
    ledger = Ledger()
    ledger.register_job("a")
    first = generated(ask(ledger, "a"))
    again = ask(ledger, "a", 3)
    assert isinstance(again, Repeat) and again.state is first.state and ledger.configurations == 1


def test_multi_phase_gives_one_configuration_per_index_and_refuses_skipping():
    ledger = Ledger(multi_phase=True)
    ledger.register_job("a")
    ids = [generated(ask(ledger, "a", i)).state.parameter_id for i in range(3)]
    assert ids == [0, 1, 2]
    assert ask(ledger, "a", 2).state.parameter_id == 2  # the latest, still held
    with pytest.raises(ProtocolError, match="skips ahead"):
        ask(ledger, "a", 5)


def test_a_repeated_report_is_seen_once():
    ledger = Ledger()
    ledger.register_job("a")
    state = generated(ask(ledger, "a")).state
    assert ledger.intermediate(state, 0, 0.1) and not ledger.intermediate(state, 0, 0.1)
    assert ledger.intermediate(state, 1, 0.2) and state.history == [0.1, 0.2]
    assert ledger.final(state, 0.9, 0.9) and not ledger.final(state, 0.5, 0.5)
    assert state.final_value == 0.9


def test_max_trial_jobs_counts_jobs_in_multi_phase_mode_too():
    ledger = Ledger(multi_phase=True, max_trial_jobs=2)
    for job in ("a", "b"):
        assert ledger.can_start_job()
        ledger.register_job(job)
        for i in range(5):
            generated(ask(ledger, job, i))
    assert not ledger.can_start_job() and ledger.configurations == 10 and not ledger.exhausted


@pytest.mark.parametrize("multi_phase", [False, True])
def test_max_configurations_answers_no_more_once_reached(multi_phase):
    ledger = Ledger(multi_phase=multi_phase, max_configurations=3)
    decisions = []
    for job in ("a", "b", "c", "d"):
        ledger.register_job(job)
        decisions.append(ask(ledger, job))
    assert [type(d) for d in decisions] == [Ask, Ask, Ask, type(NO_MORE)]
    assert ledger.exhausted and not ledger.can_start_job()


def test_a_configuration_the_tuner_did_not_produce_does_not_count_and_its_id_is_not_reused():
    ledger = Ledger(multi_phase=True, max_configurations=2)
    ledger.register_job("a")
    dropped = ask(ledger, "a").state
    ledger.dropped(dropped)
    assert ledger.configurations == 0 and dropped.outcome and not dropped.outcome.succeeded
    assert ask(ledger, "a", 0).state.parameter_id == 1


def test_in_multi_phase_mode_a_job_that_ends_before_asking_counts_as_a_configuration():
    ledger = Ledger(multi_phase=True, max_configurations=2)
    for job in ("a", "b"):
        ledger.register_job(job)
        ledger.job_ended(job)
    assert ledger.exhausted  # crashing workers cannot loop for ever


def test_messages_must_come_from_the_job_they_name():
    ledger = Ledger()
    ledger.register_job("a")
    assert ledger.job_from("a", b"a") is ledger.jobs["a"]
    for job, peer, message in [
        ("a", b"b", "peer 'b' may not speak for trial job 'a'"),
        ("x", b"x", "unknown trial job 'x'"),
    ]:
        with pytest.raises(ProtocolError, match=message) as raised:
            ledger.job_from(job, peer)
        assert raised.value.code == protocol.E_UNKNOWN_TRIAL
    ledger.job_ended("a")
    with pytest.raises(ProtocolError, match="trial job 'a' has ended"):
        ledger.job_from("a", b"a")
    with pytest.raises(ValueError, match="taken"):
        ledger.register_job("a")


def test_settled_parameter_sets_are_forgotten_as_a_job_moves_on():
    ledger = Ledger(multi_phase=True)
    ledger.register_job("a")
    for i in range(1000):
        finish(ledger, generated(ask(ledger, "a", i)), float(i))
    # only the job's latest set is held; the others are ids for the job's trial_end calls
    assert list(ledger.parameters) == [999]
    assert len(ledger.jobs["a"].finished) == 999
    job = ledger.job_ended("a")
    finished, states = ledger.settled(job)
    assert finished[:2] == [(0, 0), (1, 1)] and [s.parameter_id for s in states] == [999]
    ledger.forget(states[0])
    assert ledger.parameters == {} and ledger.jobs == {}


def test_a_set_without_a_result_stays_until_its_job_ends_and_its_failure_is_remembered():
    ledger = Ledger(multi_phase=True)
    ledger.register_job("a")
    unanswered = generated(ask(ledger, "a", 0)).state
    finish(ledger, generated(ask(ledger, "a", 1)), 1.0)
    generated(ask(ledger, "a", 2))
    assert unanswered.parameter_id in ledger.parameters  # a waiter on it must still wake
    finished, states = ledger.settled(ledger.job_ended("a"))
    assert finished == [(1, 1)] and [s.index for s in states] == [0, 2]
    unanswered.resolve(TrialOutcome(0, False, reason="job a ended FAILED"))
    ledger.forget(unanswered)
    assert ledger.failures == {0: "job a ended FAILED"}
    assert ledger.issued_before(0) and not ledger.issued_before(3)


def test_an_old_index_asked_again_after_it_was_forgotten_is_read_back_elsewhere():
    ledger = Ledger(multi_phase=True)
    ledger.register_job("a")
    finish(ledger, generated(ask(ledger, "a", 0)), 0.5)
    generated(ask(ledger, "a", 1))
    again = ask(ledger, "a", 0)
    assert isinstance(again, Repeat) and again.state is None and again.index == 0


def test_async_mode_makes_a_jobs_next_request_wait_for_its_last_result():
    ledger = Ledger(multi_phase=True, async_mode=True)
    ledger.register_job("a")
    first = generated(ask(ledger, "a", 0))
    assert ledger.final(first.state, 1.0, 1.0)
    second = ask(ledger, "a", 1).state
    assert second.previous_done is first.state.done and not second.previous_done.is_set()
    ledger.delivered(first.state)
    assert second.previous_done.is_set()


def test_a_resumed_ledger_continues_ids_counts_and_known_jobs():
    ledger = Ledger(
        max_trial_jobs=5,
        next_parameter_id=7,
        jobs_started=4,
        configurations=7,
        known_job_ids={"old"},
    )
    assert ledger.is_known_job("old") and ledger.can_start_job()
    ledger.register_job("new")
    assert not ledger.can_start_job() and ask(ledger, "new").state.parameter_id == 7
