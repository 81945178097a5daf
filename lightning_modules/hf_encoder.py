"""Fine-tune a pretrained HuggingFace encoder (BERT, RoBERTa, DeBERTa, ...) from a local directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from lightning_modules.base import BaseClassifierModule
from nethical.calibration import TORCH_METHODS, check_method
from nethical.data.encoding import BYTE_OFFSET, PAD_ID
from nethical.exceptions import ConfigError, ModelLoadError
from nethical.registry import WEIGHTS_FILE

TOKENIZER_FILE = "tokenizer.json"
ENCODER_CONFIG_FILE = "encoder_config.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
POOLINGS = ("cls", "mean")


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise ConfigError("model type hf_encoder needs the optional HuggingFace extra: pip install 'nethical-trainer[hf]' "
                          "(or pip install transformers).") from None
    return transformers


def check_pretrained_dir(pretrained: str) -> Optional[Path]:
    """The local directory ``pretrained`` names, checked; ``None`` when it names a hub id instead.

    A local directory must hold ``config.json`` of an encoder-only model, ``model.safetensors`` (``.bin`` files are
    pickles and are refused) and a tokenizer (``tokenizer.json`` or a vocabulary file). Raises :class:`ConfigError`.
    """
    path = Path(pretrained).expanduser()
    looks_local = path.exists() or pretrained.startswith((".", "/", "~")) or pretrained.count("/") > 1
    if not looks_local:
        return None
    name = f"HFEncoderClassifier(pretrained={pretrained!r})"
    if not path.is_dir():
        raise ConfigError(f"{name}: no such directory; pass a directory made by save_pretrained() (config.json, "
                          "model.safetensors, tokenizer files) or a hub id such as prajjwal1/bert-tiny.")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not (path / WEIGHTS_FILE).is_file():
        missing.append(WEIGHTS_FILE + (" (pytorch_model.bin is a pickle and is not loaded)"
                                       if (path / "pytorch_model.bin").exists() else ""))
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append("a tokenizer (" + " or ".join(TOKENIZER_FILES) + ")")
    if missing:
        raise ConfigError(f"{name} is missing {', '.join(missing)}; save the model and its tokenizer there with "
                          "model.save_pretrained(dir) and tokenizer.save_pretrained(dir).")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{name}: config.json is not valid JSON ({exc}).") from None
    check_encoder_config(config, name)
    return path


def check_encoder_config(config: Dict[str, Any], name: str) -> None:
    """Refuse decoders and encoder-decoders: only models with a masked-LM (encoder) architecture are fine-tuned."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    model_type = config.get("model_type")
    if (model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES or config.get("is_encoder_decoder")
            or config.get("is_decoder")):
        raise ConfigError(f"{name}: model_type {model_type!r} is not an encoder (decoders and encoder-decoders such as "
                          "gpt2 or t5 are not supported); use a BERT-like encoder, e.g. bert, roberta, deberta-v2, "
                          "distilbert, electra, xlm-roberta, modernbert.")


def bytes_to_texts(x: torch.Tensor) -> List[str]:
    """The datamodule's byte ids back to strings (the bytes it kept after truncation)."""
    arr = x.detach().to("cpu", torch.int64).numpy()
    out = []
    for row in arr:
        row = row[row != PAD_ID]
        out.append((row - BYTE_OFFSET).astype(np.uint8).tobytes().decode("utf-8", errors="ignore"))
    return out


class HFEncoderClassifier(BaseClassifierModule):
    """A pretrained HuggingFace encoder with its own tokenizer, fine-tuned for P(risky).

    The encoder and tokenizer come from ``pretrained``: a local directory (nothing is downloaded; it must hold
    ``config.json``, ``model.safetensors`` and tokenizer files) or, only when it is not a local path, a hub id that
    ``transformers`` downloads into its cache. The datamodule's text window (``max_length`` bytes, ``truncation``)
    is cut first; the tokenizer then keeps at most ``max_tokens`` tokens. The [CLS] vector (``pooling: cls``) or the
    mean of the token vectors (``mean``) goes through dropout and a linear head. AdamW with linear warm-up and
    linear decay (the usual fine-tuning recipe), gradient clipping, and temperature calibration on the calibration
    slice. Mixed precision comes from the trainer (``--trainer.precision bf16-mixed`` or ``16-mixed`` on a GPU).

    The saved model is self-contained: the fine-tuned weights (``model.safetensors``, no pickle), the encoder's
    config (``encoder_config.json``) and the tokenizer (``tokenizer.json``), so scoring never needs the original
    directory or the hub.

    Args:
        pretrained: local directory made by ``save_pretrained`` (or a hub id).
        max_tokens: most tokens per text (at most the encoder's position limit).
        pooling: ``cls`` or ``mean``.
        dropout: dropout before the head.
        lr: peak learning rate.
        weight_decay: AdamW decoupled weight decay (not on biases and norms).
        warmup_ratio: share of steps spent warming up.
        max_grad_norm: gradient-norm clip (0 = off).
        calibration: ``temperature`` or ``none``.
        ece_bins: equal-width bins for ECE.
    """

    model_type = "hf_encoder"
    input_kinds = ("text",)

    def __init__(
        self,
        pretrained: str = "",
        max_tokens: int = 256,
        pooling: str = "cls",
        dropout: float = 0.1,
        lr: float = 3e-5,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        max_grad_norm: float = 1.0,
        calibration: str = "temperature",
        ece_bins: int = 10,
    ) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay, ece_bins=ece_bins)
        name = type(self).__name__
        if not pretrained:
            raise ConfigError(f"{name}(pretrained='') names no encoder; pass a local directory made by save_pretrained() "
                              "(--model.init_args.pretrained /path/to/encoder).")
        if max_tokens < 2:
            raise ConfigError(f"{name}(max_tokens={max_tokens}) must be >= 2, e.g. 256.")
        if pooling not in POOLINGS:
            raise ConfigError(f"{name}(pooling={pooling!r}) is not known; use one of {', '.join(POOLINGS)}.")
        if not 0.0 <= dropout < 1.0 or not 0.0 <= warmup_ratio < 1.0 or max_grad_norm < 0:
            raise ConfigError(f"{name}: dropout and warmup_ratio must be in [0, 1) and max_grad_norm >= 0.")
        _transformers()
        self._local_dir = check_pretrained_dir(pretrained)
        self.save_hyperparameters()
        self.calibration = check_method(name, calibration, TORCH_METHODS)
        self.encoder: Optional[nn.Module] = None
        self.tokenizer: Any = None
        self._encoder_config: Optional[Dict[str, Any]] = None

    @classmethod
    def check_init_args(cls, init_args: Dict[str, Any]) -> None:
        """Called by the CLI before anything is built: the optional extra is installed and ``pretrained`` names a
        usable directory (or a hub id)."""
        _transformers()
        pretrained = init_args.get("pretrained") or ""
        if not pretrained:
            raise ConfigError("HFEncoderClassifier(pretrained='') names no encoder; pass a local directory made by "
                              "save_pretrained() (--model.init_args.pretrained /path/to/encoder).")
        check_pretrained_dir(str(pretrained))

    # ------------------------------------------------------------------ building
    def build(self, input_spec: Dict[str, Any], saved_dir: Optional[Path] = None) -> None:
        super().build(input_spec)
        tf = _transformers()
        h = self.hparams
        try:
            if saved_dir is not None:  # a saved model: config + tokenizer from its directory, weights loaded after
                config_dict = json.loads((saved_dir / ENCODER_CONFIG_FILE).read_text(encoding="utf-8"))
                special = {k: v for k, v in (config_dict.pop("_special_tokens", None) or {}).items() if v}
                check_encoder_config(config_dict, f"saved model {saved_dir}")
                self.encoder = tf.AutoModel.from_config(tf.AutoConfig.for_model(**config_dict))
                self.tokenizer = tf.PreTrainedTokenizerFast(tokenizer_file=str(saved_dir / TOKENIZER_FILE), **special)
            else:
                local = self._local_dir is not None
                source = str(self._local_dir) if local else h.pretrained
                self.tokenizer = tf.AutoTokenizer.from_pretrained(source, local_files_only=local)
                self.encoder = tf.AutoModel.from_pretrained(source, local_files_only=local, use_safetensors=True)
                check_encoder_config(self.encoder.config.to_dict(), f"HFEncoderClassifier(pretrained={h.pretrained!r})")
        except ConfigError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            where = saved_dir or h.pretrained
            raise ConfigError(f"HFEncoderClassifier: cannot load the encoder or tokenizer from {str(where)!r}: "
                              f"{' '.join(str(exc).split())[:300]}") from None
        self.encoder.train()  # from_pretrained returns eval mode, and Lightning keeps a submodule's mode
        if getattr(self.encoder, "pooler", None) is not None:
            self.encoder.pooler = None  # BERT-style pooler: unused here, so no gradient would reach it (DDP complains)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ConfigError(f"HFEncoderClassifier(pretrained={h.pretrained!r}): the tokenizer has no fast (Rust) "
                              "version, which the saved model needs (tokenizer.json); convert it or pick another encoder.")
        if self.tokenizer.pad_token is None:
            raise ConfigError(f"HFEncoderClassifier(pretrained={h.pretrained!r}): the tokenizer has no padding token; "
                              "set one (tokenizer.pad_token = ...) and save it again.")
        limit = getattr(self.encoder.config, "max_position_embeddings", None) or h.max_tokens
        self.max_tokens = int(min(h.max_tokens, limit))
        self.head = nn.Sequential(nn.Dropout(h.dropout), nn.Linear(int(self.encoder.config.hidden_size), 1))

    # ------------------------------------------------------------------ forward
    def tokenize(self, texts: List[str]) -> Dict[str, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enc = self.tokenize(bytes_to_texts(x))
        hidden = self.encoder(**enc).last_hidden_state
        if self.hparams.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(pooled).squeeze(-1).float()

    def configure_optimizers(self) -> Any:
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if param.requires_grad:
                (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = int(total * self.hparams.warmup_ratio)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, 1.0 - (step - warmup) / max(total - warmup, 1))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer: Any, gradient_clip_val: Any = None,
                                    gradient_clip_algorithm: Any = None) -> None:
        clip = gradient_clip_val if gradient_clip_val is not None else (self.hparams.max_grad_norm or None)
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm=gradient_clip_algorithm or "norm")

    # ------------------------------------------------------------------ saving (self-contained, no pickle)
    def save_artifacts(self, directory: Path) -> List[str]:
        names = super().save_artifacts(directory)
        config = self.encoder.config.to_dict()
        config["_special_tokens"] = {k: getattr(self.tokenizer, k, None) for k in
                                     ("pad_token", "cls_token", "sep_token", "unk_token", "mask_token", "bos_token",
                                      "eos_token")}
        (Path(directory) / ENCODER_CONFIG_FILE).write_text(json.dumps(config, indent=1, default=str), encoding="utf-8")
        self.tokenizer.backend_tokenizer.save(str(Path(directory) / TOKENIZER_FILE))
        return names + [ENCODER_CONFIG_FILE, TOKENIZER_FILE]

    @classmethod
    def load_saved(cls, model_dir: Path, card: Dict[str, Any]) -> "HFEncoderClassifier":
        from safetensors.torch import load_file

        init = dict(card.get("init_args", {}))
        model = cls.__new__(cls)
        BaseClassifierModule.__init__(model, lr=init.get("lr", 3e-5), weight_decay=init.get("weight_decay", 0.01),
                                      ece_bins=init.get("ece_bins", 10))
        model._local_dir = None
        model.save_hyperparameters(init)
        model.calibration = init.get("calibration", "temperature")
        model.build(card["input_spec"], saved_dir=Path(model_dir))
        model.import_state(load_file(str(Path(model_dir) / WEIGHTS_FILE)))
        return model.eval()

    def card_extras(self) -> Dict[str, Any]:
        cfg = self.encoder.config
        return {"parameters": int(sum(p.numel() for p in self.parameters())),
                "encoder": {"model_type": cfg.model_type, "hidden_size": int(cfg.hidden_size),
                            "layers": int(getattr(cfg, "num_hidden_layers", 0) or 0), "pretrained": str(self.hparams.pretrained)},
                "tokenizer": f"{type(self.tokenizer).__name__}, vocabulary {len(self.tokenizer)}, max_tokens {self.max_tokens}",
                "temperature": round(float(self.temperature), 6)}

