"""Licenses and languages the registry knows, seeded by `load_catalog`.

Keys are Hugging Face license ids where the Hub has one, SPDX-style `LicenseRef-*` for custom model
licenses (the Hub shows those as `license: other` plus a `license_name`), `proprietary` for API-only
models and `unknown`/`other` where nothing was verified. `commercial` is one of License.Commercial:
"yes" (allowed), "restricted" (allowed with conditions: user caps, use policies, registration),
"no" (research / non-commercial only), "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LicenseFact:
    key: str
    name: str
    family: str
    osi_approved: bool
    commercial: str
    url: str = ""


LICENSES: tuple[LicenseFact, ...] = (
    # Permissive and copyleft open-source licenses (OSI approved): commercial use is allowed.
    LicenseFact(
        "apache-2.0", "Apache License 2.0", "apache", True, "yes", "https://www.apache.org/licenses/LICENSE-2.0"
    ),
    LicenseFact("mit", "MIT License", "mit", True, "yes", "https://opensource.org/license/mit"),
    LicenseFact(
        "bsd-3-clause", "BSD 3-Clause License", "bsd", True, "yes", "https://opensource.org/license/bsd-3-clause"
    ),
    LicenseFact(
        "bsd-2-clause", "BSD 2-Clause License", "bsd", True, "yes", "https://opensource.org/license/bsd-2-clause"
    ),
    LicenseFact("mpl-2.0", "Mozilla Public License 2.0", "mpl", True, "yes", "https://opensource.org/license/mpl-2-0"),
    LicenseFact(
        "gpl-2.0", "GNU General Public License v2.0", "gpl", True, "yes", "https://www.gnu.org/licenses/gpl-2.0"
    ),
    LicenseFact(
        "gpl-3.0", "GNU General Public License v3.0", "gpl", True, "yes", "https://www.gnu.org/licenses/gpl-3.0"
    ),
    LicenseFact(
        "lgpl-3.0",
        "GNU Lesser General Public License v3.0",
        "gpl",
        True,
        "yes",
        "https://www.gnu.org/licenses/lgpl-3.0",
    ),
    LicenseFact(
        "agpl-3.0",
        "GNU Affero General Public License v3.0",
        "gpl",
        True,
        "yes",
        "https://www.gnu.org/licenses/agpl-3.0",
    ),
    LicenseFact("unlicense", "The Unlicense", "public-domain", True, "yes", "https://unlicense.org/"),
    # Creative Commons: not OSI licenses; the NC variants forbid commercial use.
    LicenseFact(
        "cc0-1.0",
        "Creative Commons Zero v1.0",
        "cc0",
        False,
        "yes",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    LicenseFact(
        "cc-by-4.0",
        "Creative Commons Attribution 4.0",
        "cc-by",
        False,
        "yes",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    LicenseFact(
        "cc-by-sa-4.0",
        "Creative Commons Attribution-ShareAlike 4.0",
        "cc-by-sa",
        False,
        "yes",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    LicenseFact(
        "cc-by-nc-4.0",
        "Creative Commons Attribution-NonCommercial 4.0",
        "cc-by-nc",
        False,
        "no",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    ),
    LicenseFact(
        "cc-by-nc-sa-4.0",
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
        "cc-by-nc",
        False,
        "no",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    ),
    LicenseFact(
        "cc-by-nc-nd-4.0",
        "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
        "cc-by-nc",
        False,
        "no",
        "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    ),
    # Model licenses with use conditions.
    LicenseFact(
        "llama2", "Llama 2 Community License", "llama", False, "restricted", "https://ai.meta.com/llama/license/"
    ),
    LicenseFact(
        "llama3",
        "Meta Llama 3 Community License",
        "llama",
        False,
        "restricted",
        "https://llama.meta.com/llama3/license/",
    ),
    LicenseFact(
        "llama3.1",
        "Llama 3.1 Community License",
        "llama",
        False,
        "restricted",
        "https://llama.meta.com/llama3_1/license/",
    ),
    LicenseFact(
        "llama3.2",
        "Llama 3.2 Community License",
        "llama",
        False,
        "restricted",
        "https://llama.meta.com/llama3_2/license/",
    ),
    LicenseFact(
        "llama3.3",
        "Llama 3.3 Community License",
        "llama",
        False,
        "restricted",
        "https://www.llama.com/llama3_3/license/",
    ),
    LicenseFact(
        "llama4", "Llama 4 Community License", "llama", False, "restricted", "https://www.llama.com/llama4/license/"
    ),
    LicenseFact("gemma", "Gemma Terms of Use", "gemma", False, "restricted", "https://ai.google.dev/gemma/terms"),
    LicenseFact("openrail", "Open RAIL", "openrail", False, "restricted", "https://www.licenses.ai/"),
    LicenseFact("openrail++", "Open RAIL++-M", "openrail", False, "restricted", "https://www.licenses.ai/"),
    LicenseFact(
        "bigscience-openrail-m",
        "BigScience Open RAIL-M",
        "openrail",
        False,
        "restricted",
        "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
    ),
    LicenseFact(
        "bigscience-bloom-rail-1.0",
        "BigScience BLOOM RAIL 1.0",
        "openrail",
        False,
        "restricted",
        "https://bigscience.huggingface.co/blog/the-bigscience-rail-license",
    ),
    LicenseFact(
        "creativeml-openrail-m",
        "CreativeML Open RAIL-M",
        "openrail",
        False,
        "restricted",
        "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
    ),
    LicenseFact(
        "bigcode-openrail-m",
        "BigCode Open RAIL-M",
        "openrail",
        False,
        "restricted",
        "https://www.bigcode-project.org/docs/pages/bigcode-openrail/",
    ),
    # The rest of the license ids the Hub's model cards accept (huggingface.co/docs/hub/repositories-licenses).
    LicenseFact("afl-3.0", "Academic Free License v3.0", "afl", True, "yes"),
    LicenseFact("artistic-2.0", "Artistic License 2.0", "artistic", True, "yes"),
    LicenseFact("bsl-1.0", "Boost Software License 1.0", "bsl", True, "yes"),
    LicenseFact("bsd", "BSD license family", "bsd", True, "yes"),
    LicenseFact("bsd-3-clause-clear", "BSD 3-Clause Clear License", "bsd", False, "yes"),
    LicenseFact("c-uda", "Computational Use of Data Agreement", "c-uda", False, "unknown"),
    LicenseFact("cc", "Creative Commons license family", "cc", False, "unknown"),
    LicenseFact("cc-by-2.0", "Creative Commons Attribution 2.0", "cc-by", False, "yes"),
    LicenseFact("cc-by-2.5", "Creative Commons Attribution 2.5", "cc-by", False, "yes"),
    LicenseFact("cc-by-3.0", "Creative Commons Attribution 3.0", "cc-by", False, "yes"),
    LicenseFact("cc-by-sa-3.0", "Creative Commons Attribution-ShareAlike 3.0", "cc-by-sa", False, "yes"),
    LicenseFact("cc-by-nd-4.0", "Creative Commons Attribution-NoDerivatives 4.0", "cc-by-nd", False, "restricted"),
    LicenseFact("cc-by-nc-2.0", "Creative Commons Attribution-NonCommercial 2.0", "cc-by-nc", False, "no"),
    LicenseFact("cc-by-nc-3.0", "Creative Commons Attribution-NonCommercial 3.0", "cc-by-nc", False, "no"),
    LicenseFact(
        "cc-by-nc-nd-3.0", "Creative Commons Attribution-NonCommercial-NoDerivatives 3.0", "cc-by-nc", False, "no"
    ),
    LicenseFact(
        "cc-by-nc-sa-2.0", "Creative Commons Attribution-NonCommercial-ShareAlike 2.0", "cc-by-nc", False, "no"
    ),
    LicenseFact(
        "cc-by-nc-sa-3.0", "Creative Commons Attribution-NonCommercial-ShareAlike 3.0", "cc-by-nc", False, "no"
    ),
    LicenseFact("cdla-sharing-1.0", "Community Data License Agreement – Sharing 1.0", "cdla", False, "yes"),
    LicenseFact("cdla-permissive-1.0", "Community Data License Agreement – Permissive 1.0", "cdla", False, "yes"),
    LicenseFact("cdla-permissive-2.0", "Community Data License Agreement – Permissive 2.0", "cdla", False, "yes"),
    LicenseFact("wtfpl", "Do What The F*ck You Want To Public License", "public-domain", False, "yes"),
    LicenseFact("ecl-2.0", "Educational Community License v2.0", "ecl", True, "yes"),
    LicenseFact("epl-1.0", "Eclipse Public License 1.0", "epl", True, "yes"),
    LicenseFact("epl-2.0", "Eclipse Public License 2.0", "epl", True, "yes"),
    LicenseFact("etalab-2.0", "Etalab Open License 2.0", "etalab", False, "yes"),
    LicenseFact("eupl-1.1", "European Union Public License 1.1", "eupl", True, "yes"),
    LicenseFact("eupl-1.2", "European Union Public License 1.2", "eupl", True, "yes"),
    LicenseFact("gfdl", "GNU Free Documentation License family", "gpl", False, "yes"),
    LicenseFact("gpl", "GNU General Public License family", "gpl", True, "yes"),
    LicenseFact("lgpl", "GNU Lesser General Public License family", "gpl", True, "yes"),
    LicenseFact("lgpl-2.1", "GNU Lesser General Public License v2.1", "gpl", True, "yes"),
    LicenseFact("lgpl-lr", "Lesser General Public License For Linguistic Resources", "gpl", False, "yes"),
    LicenseFact("isc", "ISC License", "isc", True, "yes"),
    LicenseFact("h-research", "H Research License", "research", False, "no"),
    LicenseFact("intel-research", "Intel Research Use License Agreement", "research", False, "no"),
    LicenseFact("lppl-1.3c", "LaTeX Project Public License v1.3c", "lppl", True, "yes"),
    LicenseFact("ms-pl", "Microsoft Public License", "ms-pl", True, "yes"),
    LicenseFact("apple-ascl", "Apple Sample Code License", "apple", False, "unknown"),
    LicenseFact("apple-amlr", "Apple Machine Learning Research Model License", "apple", False, "no"),
    LicenseFact("odc-by", "Open Data Commons Attribution License", "odc", False, "yes"),
    LicenseFact("odbl", "Open Database License", "odc", False, "yes"),
    LicenseFact("pddl", "Open Data Commons Public Domain Dedication and License", "odc", False, "yes"),
    LicenseFact("openmdw-1.0", "OpenMDW License 1.0", "openmdw", False, "yes"),
    LicenseFact("osl-3.0", "Open Software License 3.0", "osl", True, "yes"),
    LicenseFact("postgresql", "PostgreSQL License", "postgresql", True, "yes"),
    LicenseFact("ofl-1.1", "SIL Open Font License 1.1", "ofl", True, "yes"),
    LicenseFact("ncsa", "University of Illinois/NCSA Open Source License", "ncsa", True, "yes"),
    LicenseFact("zlib", "zlib License", "zlib", True, "yes"),
    LicenseFact("deepfloyd-if-license", "DeepFloyd IF License Agreement", "research", False, "no"),
    LicenseFact("fair-noncommercial-research-license", "FAIR Noncommercial Research License", "research", False, "no"),
    LicenseFact("grok2-community", "Grok 2 Community License", "grok", False, "restricted"),
    # Custom model licenses the catalog uses (the Hub shows them as license: other).
    LicenseFact(
        "LicenseRef-llama-1-noncommercial",
        "LLaMA (v1) non-commercial research license",
        "llama",
        False,
        "no",
        "https://github.com/meta-llama/llama/blob/llama_v1/MODEL_CARD.md",
    ),
    LicenseFact(
        "LicenseRef-chatglm-6b-model-license",
        "ChatGLM-6B Model License",
        "glm",
        False,
        "restricted",
        "https://github.com/THUDM/ChatGLM-6B/blob/main/MODEL_LICENSE",
    ),
    LicenseFact(
        "LicenseRef-glm-130b-model-license",
        "GLM-130B Model License",
        "glm",
        False,
        "unknown",
        "https://github.com/THUDM/GLM-130B/blob/main/MODEL_LICENSE",
    ),
    LicenseFact(
        "LicenseRef-tongyi-qianwen",
        "Tongyi Qianwen License Agreement",
        "qwen",
        False,
        "restricted",
        "https://github.com/QwenLM/Qwen/blob/main/Tongyi%20Qianwen%20LICENSE%20AGREEMENT",
    ),
    LicenseFact(
        "LicenseRef-tencent-hunyuan-community",
        "Tencent Hunyuan Community License",
        "hunyuan",
        False,
        "restricted",
        "https://github.com/Tencent/Tencent-Hunyuan-Large/blob/main/License.docx",
    ),
    # API-only models: usable commercially under the vendor's terms of service.
    LicenseFact("proprietary", "Proprietary (API terms of service)", "proprietary", False, "restricted"),
    LicenseFact("other", "Other (see the model card)", "other", False, "unknown"),
    LicenseFact("unknown", "Unknown", "unknown", False, "unknown"),
)

_KNOWN_KEYS = {fact.key.lower(): fact.key for fact in LICENSES}


def license_key_known(raw: str | None) -> str | None:
    """The registry's key for a license id (case-insensitive), or None when the id is not a known license.

    Only keys from LICENSES are ever written as a model's license: unknown text is kept as data
    (`license_name`) under the key `other`, never as a key of its own.
    """
    if not raw:
        return None
    return _KNOWN_KEYS.get(str(raw).strip().lower())


# ISO 639-1 codes with their English names: the catalog's languages and those common on the Hub.
LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "ms": "Malay",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
