"""A model spec's engine options reach the vLLM engine: how a model larger than one GPU is split."""
from inference.backends.vllm_engine import engine_kwargs


def test_tensor_parallelism_comes_from_the_model_specs_engine_options(settings):
    kwargs = engine_kwargs(model_path="/models/big", options={"tensor_parallel_size": 4, "dry_run": False})
    assert kwargs["tensor_parallel_size"] == 4
    assert "dry_run" not in kwargs  # the platform's own options never reach vLLM
    assert kwargs["enable_prefix_caching"] is True
