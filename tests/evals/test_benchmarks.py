"""Prompt construction of every benchmark against the exact strings lm-eval 0.4 builds for known items.

The expected strings are written out by hand from the lm-eval task definitions (doc_to_text, doc_to_choice,
target delimiter " ", description, few-shot delimiter "\\n\\n"), so a drift in our templates shows here.
"""

from __future__ import annotations

import pytest

from evals.benchmarks import BENCHMARKS
from evals.engine import FewshotSampler, _prepare_loglikelihood, build_context, run_plan
from evals.types import Doc


def _doc(benchmark: str, fields: dict, position: int = 0) -> Doc:
    spec = BENCHMARKS[benchmark]
    return Doc(benchmark, str(fields.get("id", "x")), position, spec.subject_of(fields), fields)


def _requests(benchmark: str, fields: dict) -> list[tuple[str, str]]:
    prep = _prepare_loglikelihood(BENCHMARKS[benchmark], _doc(benchmark, fields), None)
    return [(r.context, r.continuation) for r in prep.requests]


ARC_ITEM = {
    "id": "Mercury_417466",
    "question": "Which statement best explains why photosynthesis is the foundation of most food webs?",
    "choices": {
        "text": [
            "Sunlight is the source of energy for nearly all ecosystems.",
            "Most ecosystems are found on land instead of in water.",
            "Carbon dioxide is more available than other gases.",
            "The producers in all ecosystems are plants.",
        ],
        "label": ["A", "B", "C", "D"],
    },
    "answerKey": "A",
}


def test_arc_prompt_is_question_answer_and_choices_follow_a_space():
    reqs = _requests("arc_easy", ARC_ITEM)
    ctx = "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:"
    assert reqs == [
        (ctx, " Sunlight is the source of energy for nearly all ecosystems."),
        (ctx, " Most ecosystems are found on land instead of in water."),
        (ctx, " Carbon dioxide is more available than other gases."),
        (ctx, " The producers in all ecosystems are plants."),
    ]
    assert BENCHMARKS["arc_easy"].doc_to_target(ARC_ITEM) == 0


def test_arc_numeric_answer_labels_map_to_the_items_own_label_order():
    item = {**ARC_ITEM, "choices": {"text": ["a", "b", "c"], "label": ["1", "2", "3"]}, "answerKey": "3"}
    assert BENCHMARKS["arc_challenge"].doc_to_target(item) == 2


def test_hellaswag_derived_file_keeps_ctx_as_it_is_and_preprocesses_endings():
    item = {
        "id": "validation/0",
        "activity_label": "Roof shingle removal",
        "ctx": "A man is sitting on a roof. he",
        "endings": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof.",
        ],
        "label": "3",
    }
    reqs = _requests("hellaswag", item)
    assert reqs[0] == ("Roof shingle removal: A man is sitting on a roof. he", " is using wrap to wrap a pair of skis.")
    assert reqs[3][1] == " starts pulling up roofing on a roof."
    assert BENCHMARKS["hellaswag"].doc_to_target(item) == 3


def test_hellaswag_hf_schema_capitalises_ctx_b_and_strips_wikihow_brackets():
    item = {
        "activity_label": "Home and Garden",
        "ctx_a": "[header] How to clean a grill [title] Heat the grill.",
        "ctx_b": "then",
        "endings": ["scrub it [step] well.", "b", "c", "d"],
        "label": "0",
    }
    spec = BENCHMARKS["hellaswag"]
    # lm-eval: preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
    assert spec.doc_to_text(item) == "Home and Garden: How to clean a grill. Heat the grill. Then"
    assert spec.doc_to_choice(item)[0] == "scrub it well."


MMLU_ITEM = {
    "id": "abstract_algebra/test/0",
    "question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
    "subject": "abstract_algebra",
    "choices": ["0", "4", "2", "6"],
    "answer": 1,
}


def test_mmlu_zero_shot_prompt_has_the_subject_description_and_lettered_choices():
    reqs = _requests("mmlu", MMLU_ITEM)
    ctx = (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
        "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
    )
    assert reqs == [(ctx, " A"), (ctx, " B"), (ctx, " C"), (ctx, " D")]


def test_mmlu_few_shot_takes_the_first_dev_items_of_the_same_subject():
    plan = run_plan(suite="open-llm-v1", benchmarks=["mmlu"], limit=1)[0]
    spec = BENCHMARKS["mmlu"]
    from evals.data import load_split

    pool = load_split(spec, "dev")
    ctx = build_context(spec, plan.docs[0], FewshotSampler(spec, pool, 5))
    assert isinstance(ctx, str)
    assert ctx.startswith(
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
        "Statement 1 | If aH is an element of a factor group, then |aH| divides |a|."
    )
    assert ctx.count("\nAnswer:") == 6
    assert ctx.endswith("over Q.\nA. 0\nB. 4\nC. 2\nD. 6\nAnswer:")


def test_truthfulqa_prompt_starts_with_lm_evals_six_qa_pairs():
    item = {
        "question": "What is the smallest country in the world that is at least one square mile in area?",
        "mc1_targets": {"choices": ["Nauru is the smallest.", "Vatican City."], "labels": [1, 0]},
        "mc2_targets": {"choices": ["Nauru is the smallest.", "It is Nauru.", "Vatican City."], "labels": [1, 1, 0]},
    }
    mc1 = _requests("truthfulqa_mc1", item)
    mc2 = _requests("truthfulqa_mc2", item)
    expected = (
        "Q: What is human life expectancy in the United States?\n"
        "A: Human life expectancy in the United States is 78 years.\n\n"
        "Q: Who was president of the United States in 1955?\n"
        "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
        "Q: Which party did he belong to?\n"
        "A: He belonged to the Republican Party.\n\n"
        "Q: What is the square root of banana?\n"
        "A: I have no comment.\n\n"
        "Q: How does a telescope work?\n"
        "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
        "Q: Where were the 1992 Olympics held?\n"
        "A: The 1992 Olympics were held in Barcelona, Spain.\n\n"
        "Q: What is the smallest country in the world that is at least one square mile in area?\nA:"
    )
    assert mc1 == [(expected, " Nauru is the smallest."), (expected, " Vatican City.")]
    assert [c for _, c in mc2] == [" Nauru is the smallest.", " It is Nauru.", " Vatican City."]


def test_winogrande_partial_scoring_substitutes_each_option_and_shares_the_rest_of_the_sentence():
    item = {
        "sentence": "Sarah was a much better surgeon than Maria so _ always got the easier cases.",
        "option1": "Sarah",
        "option2": "Maria",
        "answer": "2",
    }
    assert _requests("winogrande", item) == [
        ("Sarah was a much better surgeon than Maria so Sarah", " always got the easier cases."),
        ("Sarah was a much better surgeon than Maria so Maria", " always got the easier cases."),
    ]


def test_winogrande_few_shot_example_is_the_correct_partial_context_then_the_rest():
    spec = BENCHMARKS["winogrande"]
    example = {"sentence": "The cup did not fit in the box because _ was too big.", "option1": "cup", "option2": "box"}
    assert spec.fewshot_example({**example, "answer": "1"}) == "The cup did not fit in the box because cup was too big."


def test_gsm8k_prompt_and_few_shot_examples_use_the_full_worked_answer():
    spec = BENCHMARKS["gsm8k"]
    item = {"question": "What is 2+3?", "answer": "2+3 = <<2+3=5>>5\n#### 5"}
    assert spec.doc_to_text(item) == "Question: What is 2+3?\nAnswer:"
    assert spec.fewshot_example(item) == "Question: What is 2+3?\nAnswer: 2+3 = <<2+3=5>>5\n#### 5"
    assert spec.generation_until == ("Question:", "</s>", "<|im_end|>")


def test_ceval_prompt_uses_lm_evals_chinese_description_and_answer_cue():
    item = {
        "id": "accountant/val/0",
        "subject": "accountant",
        "question": "下列关于税法基本原则的表述中，不正确的是____。",
        "A": "税收法定原则包括税收要件法定原则和税务合法性原则",
        "B": "税收公平原则源于法律上的平等性原则",
        "C": "税收效率原则包含经济效率和行政效率两个方面",
        "D": "税务机关按法定程序依法征税，可以自由做出减征、停征或免征税款的决定",
        "answer": "D",
    }
    reqs = _requests("ceval", item)
    ctx = (
        "以下是中国关于注册会计师的单项选择题，请选出其中的正确答案。\n\n"
        "下列关于税法基本原则的表述中，不正确的是____。\n"
        "A. 税收法定原则包括税收要件法定原则和税务合法性原则\n"
        "B. 税收公平原则源于法律上的平等性原则\n"
        "C. 税收效率原则包含经济效率和行政效率两个方面\n"
        "D. 税务机关按法定程序依法征税，可以自由做出减征、停征或免征税款的决定\n"
        "答案："
    )
    assert reqs == [(ctx, " A"), (ctx, " B"), (ctx, " C"), (ctx, " D")]
    assert BENCHMARKS["ceval"].doc_to_target(item) == 3


def test_cmmlu_prompt_uses_its_own_description_and_capitalised_fields():
    item = {
        "subject": "agronomy",
        "Question": "肉牛屠宰后，胴体的哪个部位肉质较好",
        "A": "胸",
        "B": "腹",
        "C": "大腿",
        "D": "小腿",
    }
    item["Answer"] = "C"
    reqs = _requests("cmmlu", item)
    assert reqs[0] == (
        "以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n肉牛屠宰后，胴体的哪个部位肉质较好\nA. 胸\nB. 腹\nC. 大腿\nD. 小腿\n答案：",
        " A",
    )
    assert BENCHMARKS["cmmlu"].doc_to_target(item) == 2


@pytest.mark.parametrize("key", list(BENCHMARKS))
def test_every_benchmark_records_its_source_license_language_and_baseline(key):
    spec = BENCHMARKS[key]
    facts = spec.as_dict()
    assert facts["language"] in ("en", "zh")
    assert facts["license"] and facts["hf_dataset"] and facts["hf_revision"] and facts["prompt_format"]
    assert facts["primary_metric"] in facts["metrics"]
    assert 0.0 <= facts["random_baseline"] < 1.0


def test_subject_counts_match_lm_eval():
    assert len(BENCHMARKS["mmlu"].subjects) == 57
    assert len(BENCHMARKS["ceval"].subjects) == 52
    assert len(BENCHMARKS["cmmlu"].subjects) == 67
