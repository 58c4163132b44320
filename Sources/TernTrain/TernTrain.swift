// TernTrain: LoRA adapters, backward passes, AdamW, datasets, checkpoints.
@_exported import TernModel
