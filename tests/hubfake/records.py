"""Fixture models for the fake Hub, written for LLM Ladder, plus a generator of synthetic ones.

A record is a dict in the Hub's own JSON shape (camelCase keys as `GET /api/models/{id}` returns
them), plus private keys the server never sends as such: `_config_file` (the full config.json
served under /resolve/, whereas the API's `config` only carries architectures/model_type/
tokenizer_config, as on the real Hub), `_readme` (README.md body after the front matter),
`_file_sizes` (file -> size in bytes the tree listing reports, for weights the fake does not serve) and
`_files` (file -> bytes served as is under /resolve/, e.g. a tiny real model's weights).
"""

from __future__ import annotations

import hashlib
import random
from copy import deepcopy
from typing import Any


def fake_sha(*parts: object) -> str:
    """A stable 40-hex commit sha derived from the parts."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()


def _object_id(repo_id: str) -> str:
    return hashlib.md5(repo_id.encode()).hexdigest()[:24]  # an id, not security


def _api_config(full: dict[str, Any]) -> dict[str, Any]:
    """What the Hub's API returns as `config`: a small subset of config.json."""
    keep: dict[str, Any] = {
        k: full[k] for k in ("architectures", "model_type", "auto_map", "quantization_config") if k in full
    }
    keep["tokenizer_config"] = {"bos_token": "<s>", "eos_token": "</s>"}
    return keep


def model_record(
    repo_id: str,
    *,
    pipeline_tag: str | None = "text-generation",
    library_name: str | None = "transformers",
    tags: list[str] | None = None,
    card_data: dict[str, Any] | None = None,
    config_file: dict[str, Any] | None = None,
    safetensors: dict[str, int] | None = None,
    gated: bool | str = False,
    downloads: int = 1000,
    likes: int = 10,
    created_at: str = "2024-01-15T10:00:00.000Z",
    last_modified: str = "2024-06-01T12:00:00.000Z",
    extra_files: tuple[str, ...] = (),
    readme: str = "",
    file_sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Build one record in the Hub's JSON shape (see the module docstring).

    `file_sizes` gives files (added to the repo) the sizes the tree listing reports for them.
    """
    author = repo_id.split("/", 1)[0] if "/" in repo_id else None
    config_file = config_file or {}
    files = [".gitattributes", "README.md"]
    if config_file:
        files.append("config.json")
    if safetensors:
        files.append("model.safetensors")
    files.extend(extra_files)
    files.extend(name for name in file_sizes or {} if name not in files)
    record: dict[str, Any] = {
        "_id": _object_id(repo_id),
        "id": repo_id,
        "modelId": repo_id,
        "author": author,
        "sha": fake_sha(repo_id, 1),
        "private": False,
        "disabled": False,
        "gated": gated,
        "downloads": downloads,
        "likes": likes,
        "trendingScore": 1,
        "tags": list(tags or []),
        "pipeline_tag": pipeline_tag,
        "library_name": library_name,
        "createdAt": created_at,
        "lastModified": last_modified,
        "cardData": deepcopy(card_data or {}),
        "config": _api_config(config_file) if config_file else {},
        "siblings": [{"rfilename": f} for f in files],
        "spaces": [],
        "usedStorage": sum((safetensors or {}).values()) * 2,
        "_config_file": deepcopy(config_file),
        "_readme": readme or f"# {repo_id}\n\nA model card written for the LLM Ladder fake Hub.\n",
    }
    if file_sizes:
        record["_file_sizes"] = dict(file_sizes)
    if safetensors:
        record["safetensors"] = {"parameters": dict(safetensors), "total": sum(safetensors.values())}
    return record


def _llama_config(
    *,
    vocab: int,
    hidden: int,
    layers: int,
    intermediate: int,
    heads: int,
    kv_heads: int,
    ctx: int,
    tied: bool,
    arch: str = "LlamaForCausalLM",
    model_type: str = "llama",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "architectures": [arch],
        "model_type": model_type,
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "intermediate_size": intermediate,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "max_position_embeddings": ctx,
        "tie_word_embeddings": tied,
        "torch_dtype": "bfloat16",
        **extra,
    }


def fixture_models() -> list[dict[str, Any]]:
    """The hand-written fixture models (ids, facts and shapes as documented for the real Hub)."""
    smol_config = _llama_config(
        vocab=49152, hidden=576, layers=30, intermediate=1536, heads=9, kv_heads=3, ctx=8192, tied=True
    )
    llama2_config = _llama_config(
        vocab=32000, hidden=4096, layers=32, intermediate=11008, heads=32, kv_heads=32, ctx=4096, tied=False
    )
    mixtral_config = _llama_config(
        vocab=32000,
        hidden=4096,
        layers=32,
        intermediate=14336,
        heads=32,
        kv_heads=8,
        ctx=32768,
        tied=False,
        arch="MixtralForCausalLM",
        model_type="mixtral",
        num_local_experts=8,
        num_experts_per_tok=2,
    )
    return [
        model_record(
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            tags=[
                "transformers",
                "safetensors",
                "onnx",
                "llama",
                "text-generation",
                "conversational",
                "en",
                "base_model:HuggingFaceTB/SmolLM2-135M",
                "base_model:finetune:HuggingFaceTB/SmolLM2-135M",
                "license:apache-2.0",
                "autotrain_compatible",
                "text-generation-inference",
                "endpoints_compatible",
                "region:us",
            ],
            card_data={
                "library_name": "transformers",
                "license": "apache-2.0",
                "language": ["en"],
                "pipeline_tag": "text-generation",
                "tags": ["safetensors", "onnx", "transformers.js"],
                "base_model": ["HuggingFaceTB/SmolLM2-135M"],
            },
            config_file=smol_config,
            safetensors={"BF16": 134515008},
            downloads=512_000,
            likes=180,
            created_at="2024-10-31T13:42:17.000Z",
            last_modified="2025-02-06T10:33:47.000Z",
        ),
        model_record(
            "HuggingFaceTB/SmolLM2-135M",
            tags=["transformers", "safetensors", "llama", "text-generation", "en", "license:apache-2.0", "region:us"],
            card_data={"library_name": "transformers", "license": "apache-2.0", "language": ["en"]},
            config_file=smol_config,
            safetensors={"BF16": 134515008},
            downloads=300_000,
            likes=90,
            created_at="2024-10-31T13:40:00.000Z",
        ),
        model_record(
            "Qwen/Qwen-7B",
            tags=[
                "transformers",
                "safetensors",
                "qwen",
                "text-generation",
                "custom_code",
                "zh",
                "en",
                "arxiv:2309.16609",
                "license:other",
                "autotrain_compatible",
                "region:us",
            ],
            card_data={
                "language": ["zh", "en"],
                "tags": ["qwen"],
                "pipeline_tag": "text-generation",
                "inference": False,
                "license": "other",
                "license_name": "tongyi-qianwen-license-agreement",
                "license_link": "https://github.com/QwenLM/Qwen/blob/main/Tongyi%20Qianwen%20LICENSE%20AGREEMENT",
            },
            config_file={
                "architectures": ["QWenLMHeadModel"],
                "model_type": "qwen",
                "auto_map": {"AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"},
                "hidden_size": 4096,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "intermediate_size": 22016,
                "vocab_size": 151936,
                "seq_length": 8192,
                "max_position_embeddings": 8192,
            },
            safetensors={"BF16": 7721324544},
            downloads=25_000,
            likes=380,
            created_at="2023-08-03T03:01:31.000Z",
            last_modified="2024-01-04T06:42:50.000Z",
        ),
        model_record(
            "meta-llama/Llama-2-7b-hf",
            gated="manual",
            tags=[
                "transformers",
                "pytorch",
                "safetensors",
                "llama",
                "text-generation",
                "facebook",
                "meta",
                "llama-2",
                "en",
                "arxiv:2307.09288",
                "license:llama2",
                "autotrain_compatible",
                "region:us",
            ],
            card_data={
                "language": ["en"],
                "pipeline_tag": "text-generation",
                "tags": ["facebook", "meta", "pytorch", "llama", "llama-2"],
                "license": "llama2",
                "extra_gated_heading": "You need to share contact information with Meta to access this model",
            },
            config_file=llama2_config,
            safetensors={"F16": 6738415616},
            downloads=800_000,
            likes=2100,
            created_at="2023-07-13T16:16:13.000Z",
            last_modified="2024-04-17T08:40:16.000Z",
        ),
        model_record(
            "THUDM/chatglm-6b",
            tags=["transformers", "pytorch", "chatglm", "glm", "thudm", "custom_code", "zh", "en", "region:us"],
            card_data={"language": ["zh", "en"], "tags": ["glm", "chatglm", "thudm"]},
            config_file={
                "architectures": ["ChatGLMModel"],
                "model_type": "chatglm",
                "auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"},
                "vocab_size": 130528,
                "hidden_size": 4096,
                "num_layers": 28,
                "num_attention_heads": 32,
                "inner_hidden_size": 16384,
                "max_sequence_length": 2048,
                "layernorm_epsilon": 1e-05,
                "position_encoding_2d": True,
                "torch_dtype": "float16",
            },
            safetensors=None,
            extra_files=("pytorch_model-00001-of-00008.bin", "modeling_chatglm.py"),
            downloads=4_000,
            likes=2800,
            created_at="2023-03-13T16:43:53.000Z",
            last_modified="2024-08-04T08:41:38.000Z",
        ),
        model_record(
            "ladder-fixtures/smol-chat-lora",
            library_name="peft",
            tags=[
                "peft",
                "safetensors",
                "en",
                "base_model:adapter:HuggingFaceTB/SmolLM2-135M-Instruct",
                "license:apache-2.0",
                "region:us",
            ],
            card_data={
                "library_name": "peft",
                "license": "apache-2.0",
                "language": "en",
                "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "base_model_relation": "adapter",
                "parameters": "135M",
            },
            extra_files=("adapter_config.json", "adapter_model.safetensors"),
            downloads=12,
            likes=1,
        ),
        model_record(
            "ladder-fixtures/Llama-2-7b-chat-GPTQ",
            tags=[
                "transformers",
                "safetensors",
                "llama",
                "text-generation",
                "en",
                "base_model:quantized:meta-llama/Llama-2-7b-hf",
                "base_model:meta-llama/Llama-2-7b-hf",
                "license:llama2",
                "4-bit",
                "gptq",
                "region:us",
            ],
            card_data={"license": "llama2", "language": ["en"], "base_model": "meta-llama/Llama-2-7b-hf"},
            config_file={
                **llama2_config,
                "quantization_config": {"bits": 4, "quant_method": "gptq", "group_size": 128},
            },
            safetensors={"I32": 849346560, "F16": 328007680},
            downloads=900,
            likes=15,
        ),
        model_record(
            "ladder-fixtures/Qwen-Smol-merge",
            tags=[
                "transformers",
                "safetensors",
                "llama",
                "text-generation",
                "mergekit",
                "merge",
                "base_model:merge:HuggingFaceTB/SmolLM2-135M",
                "base_model:merge:HuggingFaceTB/SmolLM2-135M-Instruct",
                "region:us",
            ],
            card_data={
                "base_model": ["HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct"],
                "base_model_relation": "merge",
                "library_name": "transformers",
                "tags": ["mergekit", "merge"],
                "license": "apache-2.0",
            },
            config_file=smol_config,
            safetensors={"BF16": 134515008},
            downloads=3,
            likes=0,
        ),
        model_record(
            "ladder-fixtures/SmolVLM-256M-Instruct",
            pipeline_tag="image-text-to-text",
            tags=[
                "transformers",
                "safetensors",
                "idefics3",
                "image-text-to-text",
                "conversational",
                "en",
                "license:apache-2.0",
                "region:us",
            ],
            card_data={"license": "apache-2.0", "language": ["en"], "pipeline_tag": "image-text-to-text"},
            config_file={
                "architectures": ["Idefics3ForConditionalGeneration"],
                "model_type": "idefics3",
                "text_config": {"max_position_embeddings": 8192, "model_type": "llama", "hidden_size": 576},
                "vision_config": {"model_type": "idefics3", "hidden_size": 768},
            },
            safetensors={"BF16": 256484928},
            downloads=70_000,
            likes=200,
        ),
        model_record(
            "google-bert/bert-base-uncased",
            pipeline_tag="fill-mask",
            tags=[
                "transformers",
                "pytorch",
                "safetensors",
                "bert",
                "fill-mask",
                "exbert",
                "en",
                "dataset:bookcorpus",
                "dataset:wikipedia",
                "arxiv:1810.04805",
                "license:apache-2.0",
                "region:us",
            ],
            card_data={"language": "en", "tags": ["exbert"], "license": "apache-2.0", "datasets": ["bookcorpus"]},
            config_file={"architectures": ["BertForMaskedLM"], "model_type": "bert", "max_position_embeddings": 512},
            safetensors={"F32": 110106428},
            downloads=60_000_000,
            likes=2200,
            created_at="2022-03-02T23:29:04.000Z",
        ),
        model_record(
            "mistralai/Mixtral-8x7B-v0.1",
            tags=["transformers", "safetensors", "mixtral", "text-generation", "fr", "it", "de", "es", "en"],
            card_data={"license": "apache-2.0", "language": ["fr", "it", "de", "es", "en"]},
            config_file=mixtral_config,
            safetensors={"BF16": 46702792704},
            downloads=40_000,
            likes=1700,
            created_at="2023-12-01T09:42:00.000Z",
        ),
    ]


def synthetic_models(n: int, *, seed: int = 0, orgs: int = 100) -> list[dict[str, Any]]:
    """`n` small llama-like text-generation models spread over `orgs` organizations (for benchmarks)."""
    rng = random.Random(seed)
    licenses = ["apache-2.0", "mit", "llama2", "cc-by-nc-4.0", "gemma"]
    langs = [["en"], ["en", "zh"], ["zh"], ["fr", "en"], ["de"]]
    records = []
    for i in range(n):
        org = f"synth-org-{i % orgs:03d}"
        hidden = rng.choice([256, 512, 768, 1024])
        config = _llama_config(
            vocab=32000,
            hidden=hidden,
            layers=rng.choice([4, 8, 12]),
            intermediate=hidden * 4,
            heads=8,
            kv_heads=rng.choice([2, 4, 8]),
            ctx=rng.choice([2048, 4096, 8192]),
            tied=bool(i % 2),
        )
        lic = licenses[i % len(licenses)]
        lang = langs[i % len(langs)]
        base = f"synth-org-{(i - 1) % orgs:03d}/model-{i - 1:05d}" if i % 10 == 9 else None
        tags = ["transformers", "safetensors", "llama", "text-generation", *lang, f"license:{lic}"]
        card: dict[str, Any] = {"license": lic, "language": lang}
        if base:
            tags += [f"base_model:{base}", f"base_model:finetune:{base}"]
            card["base_model"] = base
        params = rng.randint(20_000_000, 900_000_000)
        records.append(
            model_record(
                f"{org}/model-{i:05d}",
                tags=tags,
                card_data=card,
                config_file=config,
                safetensors={"BF16": params},
                downloads=rng.randint(0, 100_000),
                likes=rng.randint(0, 500),
            )
        )
    return records
