"""Forms of the evaluation pages: what a signed-in user may ask for when submitting a run.

The form only checks the shape of the input; whether the model may be evaluated (exists on the Hub,
not gated, text generation, size, license) is decided by `evals.services.eval_run_submit`, whose
message the page shows next to the field it is about.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

# A Hub repo id is `owner/name` (letters, digits, `-`, `_`, `.`); closed models use the same shape.
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# A git revision: a branch, a tag or a commit sha; no whitespace, no `..`, no leading `-`.
REVISION_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")

BACKEND_CHOICES = [
    ("transformers", _("transformers (open weights, on our workers)")),
    ("openai", _("OpenAI-compatible endpoint (closed models)")),
]
DTYPE_CHOICES = [
    ("auto", _("auto (the model's own)")),
    ("float32", "float32"),
    ("bfloat16", "bfloat16"),
    ("float16", "float16"),
]
LIMIT_MAX = 10_000


def suite_choices() -> list[tuple[str, str]]:
    """The suites the engine knows, as (key, "name: description") pairs."""
    from evals.suites import SUITES

    return [(key, suite.name) for key, suite in SUITES.items()]


def benchmark_choices() -> list[tuple[str, str]]:
    """Every benchmark the engine knows, as (key, name) pairs."""
    from evals.benchmarks import BENCHMARKS

    return [(key, spec.name) for key, spec in BENCHMARKS.items()]


class SubmitForm(forms.Form):
    """A request to evaluate one model on one suite; benchmarks and limit make a partial (unranked) run."""

    model_id = forms.CharField(
        label=_("Model"),
        max_length=200,
        help_text=_("The Hugging Face repo id, for example HuggingFaceTB/SmolLM2-135M-Instruct."),
        widget=forms.TextInput(
            attrs={"placeholder": "HuggingFaceTB/SmolLM2-135M-Instruct", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    revision = forms.CharField(
        label=_("Revision"),
        max_length=200,
        initial="main",
        required=False,
        help_text=_(
            "main, pinned to its current commit; another branch, tag or commit only if staff allowed it for this "
            "model (pull requests never)."
        ),
    )
    suite = forms.ChoiceField(label=_("Suite"), initial="quick")
    backend = forms.ChoiceField(label=_("Backend"), choices=BACKEND_CHOICES, initial="transformers")
    dtype = forms.ChoiceField(
        label=_("Data type"),
        choices=DTYPE_CHOICES,
        initial="auto",
        help_text=_("Weights precision on the worker; a run with another data type is a different run."),
    )
    benchmarks = forms.MultipleChoiceField(
        label=_("Only these benchmarks"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty for the whole suite. A subset makes a partial run: shown, never ranked."),
    )
    limit = forms.IntegerField(
        label=_("Items per benchmark"),
        required=False,
        min_value=1,
        max_value=LIMIT_MAX,
        help_text=_("Only the first N items of each benchmark (a quick check: shown, never ranked)."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        suite = self.fields["suite"]
        benchmarks = self.fields["benchmarks"]
        assert isinstance(suite, forms.ChoiceField) and isinstance(benchmarks, forms.ChoiceField)
        suite.choices = suite_choices()
        benchmarks.choices = benchmark_choices()

    def clean_model_id(self) -> str:
        value = self.cleaned_data["model_id"].strip()
        if value.startswith("https://huggingface.co/"):
            # People paste the model's URL; take the repo id from it.
            value = "/".join(value.removeprefix("https://huggingface.co/").split("/")[:2])
        if not REPO_ID_RE.match(value):
            raise forms.ValidationError(
                _("“%(value)s” is not a Hub repo id: use the form owner/name, for example Qwen/Qwen2.5-0.5B."),
                params={"value": value},
                code="invalid_repo_id",
            )
        return value

    def clean_revision(self) -> str:
        value = (self.cleaned_data.get("revision") or "").strip() or "main"
        if not REVISION_RE.match(value):
            raise forms.ValidationError(
                _("“%(value)s” is not a valid revision: use a branch, tag or commit sha."),
                params={"value": value},
                code="invalid_revision",
            )
        return value
