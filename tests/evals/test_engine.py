"""The engine without a model: item plans, few-shot sampling, metrics and aggregation (lm-eval 0.4 rules)."""

from __future__ import annotations

import math
import random

import pytest

from evals.benchmarks import BENCHMARKS
from evals.benchmarks.gsm8k import exact_match, extract_flexible, extract_strict
from evals.benchmarks.truthfulqa import mc2_true_mass
from evals.data import DataError, load_split
from evals.engine import ENGINE_VERSION, FewshotSampler, aggregate, run_plan, score_docs
from evals.suites import SUITES


class ScriptedBackend:
    """A backend whose log-likelihood is a fixed function of the request, recording what it was asked."""

    name = "scripted"
    supports_loglikelihood = True

    def __init__(self, score=None, completion="The answer is 5.\n#### 5"):
        self.score = score or (lambda req: -float(len(req.continuation)))
        self.completion = completion
        self.calls: list[list] = []

    def loglikelihood(self, requests):
        self.calls.append(list(requests))
        return [self.score(r) for r in requests]

    def generate(self, requests):
        self.calls.append(list(requests))
        return [self.completion for _ in requests]

    def describe(self):
        return {"revision_sha": "x", "dtype": "float32", "device": "cpu"}


def _score(benchmark, docs, backend, n_shot=0, **kw):
    out = []
    method = score_docs(benchmark=benchmark, docs=docs, backend=backend, n_shot=n_shot, on_item=out.append, **kw)
    return method, out


# ------------------------------------------------------------------------------------------ plans


def test_quick_plan_covers_all_ten_benchmarks_with_at_most_100_items_each():
    plans = run_plan(suite="quick")
    assert [p.benchmark for p in plans] == list(SUITES["quick"].benchmarks)
    assert len(plans) == 10
    for plan in plans:
        assert plan.n_shot == 0
        assert len(plan.docs) == 100
        assert [d.position for d in plan.docs] == list(range(100))


def test_quick_sample_is_identical_on_every_call():
    first = [[d.item_id for d in p.docs] for p in run_plan(suite="quick")]
    second = [[d.item_id for d in p.docs] for p in run_plan(suite="quick")]
    assert first == second


def test_quick_sample_is_stratified_by_subject_in_proportion():
    plan = run_plan(suite="quick", benchmarks=["mmlu"])[0]
    records = load_split(BENCHMARKS["mmlu"], "test")
    counts: dict[str, int] = {}
    for d in plan.docs:
        counts[d.subject] = counts.get(d.subject, 0) + 1
    total = len(records)
    for subject in set(counts):
        share = sum(1 for r in records if r["subject"] == subject) * 100 / total
        assert abs(counts[subject] - share) < 1.0  # largest-remainder rounding: within one item
    # the biggest subject gets the most items
    assert max(counts, key=counts.get) == "professional_law"


def test_quick_sample_keeps_file_order():
    plan = run_plan(suite="quick", benchmarks=["arc_easy"])[0]
    records = load_split(BENCHMARKS["arc_easy"], "test")
    index = {r["id"]: i for i, r in enumerate(records)}
    order = [index[d.item_id] for d in plan.docs]
    assert order == sorted(order)


def test_limit_takes_the_first_items_of_the_evaluation_split_in_file_order():
    plan = run_plan(suite="quick", benchmarks=["gsm8k", "mmlu"], limit=3)
    assert [d.item_id for d in plan[0].docs] == ["test/0", "test/1", "test/2"]
    assert [d.item_id for d in plan[1].docs] == [
        "abstract_algebra/test/0",
        "abstract_algebra/test/1",
        "abstract_algebra/test/2",
    ]


def test_open_llm_v1_uses_the_leaderboard_shot_counts_on_full_splits():
    suite = SUITES["open-llm-v1"]
    assert suite.n_shot == {
        "arc_challenge": 25,
        "hellaswag": 10,
        "mmlu": 5,
        "truthfulqa_mc2": 0,
        "winogrande": 5,
        "gsm8k": 5,
    }
    assert suite.sample_size is None
    plan = run_plan(suite="open-llm-v1", benchmarks=["arc_challenge"])[0]
    assert len(plan.docs) == 1172 and plan.n_shot == 25


def test_few_shot_run_without_the_few_shot_split_is_a_data_error_not_a_silent_zero_shot():
    with pytest.raises(DataError, match=r"HellaSwag 10-shot needs its few-shot split 'train'.*train\.jsonl"):
        run_plan(suite="open-llm-v1", benchmarks=["hellaswag"], limit=5)
    with pytest.raises(DataError, match="Winogrande 5-shot"):
        run_plan(suite="open-llm-v1", benchmarks=["winogrande"], limit=5)


def test_unknown_suite_or_benchmark_is_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        run_plan(suite="nope")
    with pytest.raises(ValueError, match="unknown benchmark"):
        run_plan(suite="quick", benchmarks=["arc_easy", "squad"])


# ------------------------------------------------------------------------------------------ few-shot


def test_random_few_shot_draws_follow_lm_evals_shared_seeded_sampler():
    spec = BENCHMARKS["arc_challenge"]
    pool = load_split(spec, "train")
    plan = run_plan(suite="open-llm-v1", benchmarks=["arc_challenge"], limit=3)[0]
    sampler = FewshotSampler(spec, pool, 25)
    # lm-eval: one random.Random(1234); each doc, in order, calls rnd.sample(train_docs, 25)
    rnd = random.Random(1234)
    expected = [rnd.sample(pool, 25) for _ in range(3)]
    assert [sampler.examples(d) for d in plan.docs] == expected
    # Asking for a later doc first (a resumed run) gives the same examples.
    assert FewshotSampler(spec, pool, 25).examples(plan.docs[2]) == expected[2]


def test_few_shot_examples_end_with_a_blank_line_before_the_question():
    backend = ScriptedBackend()
    plan = run_plan(suite="open-llm-v1", benchmarks=["arc_challenge"], limit=1)[0]
    _, out = _score("arc_challenge", plan.docs, backend, n_shot=25)
    ctx = backend.calls[0][0].context
    assert ctx.count("Question: ") == 26 and ctx.count("\n\nQuestion: ") == 25
    assert ctx.endswith("\n\n" + BENCHMARKS["arc_challenge"].doc_to_text(plan.docs[0].fields))
    assert out[0].prompt == ctx


# ------------------------------------------------------------------------------------------ metrics


def test_acc_norm_divides_by_the_choice_length_in_characters():
    spec = BENCHMARKS["arc_easy"]
    doc = {"choices": {"text": ["ab", "abcdefgh"], "label": ["A", "B"]}, "answerKey": "B", "question": "q"}
    # raw: -3 > -4 picks A; per character: -1.5 < -0.5 picks B
    assert spec.process_results(doc, [-3.0, -4.0]) == {"acc": 0.0, "acc_norm": 1.0}


def test_acc_norm_counts_characters_not_utf8_bytes():
    spec = BENCHMARKS["ceval"]
    doc = {"subject": "law", "question": "q", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "A"}
    assert spec.process_results(doc, [-1.0, -2.0, -3.0, -4.0]) == {"acc": 1.0, "acc_norm": 1.0}
    hs = BENCHMARKS["hellaswag"]
    # "éé" is 2 characters but 4 UTF-8 bytes. By characters: -2.0/2 = -1.0 < -1.9/2 = -0.95, so "ee" (gold)
    # wins; dividing by bytes (-0.5 vs -0.95) would pick "éé".
    hs_doc = {"activity_label": "x", "ctx": "y", "endings": ["éé", "ee"], "label": "1"}
    assert hs.process_results(hs_doc, [-2.0, -1.9]) == {"acc": 1.0, "acc_norm": 1.0}
    assert hs.process_results({**hs_doc, "label": "0"}, [-2.0, -1.9])["acc_norm"] == 0.0


def test_ties_go_to_the_first_choice():
    spec = BENCHMARKS["mmlu"]
    doc = {"subject": "anatomy", "question": "q", "choices": ["w", "x", "y", "z"], "answer": 1}
    assert spec.process_results(doc, [-1.0, -1.0, -2.0, -2.0]) == {"acc": 0.0}
    doc["answer"] = 0
    assert spec.process_results(doc, [-1.0, -1.0, -2.0, -2.0]) == {"acc": 1.0}


def test_mc2_is_the_normalised_probability_mass_of_the_true_answers():
    lls = [math.log(0.2), math.log(0.1), math.log(0.3), math.log(0.4)]
    assert mc2_true_mass([1, 1, 0, 0], lls) == pytest.approx(0.3)
    # stays finite when every probability underflows
    assert mc2_true_mass([1, 0], [-2000.0, -2000.0]) == pytest.approx(0.5)


def test_mc1_is_right_only_when_the_first_answer_is_most_likely():
    spec = BENCHMARKS["truthfulqa_mc1"]
    doc = {"question": "q", "mc1_targets": {"choices": ["t", "f1", "f2"], "labels": [1, 0, 0]}}
    assert spec.process_results(doc, [-1.0, -2.0, -3.0]) == {"acc": 1.0}
    assert spec.process_results(doc, [-2.0, -1.0, -3.0]) == {"acc": 0.0}


def test_gsm8k_strict_match_needs_the_hash_answer_and_flexible_takes_the_last_number():
    text = "She has 3 + 4 = 7 apples.\n#### 7\n\nThen 12"
    assert extract_strict(text) == "7"
    assert extract_flexible(text) == "12"
    assert extract_strict("The answer is 7.") == "[invalid]"
    assert extract_flexible("The answer is $1,200.") == "$1,200."
    assert exact_match(extract_flexible("The answer is $1,200."), "blah\n#### 1200") == 1.0
    assert exact_match("-3", "x #### -3") == 1.0
    spec = BENCHMARKS["gsm8k"]
    metrics, prediction = spec.score_generation({"answer": "... #### 18"}, " 9 * 2 = 18\n#### 18")
    assert metrics == {"exact_match": 1.0, "exact_match_flexible": 1.0} and prediction == "18"
    metrics, _ = spec.score_generation({"answer": "... #### 18"}, " so she makes 18 dollars")
    assert metrics == {"exact_match": 0.0, "exact_match_flexible": 1.0}


def test_winogrande_prediction_compares_the_shared_continuation_under_each_option():
    plan = run_plan(suite="quick", benchmarks=["winogrande"], limit=1)[0]
    # doc 0: "... so _ always got the easier cases." answer 2 (Maria)
    backend = ScriptedBackend(score=lambda r: -1.0 if r.context.endswith("Maria") else -5.0)
    _, out = _score("winogrande", plan.docs, backend)
    assert [r.continuation for r in backend.calls[0]] == [" always got the easier cases."] * 2
    assert out[0].prediction == 1 and out[0].target == 1 and out[0].correct
    assert out[0].choices == ["Sarah", "Maria"]


# ------------------------------------------------------------------------------------------ scoring loop


def test_score_docs_reports_every_item_in_position_order_with_its_log_likelihoods():
    plan = run_plan(suite="quick", benchmarks=["arc_easy"], limit=10)[0]
    backend = ScriptedBackend()
    method, out = _score("arc_easy", plan.docs, backend, batch_size=4)
    assert method == "loglikelihood"
    assert [o.position for o in out] == list(range(10))
    assert len(backend.calls) == 3  # batches of 4 items: 4 + 4 + 2
    assert all(len(o.loglikelihoods) == len(o.choices) for o in out)
    assert all(set(o.metrics) == {"acc", "acc_norm"} for o in out)


def test_score_docs_stops_between_batches_when_asked():
    plan = run_plan(suite="quick", benchmarks=["arc_easy"], limit=10)[0]
    out = []
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 2

    score_docs(
        benchmark="arc_easy", docs=plan.docs, backend=ScriptedBackend(), n_shot=0, batch_size=3,
        on_item=out.append, should_stop=stop,
    )  # fmt: skip
    assert len(out) == 6


def test_gsm8k_is_scored_generatively_with_its_stop_sequences():
    plan = run_plan(suite="quick", benchmarks=["gsm8k"], limit=2)[0]
    backend = ScriptedBackend(completion=" 16 - 3 - 4 = 9; 9 * 2 = 18\n#### 18")
    method, out = _score("gsm8k", plan.docs, backend)
    assert method == "generative"
    assert backend.calls[0][0].until == ("Question:", "</s>", "<|im_end|>")
    assert out[0].metrics["exact_match"] == 1.0 and out[0].correct  # Janet's ducks: 18
    assert out[1].metrics["exact_match"] == 0.0


def test_backend_without_log_likelihoods_gets_the_chat_variant_and_the_method_says_so():
    class LetterBackend(ScriptedBackend):
        supports_loglikelihood = False

    plan = run_plan(suite="quick", benchmarks=["arc_easy"], limit=1)[0]
    backend = LetterBackend(completion="The best answer is A.")
    method, out = _score("arc_easy", plan.docs, backend)
    assert method == "generative"
    request = backend.calls[0][0]
    # arc_challenge_chat's prompt, asked as a chat message, with no stop sequence that could empty the reply.
    assert request.context.startswith("Given the following question and four candidate answers (A, B, C and D)")
    assert "\nA. " in request.context and "\nD. " in request.context
    assert request.context.endswith(
        '"The best answer is [the_answer_letter]" where the [the_answer_letter] is one of A, B, C or D.'
    )
    assert request.chat is True and request.until == () and request.max_new_tokens == 100
    assert set(out[0].metrics) == {"acc"} and out[0].prediction == 0


# ------------------------------------------------------------------------------------------ aggregation


def test_aggregate_means_and_stderr_use_the_sample_standard_deviation():
    items = [
        {"acc": 1.0, "acc_norm": 1.0},
        {"acc": 0.0, "acc_norm": 1.0},
        {"acc": 1.0, "acc_norm": 0.0},
        {"acc": 0.0, "acc_norm": 0.0},
    ]
    score = aggregate(benchmark="arc_challenge", item_metrics=items, n_shot=25, method="loglikelihood")
    assert score.metrics == {"acc": 0.5, "acc_norm": 0.5}
    assert score.primary_metric == "acc_norm" and score.value == 0.5
    # sample std of [1,1,0,0] = sqrt(1/3); / sqrt(4)
    assert score.stderr == pytest.approx(math.sqrt(1 / 3) / 2)
    assert score.n == 4 and score.n_shot == 25
    assert score.extra["engine_version"] == ENGINE_VERSION


def test_aggregate_falls_back_to_acc_when_acc_norm_was_not_measured():
    score = aggregate(benchmark="hellaswag", item_metrics=[{"acc": 1.0}, {"acc": 0.0}], n_shot=0, method="generative")
    assert score.primary_metric == "acc" and score.value == 0.5


def test_aggregate_refuses_an_empty_benchmark():
    with pytest.raises(ValueError, match="no scored items"):
        aggregate(benchmark="mmlu", item_metrics=[], n_shot=0, method="loglikelihood")
