"""What the registry reads out of a Hub model: parameters, license, languages, lineage, modality.

Pure functions over `registry.hub.HubModel` and the repo's config.json; no database, no HTTP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from registry.catalog.licenses import license_key_known
from registry.hub import HubModel

# Pipelines whose models the registry holds (a listing asks the Hub for each).
LLM_PIPELINES = ("text-generation", "image-text-to-text")
VISION_PIPELINES = frozenset({"image-text-to-text", "visual-question-answering", "image-to-text", "video-text-to-text"})
RELATIONS = ("finetune", "adapter", "quantized", "merge")
# The Hub's floor value for repos created before it stored creation dates: not a release date.
HUB_CREATED_FLOOR = datetime(2022, 3, 3).date()

# Custom licenses as the Hub names them (`license: other` + `license_name`) -> our LicenseRef key.
LICENSE_ALIASES = {
    "tongyi-qianwen-license-agreement": "LicenseRef-tongyi-qianwen",
    "tongyi-qianwen": "LicenseRef-tongyi-qianwen",
    "tongyi-qianwen-research": "LicenseRef-tongyi-qianwen",
    "chatglm-6b-model-license": "LicenseRef-chatglm-6b-model-license",
    "chatglm-6b": "LicenseRef-chatglm-6b-model-license",
    "glm-130b": "LicenseRef-glm-130b-model-license",
    "tencent-hunyuan-community": "LicenseRef-tencent-hunyuan-community",
    "tencent-license": "LicenseRef-tencent-hunyuan-community",
}

ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee "
    "el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is "
    "it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms "
    "mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk "
    "sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu".split()
)


@dataclass
class ModelFacts:
    """Everything a sync writes for one model, derived from the Hub."""

    repo_id: str
    name: str
    author: str
    sha: str
    gated: str
    parameters: int | None
    parameters_source: str
    active_parameters: int | None
    architecture: str
    model_type: str
    context_length: int | None
    languages: list[str]
    license_key: str
    license_name: str
    base_ref: str
    base_relation: str
    modality: str
    pipeline_tag: str
    library_name: str
    tags: list[str]
    downloads: int | None
    likes: int | None
    created_at: datetime | None
    last_modified: datetime | None
    release_date: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _clip(value: str | None, size: int) -> str:
    return (value or "")[:size]


def hub_model_facts(info: HubModel, config_file: dict[str, Any] | None = None) -> ModelFacts:
    """Derive the registry's facts from a Hub model and (optionally) its full config.json."""
    config = {**(info.config or {}), **(config_file or {})}
    parameters, source, active = model_parameters(info, config)
    license_key, license_raw = model_license(info)
    base_ref, relation = model_lineage(info, config)
    architectures = config.get("architectures") or []
    created = info.created_at
    return ModelFacts(
        repo_id=info.repo_id,
        name=_clip(info.repo_id.split("/", 1)[-1], 200),
        author=_clip(info.author or info.repo_id.split("/", 1)[0], 100),
        sha=info.sha,
        gated=info.gated if info.gated in ("auto", "manual") else "",
        parameters=parameters,
        parameters_source=source,
        active_parameters=active,
        architecture=_clip(str(architectures[0]) if architectures else "", 100),
        model_type=_clip(str(config.get("model_type") or ""), 60),
        context_length=context_length(config),
        languages=model_languages(info),
        license_key=license_key,
        license_name=_clip(license_raw, 200),
        base_ref=_clip(base_ref, 200),
        base_relation=relation,
        modality="vision-language" if is_vision_language(info, config) else "text",
        pipeline_tag=_clip(info.pipeline_tag, 60),
        library_name=_clip(info.library_name, 60),
        tags=list(info.tags),
        downloads=info.downloads,
        likes=info.likes,
        created_at=created,
        last_modified=info.last_modified,
        release_date=created.date() if created and created.date() > HUB_CREATED_FLOOR else None,
    )


# -- parameters --------------------------------------------------------------------------------------
def model_parameters(info: HubModel, config: dict[str, Any]) -> tuple[int | None, str, int | None]:
    """(parameters, source, active parameters): safetensors total, else config arithmetic, else the card."""
    from_config, active_config = config_parameters(config)
    if info.safetensors_total:
        total = int(info.safetensors_total)
        active = None
        if from_config and active_config and active_config < from_config:
            active = total - (from_config - active_config)  # the experts a token does not use
        return total, "safetensors", active if active and active > 0 else None
    if from_config:
        return from_config, "config", active_config if active_config != from_config else None
    card_count, card_active = card_parameter_counts(info.card_data)
    if card_count:
        return card_count, "card", card_active if card_active and card_active < card_count else None
    return None, "", None


def _int(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def config_parameters(config: dict[str, Any]) -> tuple[int | None, int | None]:
    """(total, active) parameters computed from a config.json, for llama-like and GLM configs.

    Llama-like: embeddings (+ an untied LM head), per layer q/k/v/o projections (grouped KV heads,
    optional q/k/v biases), a gated MLP (three matrices; MoE: every expert plus the router) and two
    RMSNorms, plus the final norm. GLM (ChatGLM-6B): fused QKV and MLP with biases, LayerNorms with
    biases, tied head. Returns (None, None) when the config lacks what the formula needs.
    """
    if config.get("model_type") == "chatglm" or ("inner_hidden_size" in config and "num_layers" in config):
        return _glm_parameters(config)
    hidden = _int(config, "hidden_size", "d_model")
    layers = _int(config, "num_hidden_layers", "n_layer")
    vocab = _int(config, "vocab_size", "padded_vocab_size")
    intermediate = _int(config, "intermediate_size")
    heads = _int(config, "num_attention_heads")
    if not all((hidden, layers, vocab, intermediate, heads)):
        return None, None
    assert hidden and layers and vocab and intermediate and heads
    kv_heads = _int(config, "num_key_value_heads") or heads
    head_dim = _int(config, "head_dim") or hidden // heads
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    if config.get("attention_bias") or config.get("model_type") in {"qwen2", "qwen2_moe"}:
        attention += heads * head_dim + 2 * kv_heads * head_dim
    experts = _int(config, "num_local_experts", "num_experts", "n_routed_experts")
    per_token = _int(config, "num_experts_per_tok", "moe_topk")
    if experts and per_token:
        expert_size = 3 * hidden * (_int(config, "moe_intermediate_size") or intermediate)
        shared = _int(config, "shared_expert_intermediate_size")
        shared_size = 3 * hidden * shared if shared else 0
        router = hidden * experts
        mlp_total = experts * expert_size + router + shared_size
        mlp_active = per_token * expert_size + router + shared_size
    else:
        mlp_total = mlp_active = 3 * hidden * intermediate
    norms = 2 * hidden
    tied = bool(config.get("tie_word_embeddings", False))
    outside = vocab * hidden * (1 if tied else 2) + hidden
    total = outside + layers * (attention + mlp_total + norms)
    active = outside + layers * (attention + mlp_active + norms)
    return total, active


def _glm_parameters(config: dict[str, Any]) -> tuple[int | None, int | None]:
    hidden = _int(config, "hidden_size")
    layers = _int(config, "num_layers", "num_hidden_layers")
    vocab = _int(config, "vocab_size")
    inner = _int(config, "inner_hidden_size", "ffn_hidden_size") or (4 * hidden if hidden else None)
    if not (hidden and layers and vocab and inner):
        return None, None
    layer = (
        2 * hidden  # input LayerNorm (weight + bias)
        + hidden * 3 * hidden
        + 3 * hidden  # fused QKV with bias
        + hidden * hidden
        + hidden  # attention output
        + 2 * hidden  # post-attention LayerNorm
        + hidden * inner
        + inner  # MLP up
        + inner * hidden
        + hidden  # MLP down
    )
    total = vocab * hidden + layers * layer + 2 * hidden  # tied head, final LayerNorm
    return total, total


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMBT]?)\s*$", re.IGNORECASE)
# A count inside a sentence: "46.7B total parameters, 12.9B active" (the unit is required there).
_SIZE_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*([KMBT])\b([^,;()\d]{0,40})", re.IGNORECASE)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
CARD_PARAMETER_KEYS = ("parameters", "params", "num_parameters", "model_size", "parameter_count", "total_parameters")
CARD_ACTIVE_KEYS = ("active_parameters", "activated_parameters", "active_params")


def _card_count(value: Any) -> tuple[int | None, int | None]:
    """(total, active) from one card value: a number, "6.2B", or a phrase naming the active part."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, None
    if not isinstance(value, str):
        return None, None
    if match := _SIZE.match(value):
        return int(float(match.group(1)) * _SCALE[match.group(2).upper()]) or None, None
    total = active = None
    for number, unit, words in _SIZE_IN_TEXT.findall(value[:500]):
        count = int(float(number) * _SCALE[unit.upper()]) or None
        if "activ" in words.lower():
            active = active or count
        else:
            total = total or count
    return total, active


def card_parameter_counts(card: dict[str, Any]) -> tuple[int | None, int | None]:
    """(total, active) parameter counts stated in the card metadata ("parameters: 6.2B",
    "params: 135000000", "parameters: 46.7B total parameters, 12.9B active", "active_parameters: 12.9B").

    Untrusted text: the registry shows it labelled as the card's (parameters_source "card"); the
    submission policy never reads it (see weights_parameter_bound).
    """
    total = active = None
    for key in CARD_PARAMETER_KEYS:
        total, active = _card_count(card.get(key))
        if total:
            break
    if total and not active:
        for key in CARD_ACTIVE_KEYS:
            active = _card_count(card.get(key))[0]
            if active:
                break
    return (total, active) if total else (None, None)


def card_parameters(card: dict[str, Any]) -> int | None:
    """The total parameter count stated in the card metadata (see card_parameter_counts)."""
    return card_parameter_counts(card)[0]


# -- the submission policy's size: what the weights themselves prove --------------------------------------
# Smallest plausible bytes per parameter of each weights format, so that a count derived from file sizes
# is an upper bound: nobody can make a large model look small by the format they store it in. Checkpoints
# are assumed 16-bit unless the revision's config declares a quantization (then bits / 8); GGUF files can
# hold quantizations down to about 1.6 bits per weight.
WEIGHT_BYTES_PER_PARAMETER = {".safetensors": 2.0, ".bin": 2.0, ".pt": 2.0, ".pth": 2.0, ".gguf": 0.2}


@dataclass(frozen=True)
class WeightsSize:
    """How large a revision's weights are: `parameters` (an exact count or an upper bound), `basis`
    ("safetensors": the Hub's count from the safetensors headers; "files": weight file sizes) and
    `weight_bytes` (the largest copy of the weights in the repo, for "files")."""

    parameters: int | None
    basis: str
    weight_bytes: int = 0


def _quantized_bytes_per_parameter(config: dict[str, Any]) -> float | None:
    """Bytes per parameter a config's quantization implies (4-bit GPTQ/AWQ -> 0.5, int8/fp8 -> 1)."""
    quant = config.get("quantization_config")
    if isinstance(quant, dict):
        bits = quant.get("bits") or quant.get("w_bit") or quant.get("weight_bits")
        if isinstance(bits, int | float) and not isinstance(bits, bool) and 0 < bits <= 16:
            return bits / 8
        if quant.get("load_in_4bit"):
            return 0.5
        return 1.0  # fp8, int8 and schemes we do not know: at least one byte per weight
    dtype = str(config.get("torch_dtype") or "").lower()
    if "int8" in dtype or "float8" in dtype or "fp8" in dtype:
        return 1.0
    return None


def weights_parameter_bound(
    info: HubModel, files: Sequence[Any] = (), config: dict[str, Any] | None = None
) -> WeightsSize:
    """The size of a revision's weights that a submission policy can trust: never the card.

    `info` is the revision's own model_info; `files` its tree listing (objects with `path` and
    `size`, e.g. registry.hub.HubFile). The Hub's safetensors total when it has one; otherwise the
    largest copy of the weights in the repo (weight files grouped by folder and format, sizes summed)
    divided by the format's smallest plausible bytes per parameter: an upper bound. A revision with
    neither has parameters None.
    """
    if info.safetensors_total:
        return WeightsSize(int(info.safetensors_total), "safetensors")
    config = {**(info.config or {}), **(config or {})}
    quantized = _quantized_bytes_per_parameter(config)
    copies: dict[tuple[str, str], int] = {}
    for entry in files:
        folder, _, name = str(entry.path).rpartition("/")
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if suffix in WEIGHT_BYTES_PER_PARAMETER and int(entry.size or 0) > 0:
            copies[(folder, suffix)] = copies.get((folder, suffix), 0) + int(entry.size)
    if not copies:
        return WeightsSize(None, "")
    bounds = []
    for (_folder, suffix), size in copies.items():
        per_parameter = WEIGHT_BYTES_PER_PARAMETER[suffix]
        if quantized is not None and suffix != ".gguf":
            per_parameter = min(per_parameter, quantized)
        bounds.append((math.ceil(size / per_parameter), size))
    parameters, size = max(bounds)
    return WeightsSize(parameters, "files", size)


def context_length(config: dict[str, Any]) -> int | None:
    """The context window from config.json (max_position_embeddings and its other spellings)."""
    found = _int(config, "max_position_embeddings", "seq_length", "max_sequence_length", "n_positions", "n_ctx")
    if found is None and isinstance(config.get("text_config"), dict):
        found = _int(config["text_config"], "max_position_embeddings", "seq_length", "max_sequence_length")
    return found


# -- license, languages, lineage, modality -------------------------------------------------------------
def model_license(info: HubModel) -> tuple[str, str]:
    """(normalized license key, the raw string from the card/tags); ("", "") when the Hub says nothing."""
    card = info.card_data or {}
    raw = card.get("license")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if not raw:
        raw = next((t.split(":", 1)[1] for t in info.tags if t.startswith("license:")), None)
    if not raw:
        return "", ""
    raw = str(raw).strip()
    # Only keys of the known license list become keys; any other text (a typo, a custom name, a cell
    # such as `=HYPERLINK(...)`) is `other`, with the text kept as data in license_name.
    if raw.lower() == "other":
        name = str(card.get("license_name") or "").strip()
        if name:
            known = (
                LICENSE_ALIASES.get(name.lower()) or license_key_known(name) or license_key_known(f"LicenseRef-{name}")
            )
            return known or "other", name
        return "other", raw
    return license_key_known(raw) or "other", raw


def model_languages(info: HubModel) -> list[str]:
    """ISO 639-1 codes from cardData.language (a string or a list) and from two-letter tags."""
    card_value = (info.card_data or {}).get("language")
    values = [card_value] if isinstance(card_value, str) else list(card_value or [])
    values += [t for t in info.tags if len(t) == 2]
    codes: list[str] = []
    for value in values:
        code = re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]
        if code in ISO_639_1 and code not in codes:
            codes.append(code)
    return codes


def model_lineage(info: HubModel, config: dict[str, Any]) -> tuple[str, str]:
    """(base model id, relation) from cardData.base_model/base_model_relation and base_model: tags."""
    card = info.card_data or {}
    bases = card.get("base_model")
    bases = [bases] if isinstance(bases, str) else [str(b) for b in (bases or [])]
    tag_relations: dict[str, str] = {}
    for tag in info.tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:") :]
        relation, _, target = rest.partition(":")
        if relation in RELATIONS and target:
            tag_relations.setdefault(target, relation)
        elif rest not in bases:
            bases.append(rest)
    for target in tag_relations:
        if target not in bases:
            bases.append(target)
    bases = [b for b in bases if b and b.lower() != info.repo_id.lower()]
    if not bases:
        return "", ""
    base = bases[0]
    relation = str(card.get("base_model_relation") or tag_relations.get(base) or "")
    if relation not in RELATIONS:
        if len(bases) > 1:
            relation = "merge"
        elif info.library_name == "peft" or "adapter_config.json" in info.siblings:
            relation = "adapter"
        elif "quantization_config" in config or {"gguf", "gptq", "awq"} & set(info.tags):
            relation = "quantized"
        else:
            relation = "finetune"
    return base, relation


def is_vision_language(info: HubModel, config: dict[str, Any]) -> bool:
    return info.pipeline_tag in VISION_PIPELINES or isinstance(config.get("vision_config"), dict)
