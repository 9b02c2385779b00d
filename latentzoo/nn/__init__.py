"""Building blocks in plain torch, each built from explicit keyword arguments, no application
config.

- `layers`: activations, GroupNorm placement, the residual block.
- `backbones`: the mlp and conv encoder/decoder trunks and the heads that make vectors or grids.
- `quantizers`: vector quantization (`vq`) and finite scalar quantization (`fsq`), one per file.
- `transformer`: the causal transformer block with a key/value cache.
The models in `latentzoo.models` assemble these.
"""
