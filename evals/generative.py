"""Generative scoring for endpoints without usable prompt log-probabilities (chat APIs, closed models).

No Django here. A model that can only chat is asked each multiple-choice question as lm-evaluation-harness's
own chat variants ask it, and its answer is read back by rules a reader can check one by one:

- Multiple choice follows `arc_challenge_chat` (lm-eval's tasks/arc/arc_challenge_chat.yaml, the Llama 3
  evaluation format that `mmlu_llama` also uses): "Given the following question and N candidate answers
  (A, B, ...), choose the best answer.\\nQuestion: ...\\nA. ...\\nYour response should end with \"The best
  answer is [the_answer_letter]\" ...", at most 100 new tokens, metric exact_match on the letter (ignoring
  case, punctuation and whitespace). Every multiple-choice benchmark of the suite is asked in that format
  (Winogrande's sentence with its two options; C-Eval/CMMLU keep their Chinese task description); the
  variant is named `<benchmark>_chat` on every score, with the lm-eval task it follows.
- GSM8K follows `gsm8k_cot_llama` (lm-eval's tasks/gsm8k/gsm8k-cot-llama.yaml): "Given the following problem,
  reason and give a final answer to the problem.\\nProblem: ...\\nYour response should end with \"The final
  answer is [answer]\" ...", strict match on "The final answer is N", flexible match on the last number.
- Two departures from lm-eval, both because a hosted chat API cannot be prefilled: lm-eval's chat variants
  prefill the reply with `gen_prefix` ("The best answer is") and stop at "." or a blank line; a hosted API
  answers from the start, so the whole reply is kept (no stop sequences: the blank line that starts many
  replies would end the answer empty) and the answer is extracted from it by `parse_choice`.

An answer the rules cannot read is wrong AND counted as unparsed: `answer_stats` gives the unparsed count and
the answer distribution that the services store per benchmark and the degenerate-run flag reads.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Method names, as stored on BenchmarkResult.method and EvalRun.method.
LOGLIKELIHOOD = "loglikelihood"
GENERATIVE = "generative"
MIXED = "mixed"

CHAT_MC_MAX_TOKENS = 100  # arc_challenge_chat's max_gen_toks
CHAT_COT_MAX_TOKENS = 1024  # gsm8k_cot_llama's max_gen_toks


@dataclass(frozen=True)
class Variant:
    """How a benchmark was asked: the name stored on its score and the lm-eval task it follows."""

    name: str
    follows: str
    method: str  # LOGLIKELIHOOD (lm-eval's default task) or GENERATIVE (a chat variant)
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "follows": self.follows, "method": self.method, "note": self.note}


def default_variant(benchmark: str) -> Variant:
    """lm-eval's own task for the benchmark (log-likelihood multiple choice; GSM8K generates as lm-eval's gsm8k)."""
    from evals.benchmarks import BENCHMARKS

    spec = BENCHMARKS[benchmark]
    task = spec.lm_eval_task or benchmark
    return Variant(name=task, follows=task, method=LOGLIKELIHOOD)


def chat_variant(benchmark: str) -> Variant:
    """The chat variant a generative run asks the benchmark with."""
    if benchmark == "gsm8k":
        return Variant(name="gsm8k_cot_llama", follows="gsm8k_cot_llama", method=GENERATIVE)
    note = "" if benchmark == "arc_challenge" else "arc_challenge_chat's format applied to this benchmark"
    return Variant(name=f"{benchmark}_chat", follows="arc_challenge_chat", method=GENERATIVE, note=note)


# ---------------------------------------------------------------------------------------------- prompts


def _question_and_options(spec: Any, doc: dict[str, Any]) -> tuple[str, list[str], str]:
    """(question text, option texts, header before "Question:") of a multiple-choice item."""
    key = spec.key
    if getattr(spec, "multiple_inputs", False):  # Winogrande: fill the blank
        return str(doc["sentence"]).strip(), [str(doc["option1"]), str(doc["option2"])], ""
    if hasattr(spec, "options") and hasattr(spec, "question_field"):  # MMLU, C-Eval, CMMLU
        header = spec.task_description(spec.subject_of(doc)) if key in ("ceval", "cmmlu") else ""
        return str(doc[spec.question_field]).strip(), spec.options(doc), header
    if key.startswith("truthfulqa"):
        return str(doc["question"]).strip(), [str(c) for c in spec.doc_to_choice(doc)], ""
    if key == "hellaswag":
        return spec.doc_to_text(doc).strip(), [str(c) for c in spec.doc_to_choice(doc)], ""
    return str(doc.get("question", "")).strip(), [str(c) for c in spec.doc_to_choice(doc)], ""


def _letters_phrase(n: int) -> str:
    letters = list(LETTERS[:n])
    return letters[0] if n == 1 else ", ".join(letters[:-1]) + " or " + letters[-1]


def _count_word(n: int) -> str:
    return {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}.get(n, str(n))


def chat_choice_prompt(spec: Any, doc: dict[str, Any]) -> tuple[str, list[str]]:
    """arc_challenge_chat's prompt for a multiple-choice item: (prompt, option texts in letter order)."""
    question, options, header = _question_and_options(spec, doc)
    n = len(options)
    letters = _letters_phrase(n)
    lead = (
        f"Given the following question and {_count_word(n)} candidate answers ({letters.replace(' or ', ' and ')}), "
        "choose the best answer."
    )
    if getattr(spec, "multiple_inputs", False):
        lead = (
            f"Given the following sentence with a blank (_) and {_count_word(n)} candidate answers "
            f"({letters.replace(' or ', ' and ')}), choose the answer that best fills the blank."
        )
    lines = [header + lead, f"Question: {question}"]
    lines += [f"{LETTERS[i]}. {option}" for i, option in enumerate(options)]
    lines.append(
        f'Your response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] '
        f"is one of {letters}."
    )
    return "\n".join(lines), options


def chat_cot_prompt(doc: dict[str, Any]) -> str:
    """gsm8k_cot_llama's prompt (0-shot)."""
    return (
        "Given the following problem, reason and give a final answer to the problem.\n"
        f"Problem: {doc['question']}\n"
        'Your response should end with "The final answer is [answer]" where [answer] is the response to the '
        "problem."
    )


# ---------------------------------------------------------------------------------------------- extraction

# "The best answer is B", "the answer is (B)", "Answer: B", "答案是B", "答案：B", "正确答案为 B" ...
_ANSWER_IS = re.compile(
    r"(?:best\s+answer|correct\s+answer|final\s+answer|answer|option|choice)\s*(?:is|would\s+be|:|=)?\s*[:：]?\s*"
    r"[\(\[\*\"'“‘]*\s*((?-i:[A-Z]))(?![A-Za-z])"
    r"|(?:答案|选项|正确答案|最佳答案)\s*(?:是|为|应该是|应为)?\s*[:：]?\s*[\(\[（【\*]*\s*([A-Za-z])(?![A-Za-z])",
    re.IGNORECASE,
)
_PUNCT_WS = re.compile(r"[\s\*\(\)\[\]（）【】\.\,:：;；!\"'“”‘’`。，、]+")
_GSM_FINAL = re.compile(r"The final answer is ((-?[$0-9.,]{2,})|(-?[0-9]+))", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedChoice:
    """What a reply says: the chosen index (None: unparsed) and the rule that read it."""

    index: int | None
    rule: str  # answer_is | bare_letter | leading_letter | option_text | single_letter | unparsed


def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def parse_choice(text: str, options: Sequence[str]) -> ParsedChoice:
    """Read the chosen option from a reply, rule by rule (the first that applies decides):

    1. answer_is: an explicit statement, the last one in the reply ("The best answer is B", "Answer: (C)",
       "答案是B"); lm-eval's own format, with a few tokens of preamble allowed.
    2. bare_letter: the reply is one letter, give or take punctuation, whitespace and markdown ("B", "**B.**").
    3. leading_letter: the reply starts with a letter and a delimiter ("B. Paris", "(B) Paris", "B: ...").
    4. option_text: exactly one option's text occurs in the reply (longest options first, so "light blue"
       is not read as "blue").
    5. single_letter: exactly one distinct capital option letter stands alone in the reply (the article
       "A" before a lower-case word does not count).
    Otherwise unparsed (index None): scored wrong and counted as unparsed. A letter beyond the options is
    never accepted.
    """
    n = len(options)
    allowed = LETTERS[:n]
    reply = unicodedata.normalize("NFKC", text or "").strip()
    if not reply:
        return ParsedChoice(None, "unparsed")
    stated = [next(g for g in m.groups() if g) for m in _ANSWER_IS.finditer(reply)]
    stated = [s.upper() for s in stated if s.upper() in allowed]
    if stated:
        return ParsedChoice(allowed.index(stated[-1]), "answer_is")
    bare = _PUNCT_WS.sub("", reply)
    if len(bare) == 1 and bare.upper() in allowed:
        return ParsedChoice(allowed.index(bare.upper()), "bare_letter")
    lead = re.match(r"^[\(\[\*（【\s]*([A-Z])\s*(?:[\.\):：\]）】]|\s*$|\s+-)", reply)
    if lead and lead.group(1) in allowed:
        return ParsedChoice(allowed.index(lead.group(1)), "leading_letter")
    hay = f" {_normalized(reply)} "
    found: list[int] = []
    covered: list[str] = []
    for i in sorted(range(n), key=lambda i: -len(_normalized(options[i]))):
        needle = _normalized(options[i])
        if needle and f" {needle} " in hay and not any(f" {needle} " in f" {c} " for c in covered):
            found.append(i)
            covered.append(needle)
    if len(found) == 1:
        return ParsedChoice(found[0], "option_text")
    letters = {
        m.group(1)
        for m in re.finditer(rf"(?<![A-Za-z])([{allowed}])(?![A-Za-z'’])", reply)
        if not (m.group(1) == "A" and re.match(r"\s+[a-z]", reply[m.end() :]))
    }
    if len(letters) == 1 and not found:
        letter = letters.pop()
        return ParsedChoice(allowed.index(letter), "single_letter")
    return ParsedChoice(None, "unparsed")


def parse_final_number(text: str) -> tuple[str, str]:
    """gsm8k_cot_llama's filters: (strict "The final answer is N" or "[invalid]", flexible: the last number)."""
    from evals.benchmarks.gsm8k import INVALID, extract_flexible

    match = _GSM_FINAL.findall(text or "")
    strict = match[0][0].strip() if match else INVALID
    return strict, extract_flexible(text or "")


# ---------------------------------------------------------------------------------------------- statistics


def is_unparsed(prediction: Any) -> bool:
    """Whether a stored prediction records an answer the rules could not read."""
    from evals.benchmarks.gsm8k import INVALID

    return prediction is None or prediction == -1 or prediction == INVALID


def answer_label(prediction: Any) -> str:
    """The answer as the distribution counts it: the option letter, or the normalized value (GSM8K)."""
    if isinstance(prediction, bool):
        return str(prediction)
    if isinstance(prediction, int):
        return LETTERS[prediction] if 0 <= prediction < len(LETTERS) else str(prediction)
    return str(prediction)


def answer_stats(predictions: Sequence[Any]) -> tuple[int, dict[str, int]]:
    """(unparsed count, {answer: count} over the parsed answers, most frequent first)."""
    unparsed = sum(1 for p in predictions if is_unparsed(p))
    counts = Counter(answer_label(p) for p in predictions if not is_unparsed(p))
    return unparsed, dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def run_method(methods: Sequence[str]) -> str:
    """One method for a run from its benchmarks' variant methods: the shared one, or MIXED."""
    found = set(methods)
    if not found:
        return LOGLIKELIHOOD
    return found.pop() if len(found) == 1 else MIXED


def degenerate_reasons(
    results: Sequence[dict[str, Any]], *, max_unparsed_share: float, collapse_share: float, collapse_min_items: int
) -> list[dict[str, Any]]:
    """Why a run's scores are not measurements, per benchmark ([] when none).

    `results`: dicts with benchmark, method, n, unparsed, answer_stats. Two rules:
    - unparsed: more than `max_unparsed_share` of the items of a GENERATIVE result had no readable answer;
    - collapsed: among at least `collapse_min_items` parsed answers of a GENERATIVE result, one answer makes
      up `collapse_share` or more (a constant answerer).
    Results of the log-likelihood suite are exempt from both: a small model's argmax legitimately prefers one
    letter on hard lettered tasks, and its GSM8K replies that lack lm-eval's "#### <number>" are scored wrong
    exactly as lm-eval's strict match scores them (SmolLM2's own quick run would otherwise never rank).
    """
    reasons: list[dict[str, Any]] = []
    for r in results:
        if r.get("method") != GENERATIVE:
            continue
        n = int(r.get("n") or 0)
        unparsed = int(r.get("unparsed") or 0)
        if n and unparsed / n > max_unparsed_share:
            reasons.append({"benchmark": r["benchmark"], "rule": "unparsed", "share": round(unparsed / n, 4), "n": n})
            continue
        stats = r.get("answer_stats") or {}
        parsed = sum(stats.values())
        if parsed >= collapse_min_items and stats:
            answer, top = max(stats.items(), key=lambda kv: kv[1])
            if top / parsed >= collapse_share:
                reasons.append(
                    {
                        "benchmark": r["benchmark"],
                        "rule": "collapsed",
                        "answer": answer,
                        "share": round(top / parsed, 4),
                        "n": parsed,
                    }
                )
    return reasons
