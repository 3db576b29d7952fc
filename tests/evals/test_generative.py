"""Generative multiple choice (evals/generative.py): lm-eval's chat variants, the answer-extraction rules one
by one, the unparsed count and answer distribution, and the degenerate-run rules. No database."""

from __future__ import annotations

import pytest

from evals import generative
from evals.benchmarks import BENCHMARKS
from evals.data import load_split
from evals.engine import run_plan, score_docs
from evals.generative import (
    answer_stats,
    chat_choice_prompt,
    chat_cot_prompt,
    degenerate_reasons,
    parse_choice,
    parse_final_number,
    run_method,
)

OPTIONS = ["Paris", "London", "Berlin", "Madrid"]


# ------------------------------------------------------------------------------------------ extraction rules


@pytest.mark.parametrize(
    "reply, index",
    [
        ("The best answer is B.", 1),
        ("Let me think. Paris is in France... The best answer is C", 2),
        ("the answer is (D)", 3),
        ("Answer: **A**", 0),
        ("I first thought A, but the correct answer is B.", 1),  # the last statement decides
        ("答案是C", 2),
        ("正确答案为：D", 3),
    ],
)
def test_an_explicit_answer_statement_is_read_with_preamble_allowed(reply, index):
    assert parse_choice(reply, OPTIONS) == generative.ParsedChoice(index, "answer_is")


@pytest.mark.parametrize("reply, index", [("B", 1), (" c ", 2), ("**D.**", 3), ("(A)", 0), ("\n\nB\n", 1)])
def test_a_reply_that_is_one_letter_is_read_whatever_the_punctuation_and_whitespace(reply, index):
    assert parse_choice(reply, OPTIONS) == generative.ParsedChoice(index, "bare_letter")


@pytest.mark.parametrize("reply, index", [("B. London", 1), ("(C) Berlin, obviously", 2), ("D: Madrid", 3)])
def test_a_reply_starting_with_a_letter_and_a_delimiter_is_read(reply, index):
    assert parse_choice(reply, OPTIONS) == generative.ParsedChoice(index, "leading_letter")


def test_the_text_of_exactly_one_option_is_read_as_that_option():
    assert parse_choice("It must be London, the capital.", OPTIONS) == generative.ParsedChoice(1, "option_text")
    # A longer option that contains a shorter one is not also read as the shorter one.
    colours = ["blue", "light blue", "red"]
    assert parse_choice("I would say light blue", colours) == generative.ParsedChoice(1, "option_text")


def test_a_single_standalone_option_letter_is_read_but_not_the_article_a():
    assert parse_choice("I pick option letter C here", ["w", "x", "y", "z"]).index == 2
    # "A" before a lower-case word is the article, not an answer: nothing else to read, so unparsed.
    assert parse_choice("A good question; hard to say", ["w", "x", "y", "z"]) == generative.ParsedChoice(
        None, "unparsed"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "",  # the empty generations of the issue
        "   \n\n",
        "I do not know.",
        "Both Paris and London are capitals.",  # two options: ambiguous
        "B or C, hard to say",  # two letters: ambiguous
        "The best answer is E.",  # beyond the options
    ],
)
def test_an_unreadable_reply_is_unparsed(reply):
    assert parse_choice(reply, OPTIONS) == generative.ParsedChoice(None, "unparsed")


def test_gsm8k_chat_answers_follow_gsm8k_cot_llama_strict_and_flexible_filters():
    assert parse_final_number("18 - 3 = 15 ... The final answer is 18") == ("18", "18")
    assert parse_final_number("So she makes $18 a day.") == ("[invalid]", "$18")  # "$" is dropped by exact_match
    assert parse_final_number("no idea") == ("[invalid]", "[invalid]")


# ------------------------------------------------------------------------------------------ prompts


def test_multiple_choice_is_asked_in_arc_challenge_chat_format():
    spec = BENCHMARKS["arc_challenge"]
    doc = load_split(spec, spec.eval_split)[0]
    prompt, options = chat_choice_prompt(spec, doc)
    assert options == list(doc["choices"]["text"])
    lines = prompt.split("\n")
    assert (
        lines[0] == "Given the following question and four candidate answers (A, B, C and D), choose the best answer."
    )
    assert lines[1] == f"Question: {doc['question'].strip()}"
    assert lines[2] == f"A. {options[0]}"
    assert lines[-1] == (
        'Your response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] is '
        "one of A, B, C or D."
    )


def test_winogrande_and_lettered_benchmarks_show_their_option_texts():
    spec = BENCHMARKS["winogrande"]
    doc = load_split(spec, spec.eval_split)[0]
    prompt, options = chat_choice_prompt(spec, doc)
    assert options == [doc["option1"], doc["option2"]]
    assert "two candidate answers (A and B)" in prompt and "one of A or B." in prompt and doc["sentence"] in prompt
    mmlu = BENCHMARKS["mmlu"]
    doc = load_split(mmlu, mmlu.eval_split)[0]
    prompt, options = chat_choice_prompt(mmlu, doc)
    assert options == [str(c) for c in doc["choices"]] and f"\nD. {options[3]}\n" in prompt
    cmmlu = BENCHMARKS["cmmlu"]
    doc = load_split(cmmlu, cmmlu.eval_split)[0]
    prompt, options = chat_choice_prompt(cmmlu, doc)
    assert prompt.startswith("以下是关于") and options == [doc[k] for k in "ABCD"]


def test_gsm8k_is_asked_in_gsm8k_cot_llama_format():
    prompt = chat_cot_prompt({"question": "How many?"})
    assert prompt.startswith("Given the following problem, reason and give a final answer to the problem.\nProblem: ")
    assert prompt.endswith('"The final answer is [answer]" where [answer] is the response to the problem.')


def test_every_score_names_its_variant():
    assert generative.default_variant("ceval").name == "ceval-valid"
    assert generative.default_variant("arc_easy").method == "loglikelihood"
    assert generative.chat_variant("arc_challenge").as_dict() == {
        "name": "arc_challenge_chat",
        "follows": "arc_challenge_chat",
        "method": "generative",
        "note": "",
    }
    assert generative.chat_variant("winogrande").follows == "arc_challenge_chat"
    assert generative.chat_variant("gsm8k").name == "gsm8k_cot_llama"


class _ChatOnly:
    name = "chat"
    supports_loglikelihood = False

    def __init__(self, reply):
        self.reply = reply
        self.requests = []
        self.last_usage = []

    def loglikelihood(self, requests):  # pragma: no cover - never called without log-probabilities
        raise AssertionError("no log-likelihoods here")

    def generate(self, requests):
        self.requests.extend(requests)
        self.last_usage = [{"prompt_tokens": 50, "completion_tokens": 7} for _ in requests]
        return [self.reply for _ in requests]

    def describe(self):
        return {}


def test_an_unparsed_answer_is_scored_wrong_and_carries_the_endpoint_tokens():
    plan = run_plan(suite="quick", benchmarks=["arc_easy"], limit=3)[0]
    out = []
    backend = _ChatOnly("I am not sure.")
    method = score_docs(benchmark="arc_easy", docs=plan.docs, backend=backend, n_shot=0, on_item=out.append)
    assert method == "generative"
    assert [o.prediction for o in out] == [-1, -1, -1] and not any(o.correct for o in out)
    assert all(o.metrics == {"acc": 0.0} for o in out)
    assert (out[0].prompt_tokens, out[0].completion_tokens) == (50, 7)
    assert all(r.chat and r.max_new_tokens == 100 for r in backend.requests)


def test_gsm8k_on_a_chat_only_backend_uses_the_cot_variant():
    plan = run_plan(suite="quick", benchmarks=["gsm8k"], limit=1)[0]
    out = []
    backend = _ChatOnly("16 - 3 - 4 = 9 eggs, 9 * 2 = 18. The final answer is 18")
    score_docs(benchmark="gsm8k", docs=plan.docs, backend=backend, n_shot=0, on_item=out.append)
    assert backend.requests[0].context.startswith("Given the following problem")
    assert out[0].metrics == {"exact_match": 1.0, "exact_match_flexible": 1.0} and out[0].correct


# ------------------------------------------------------------------------------------------ statistics and flags


def test_answer_stats_count_unparsed_answers_and_the_distribution():
    unparsed, stats = answer_stats([0, 0, 1, -1, None, 3, "[invalid]", "18"])
    assert unparsed == 3
    assert stats == {"A": 2, "18": 1, "B": 1, "D": 1}


def _result(benchmark="winogrande", method="generative", n=40, unparsed=0, stats=None):
    return {"benchmark": benchmark, "method": method, "n": n, "unparsed": unparsed, "answer_stats": stats or {}}


RULES = {"max_unparsed_share": 0.1, "collapse_share": 0.9, "collapse_min_items": 20}


def test_a_constant_answerer_is_flagged_as_collapsed():
    # The Winogrande: "A" to all 40 items.
    reasons = degenerate_reasons([_result(stats={"A": 40})], **RULES)
    assert reasons == [{"benchmark": "winogrande", "rule": "collapsed", "answer": "A", "share": 1.0, "n": 40}]


def test_too_many_unparsed_answers_flag_the_run():
    # The ARC-Easy: 36 of 40 generations empty.
    reasons = degenerate_reasons([_result("arc_easy", unparsed=36, stats={"A": 4})], **RULES)
    assert reasons == [{"benchmark": "arc_easy", "rule": "unparsed", "share": 0.9, "n": 40}]


def test_healthy_and_loglikelihood_results_are_not_flagged():
    healthy = _result(stats={"A": 22, "B": 18}, unparsed=2)
    # A small model's log-likelihood argmax preferring "A" on MMLU is a measurement, not a collapse.
    loglikelihood = _result("mmlu", method="loglikelihood", n=100, stats={"A": 97, "B": 3})
    few = _result("arc_easy", n=10, stats={"A": 10})  # below the minimum number of items
    # The log-likelihood suite's GSM8K: replies without lm-eval's "#### <number>" are wrong, as lm-eval scores
    # them, not a sign of a broken endpoint (SmolLM2's quick run has many; it must still rank).
    gsm8k = _result("gsm8k", method="loglikelihood", n=20, unparsed=15, stats={"18": 5})
    assert degenerate_reasons([healthy, loglikelihood, few, gsm8k], **RULES) == []


def test_the_run_method_is_shared_or_mixed():
    assert run_method(["loglikelihood", "loglikelihood"]) == "loglikelihood"
    assert run_method(["generative"]) == "generative"
    assert run_method(["loglikelihood", "generative"]) == "mixed"


def test_few_shot_chat_variants_show_answered_examples_before_the_question():
    plan = run_plan(suite="quick", benchmarks=["arc_easy"], limit=1)[0]
    backend = _ChatOnly("The best answer is B.")
    score_docs(benchmark="arc_easy", docs=plan.docs, backend=backend, n_shot=2, on_item=lambda o: None)
    context = backend.requests[0].context
    assert context.count("Given the following question") == 3 and context.count("\nThe best answer is ") == 2

    plan = run_plan(suite="quick", benchmarks=["gsm8k"], limit=1)[0]
    backend = _ChatOnly("The final answer is 18")
    score_docs(benchmark="gsm8k", docs=plan.docs, backend=backend, n_shot=2, on_item=lambda o: None)
    context = backend.requests[0].context
    # three instructions name the format, and the two examples are answered in it
    assert context.count("Given the following problem") == 3 and context.count("The final answer is ") == 5
