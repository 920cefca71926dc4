"""Image captioning, the one-to-many task: one image in, a word sequence out.

An image encoder turns the image into a grid of feature vectors; a recurrent decoder
writes the caption one token at a time. Entries differ in where the image enters:

- ``show_and_tell`` (init-inject, Vinyals et al. 2015): the image's feature vector sets
  the LSTM decoder's initial state;
- ``merge`` (Tanti et al. 2017): the LSTM reads only the words; the image's feature
  vector is merged with its output before the softmax;
- ``attention`` (Xu et al. 2015, soft attention): at every step the decoder's output
  attends over the grid of image features (with learned position embeddings, so
  "left of" can be read off the grid), then predicts the word;
- ``blind``: the control, a language model over captions that never sees the image.

The image encoder is a small convolutional network trained from scratch (``encoder=cnn``),
or a ``keras.applications`` backbone whose weights come from a local file
(``encoder=efficientnet_b0,encoder_weights=PATH``), kept frozen; its features are then
computed once per data set and cached on disk (``ZOO_CACHE``, default
``~/.cache/keras-seq-zoo/features``), so epochs and tuning trials never recompute them.

As in translation, training runs the fused recurrent layers with teacher forcing
(cuDNN-eligible); decoding runs their cells step by step (:meth:`Captioner.decode_step`)
in the shared compiled loops (:mod:`zoo.decoding`: greedy, beam search, sampling), and validation and
test scores come from those free-running captions: corpus BLEU-1..4 (sacrebleu, against
every reference caption of an image) and exact match (the caption equals one reference).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import keras
import numpy as np
from keras import layers, ops

from .. import generation
from ..base import Endpoint, FitData, Preprocessor, Serving, Task, Wording, entry
from ..batching import SharedRows, length_batched
from ..data import Splits
from ..data.images import load_images, tf_decode_resize
from ..decoder import RecurrentDecoder, compile_next_token
from ..decoding import BeamSampler, Sampler, token_log_prior
from ..errors import DataError, HyperparameterError
from ..folders import read_settings, write_settings
from ..metrics import caption_scores
from ..text import ReversibleTokenizer

Example = tuple[Any, tuple[str, ...]]  # (uint8 image [H, W, 3] or an image file's path, reference captions)
VALIDATION_DECODE_LIMIT = 512  # validation images captioned at each epoch end for val_bleu4
ARCHITECTURES = ("init_inject", "merge", "attention", "blind")
# keras.applications backbones usable with a local weights file (include_top=False).
BACKBONES = {
    "efficientnet_b0": ("EfficientNetB0", "efficientnet"),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2"),
    "mobilenet_v3_small": ("MobileNetV3Small", "mobilenet_v3"),
    "resnet50": ("ResNet50", "resnet"),
}
ENCODERS = ("cnn", *BACKBONES)


# ---------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------

class CaptionPreprocessor(Preprocessor):
    """The caption tokenizer, the caption length and the image size: everything between raw
    examples and the model. Captions are cut to ``caption_length`` tokens including the end token."""

    def __init__(self, tokenizer: ReversibleTokenizer, caption_length: int, image_size: int,
                 options: dict[str, Any] | None = None):
        self.tokenizer, self.caption_length, self.image_size = tokenizer, int(caption_length), int(image_size)
        self.options = dict(options or {})
        self.feature_model = None  # the model whose frozen backbone gives cached features (initialize_model)
        self.output_prior: np.ndarray | None = None  # set by fit_preprocessor; not saved (only a start)

    def problem(self) -> dict[str, int]:
        return {"vocab_size": self.tokenizer.vocab_size, "caption_length": self.caption_length,
                "image_size": self.image_size, "encoder": self.options.get("encoder", "cnn"),
                "encoder_weights": self.options.get("encoder_weights")}

    def images(self, images: Sequence, where: str) -> np.ndarray:
        """float32 ``[N, size, size, 3]`` in [0, 1], decoded and resized as the export does."""
        return load_images(list(images), self.image_size, where)

    def encode_captions(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.tokenizer.teacher_forcing(texts, self.caption_length)

    def decode(self, ids) -> list[str]:
        return self.tokenizer.decode(np.asarray(ids))

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.tokenizer.save(os.path.join(directory, "captions"))
        write_settings(directory, {"caption_length": self.caption_length, "image_size": self.image_size,
                                   "options": self.options})

    @classmethod
    def load(cls, directory: str) -> CaptionPreprocessor:
        config = read_settings(directory)
        return cls(ReversibleTokenizer.load(os.path.join(directory, "captions")), config["caption_length"],
                   config["image_size"], config.get("options"))


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

def _backbone(name: str, image_size: int, weights: str | None):
    """A frozen ``keras.applications`` backbone (no top) with weights from a local file; without a
    file (a saved model being restored), the same architecture, whose weights the saved model holds."""
    constructor = getattr(keras.applications, BACKBONES[name][0])
    model = constructor(include_top=False, weights=None, input_shape=(image_size, image_size, 3))
    if weights is not None:
        if not os.path.isfile(weights):
            raise HyperparameterError(f"encoder_weights: no such file {weights}")
        try:
            model.load_weights(weights)
        except Exception as e:  # Keras raises ValueError, OSError or h5py errors for a wrong file
            raise HyperparameterError(f"encoder_weights {weights} does not fit keras.applications."
                                      f"{BACKBONES[name][0]}(include_top=False) at {image_size} px: "
                                      f"{str(e).splitlines()[0][:200]}") from None
    model.trainable = False
    return model


@keras.saving.register_keras_serializable(package="zoo.captioning")
class Captioner(keras.Model):
    """An image encoder and an LSTM :class:`zoo.decoder.RecurrentDecoder`; ``call`` trains with teacher
    forcing, ``decode_step`` decodes. The architecture says where the image enters: the decoder's
    initial state (init-inject, and attention), its features before the logits (merge), its attention
    memory (attention), nowhere (blind).

    Inputs of ``call``: ``{"image": float32 [batch, S, S, 3] in [0, 1], "decoder_ids": int32 [batch, T]}``
    (right-padded, starting with the start token); ``"features"`` (the frozen backbone's output)
    may replace ``"image"``. Output: next-token logits ``[batch, T, vocab_size]``.

    Example::

        model = zoo.build("captioning/show_and_tell", vocab_size=40, image_size=48)
        state = model.initial_decoding_state(images)
        logits, state = model.decode_step(tokens, state)
    """

    def __init__(self, vocab_size: int, image_size: int = 48, architecture: str = "init_inject",
                 units: int = 256, embedding_dim: int = 64, decoder_depth: int = 1, dropout: float = 0.0,
                 attention_units: int = 128, feature_dim: int = 256, encoder: str = "cnn",
                 encoder_filters: int = 16, encoder_blocks: int = 3, encoder_weights: str | None = None,
                 image_layers: int = 1, **kwargs):
        super().__init__(**kwargs)
        if architecture not in ARCHITECTURES:
            raise HyperparameterError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
        if encoder not in ENCODERS:
            raise HyperparameterError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
        self.config_values = dict(
            vocab_size=vocab_size, image_size=image_size, architecture=architecture, units=units,
            embedding_dim=embedding_dim, decoder_depth=decoder_depth, dropout=dropout,
            attention_units=attention_units, feature_dim=feature_dim, encoder=encoder,
            encoder_filters=encoder_filters, encoder_blocks=encoder_blocks, encoder_weights=encoder_weights,
            image_layers=image_layers)
        self.architecture, self.units, self.image_size, self.encoder_name = architecture, units, image_size, encoder
        self.sees_image = architecture != "blind"
        self.backbone = self.preprocess = None
        self.cnn: list = []
        if self.sees_image and encoder == "cnn":
            for b in range(encoder_blocks):
                filters = encoder_filters * min(2 ** b, 4)
                self.cnn += [layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv_{b}"),
                             layers.BatchNormalization(name=f"norm_{b}"), layers.ReLU(name=f"relu_{b}"),
                             # "same": an odd side rounds up (48 px, 5 blocks: 24, 12, 6, 3, 2); a side that
                             # halves evenly pools exactly as "valid" would.
                             layers.MaxPooling2D(2, padding="same", name=f"pool_{b}")]
        elif self.sees_image:
            self.backbone = _backbone(encoder, image_size, encoder_weights)
            module = getattr(keras.applications, BACKBONES[encoder][1])
            self.preprocess = module.preprocess_input
        self.decoder = RecurrentDecoder(vocab_size, cell="lstm", units=units, depth=decoder_depth,
                                        embedding_dim=embedding_dim, dropout=dropout,
                                        attention="additive" if architecture == "attention" else None,
                                        attention_units=attention_units, name="decoder")
        self.image_vector = self.bridges = self.merge_dense = None
        self.image_hidden: list = []
        self.position = self.memory_dense = None
        if architecture in ("init_inject", "merge"):
            # ReLU hidden layers, then a linear image embedding (as in Show and Tell): which shape is
            # leftmost, and what it is, is not a linear function of the feature grid.
            self.image_hidden = [layers.Dense(feature_dim, activation="relu", name=f"image_hidden_{i}")
                                 for i in range(image_layers - 1)]
            self.image_vector = layers.Dense(feature_dim, name="image_vector")
            self.image_norm = layers.BatchNormalization(name="image_norm")
        if architecture == "init_inject":  # image vector -> (h, c) of every decoder layer
            self.bridges = [layers.Dense(units, activation="tanh", name=f"bridge_{k}")
                            for k in range(2 * decoder_depth)]
        if architecture == "merge":
            self.merge_dense = layers.Dense(units, activation="relu", name="merge")
        if architecture == "attention":
            self.memory_dense = layers.Dense(units, activation="relu", name="memory")
            self.bridges = [layers.Dense(units, activation="tanh", name=f"bridge_{k}")
                            for k in range(2 * decoder_depth)]

    def get_config(self) -> dict[str, Any]:
        # The backbone's weights are saved with the model: a restored model never needs the file.
        return {**super().get_config(), **self.config_values, "encoder_weights": None}

    def build(self, input_shape=None):
        if self.built:
            return
        images = ops.zeros((1, self.image_size, self.image_size, 3))
        self.call({"image": images, "decoder_ids": ops.ones((1, 2), dtype="int32")})
        super().build(input_shape)

    # -- the image side ------------------------------------------------------
    @property
    def frozen_encoder(self) -> bool:
        """True when the image encoder is a frozen backbone, whose features can be cached."""
        return self.backbone is not None

    def encode_images(self, images, training: bool = False):
        """The grid of image features ``[batch, g, g, channels]`` (None for the blind control)."""
        if not self.sees_image:
            return None
        if self.backbone is not None:
            return self.backbone(self.preprocess(images * 255.0), training=False)
        x = images
        for layer in self.cnn:
            x = layer(x, training=training)
        return x

    def _context(self, grid, training: bool = False) -> tuple:
        """What the decoder reads of the image: ``(vector,)``, ``(memory,)`` or ``()``. The image side
        shares the decoder's dropout layer (one rate, one seed stream)."""
        if self.architecture in ("init_inject", "merge"):
            x = ops.reshape(grid, (ops.shape(grid)[0], -1))
            for layer in self.image_hidden:
                x = self.decoder.dropout_layer(layer(x), training=training)
            vector = self.image_norm(self.image_vector(x), training=training)
            return (self.decoder.dropout_layer(vector, training=training),)
        if self.architecture == "attention":
            cells = grid.shape[1] * grid.shape[2]
            if self.position is None:
                self.position = self.add_weight(shape=(cells, grid.shape[3]), initializer="zeros",
                                                name="position_embedding")
            memory = ops.reshape(grid, (ops.shape(grid)[0], cells, grid.shape[3])) + self.position
            return (self.memory_dense(memory),)
        return ()

    def _initial_states(self, context, batch) -> list:
        if self.architecture == "init_inject":
            source = context[0]
        elif self.architecture == "attention":
            source = ops.mean(context[0], axis=1)
        else:
            zeros = ops.zeros((batch, self.units))
            return [zeros] * (2 * self.decoder.depth)
        return [bridge(source) for bridge in self.bridges]

    def _grid(self, inputs, training: bool = False):
        if "features" in inputs:
            return inputs["features"]
        return self.encode_images(inputs["image"], training=training)

    def _merge(self, features, vector):
        """Merge: the image vector joins the decoder's features (``[batch, T, units]`` or ``[batch, units]``)."""
        if len(features.shape) == 3:
            vector = ops.repeat(ops.expand_dims(vector, 1), ops.shape(features)[1], axis=1)
        return self.merge_dense(ops.concatenate([features, vector], axis=-1))

    def _decode(self, inputs, training: bool = False, return_attention_scores: bool = False):
        decoder_ids = inputs["decoder_ids"]
        context = self._context(self._grid(inputs, training), training) if self.sees_image else ()
        states = self._initial_states(context, ops.shape(decoder_ids)[0])
        if self.architecture == "attention":
            return self.decoder(decoder_ids, initial_state=states, memory=context[0], training=training,
                                return_attention_scores=return_attention_scores)
        if self.architecture == "merge":
            features = self.decoder(decoder_ids, initial_state=states, training=training, return_features=True)
            return self.decoder.logits(self._merge(features, context[0]), training=training)
        return self.decoder(decoder_ids, initial_state=states, training=training)

    def call(self, inputs, training: bool = False):
        return self._decode(inputs, training)

    def attention_maps(self, inputs):
        """Attention over the image grid for every caption token: ``[batch, T, g * g]`` (attention only)."""
        if self.architecture != "attention":
            raise HyperparameterError(f"{self.name} has no attention ({self.architecture})")
        return self._decode(inputs, return_attention_scores=True)[1]

    # -- step-by-step decoding (zoo.decoding's step-function contract) -----
    def initial_decoding_state(self, inputs) -> tuple:
        """``(h_0, c_0, h_1, c_1, ...)``, then the attention memory, its key and mask (attention) or the
        image vector (merge), for a batch of images (or features)."""
        if self.sees_image:
            grid = self._grid(inputs)
            context = self._context(grid)
            batch = ops.shape(grid)[0]
        else:
            batch, context = ops.shape(inputs.get("image", inputs.get("features")))[0], ()
        states = self._initial_states(context, batch)
        if self.architecture == "attention":
            return self.decoder.initial_state(states, memory=context[0])
        if self.architecture == "merge":
            return (*states, context[0])
        return tuple(states)  # init-inject: the image has done its work in the initial state

    def decode_step(self, tokens, state) -> tuple:
        """Next-token logits ``[batch, vocab]`` for the previous ``tokens`` ``[batch]``, and the new state."""
        if self.architecture != "merge":
            return self.decoder.step(tokens, state)
        vector = state[-1]
        features, new = self.decoder.step(tokens, state[:-1], return_features=True)
        return self.decoder.logits(self._merge(features, vector)), (*new, vector)


# ---------------------------------------------------------------------------
# Decoding and scoring
# ---------------------------------------------------------------------------

def make_captioner(model: Captioner, preprocessor: CaptionPreprocessor, beam_width: int = 1,
                   length_penalty: float = generation.LENGTH_PENALTY, sampler: Sampler | None = None):
    """A compiled function ``inputs -> caption ids [batch, caption_length]`` (inputs: image or features)
    (:func:`zoo.decoding.make_generate`), by ``sampler`` (default: beam search of ``beam_width``,
    greedy for 1). One trace serves every batch size; made once per model and setting
    (:func:`zoo.decoding.model_generate`)."""
    return generation.encoder_decoder_generate(model, preprocessor.tokenizer, preprocessor.caption_length,
                                               sampler or BeamSampler(beam_width, length_penalty))


def caption_arrays(model, preprocessor, inputs: dict[str, np.ndarray], batch_size: int, beam_width: int = 1,
                   captioner=None, sampler: Sampler | None = None) -> list[str]:
    """Captions of prepared images (``{"image": ...}`` or ``{"features": ...}``), batch by batch, by
    ``captioner`` or one made by :func:`make_captioner` (``sampler``, else ``beam_width``)."""
    key = next(iter(inputs))
    total = len(inputs[key])
    captioner = captioner or make_captioner(model, preprocessor, beam_width, sampler=sampler)
    out: list[str] = []
    for start in range(0, total, batch_size):
        rows = inputs[key][start:start + batch_size]
        if len(rows) < batch_size and total > batch_size:  # pad the last batch: one traced shape, not two
            rows = np.concatenate([rows, np.zeros((batch_size - len(rows), *rows.shape[1:]), rows.dtype)])
        tokens = ops.convert_to_numpy(captioner({key: ops.convert_to_tensor(rows)}))
        out.extend(preprocessor.decode(tokens[:min(batch_size, total - start)]))
    return out


# ---------------------------------------------------------------------------
# Cached features of a frozen backbone
# ---------------------------------------------------------------------------

def cache_directory() -> str:
    return os.environ.get("ZOO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "keras-seq-zoo",
                                                       "features")


def _images_key(images: Sequence) -> str:
    """A digest of the images themselves (arrays) or of the files (path, size, modification time)."""
    digest = hashlib.sha256()
    for image in images:
        if isinstance(image, str):
            stat = os.stat(image)
            digest.update(f"{os.path.abspath(image)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        else:
            array = np.ascontiguousarray(image)
            digest.update(str(array.shape).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def backbone_features(model: Captioner, preprocessor: CaptionPreprocessor, images: Sequence, where: str,
                      batch_size: int = 32) -> np.ndarray:
    """The frozen backbone's features of ``images``, from the disk cache or computed once and cached.

    The key covers the backbone and its weights (their values), the image size and the images; the
    file is written atomically, so a crash never leaves a half-written cache entry."""
    digest = hashlib.sha256(f"{model.encoder_name}|{preprocessor.image_size}|{_images_key(images)}".encode())
    for weight in model.backbone.weights:
        digest.update(np.ascontiguousarray(ops.convert_to_numpy(weight)).tobytes())
    key = digest.hexdigest()[:32]
    path = os.path.join(cache_directory(), f"{model.encoder_name}-{key}.npy")
    if os.path.isfile(path):
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # unreadable: compute again and replace it
    features = []
    for start in range(0, len(images), batch_size):
        pixels = preprocessor.images(images[start:start + batch_size], where)
        features.append(ops.convert_to_numpy(model.encode_images(ops.convert_to_tensor(pixels))))
    features = np.concatenate(features).astype(np.float32)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        np.save(f, features)
    os.replace(temporary, path)
    return features


# ---------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------

class NamedImage(np.ndarray):
    """An image array that remembers where it came from (for predictions' ``input``)."""

    name: str = ""


class CaptioningTask(Task):
    name = "captioning"
    kind = "one-to-many"
    description = "Image captioning: one image in, a caption (a word sequence) out."
    input_description = "images: uint8 [H, W, 3] arrays or JPEG/PNG files (encoded bytes in the export)"
    output_description = "caption strings, decoded in the graph (greedy, beam search or sampling)"
    metrics = ("bleu1", "bleu2", "bleu3", "bleu4", "exact_match", "token_accuracy", "loss")
    objective = "val_bleu4"
    objectives: ClassVar[dict[str, str]] = {"val_bleu4": "max", "val_bleu1": "max", "val_exact_match": "max",
                                            "val_loss": "min"}
    default_problem: ClassVar[dict[str, Any]] = {"vocab_size": 10000, "caption_length": 24, "image_size": 48,
                                                 "encoder": "cnn", "encoder_weights": None}
    data_kinds = ("builtin", "coco", "tfds")
    preprocessor_class = CaptionPreprocessor
    loaders: ClassVar[dict[str, str]] = {"builtin": "builtin_captioning:load_builtin_captioning",
                                         "coco": "coco:load_coco", "tfds": "tfds_captioning:load_tfds_captioning"}
    default_epochs = 30
    default_batch_size = 64
    patience = 5
    smoke_data = "builtin:shapes,n=200"
    sample_inputs: ClassVar[tuple] = ()  # images: made from the smoke data (see samples)
    words = Wording(input_name="IMAGE_FILE", examples="images", table=(("caption", "caption"), ("image", "input")))
    predict_options: ClassVar[dict[str, str]] = dict(generation.DECODING_OPTIONS)
    export_options: ClassVar[dict[str, str]] = {"beam_width": "width of the caption_beam endpoint (default 4)"}

    file_options: ClassVar[dict[str, str]] = {
        "encoder_weights": "a local weights file of the keras.applications backbone named by encoder= "
                           "(include_top=False); the backbone stays frozen and is saved in the run"}

    def declare_preprocessing(self, hp) -> None:
        hp.Choice("encoder", list(ENCODERS), default="cnn")  # cnn: trained from scratch; others need weights
        hp.Int("image_size", 16, 640, default=48)           # images are resized to a square of this side
        hp.Int("max_tokens", 50, 200_000, default=10_000)   # vocabulary size, reserved ids included
        hp.Int("caption_max_length", 4, 256, default=40)    # decoding stops here
        hp.Boolean("lowercase", default=False)

    def check_data(self, splits: Splits[Example], spec: str) -> None:
        for split in ("train", "validation", "test"):
            for i, example in enumerate(getattr(splits, split)):
                ok = isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], tuple | list)
                if not ok or not example[1] or not all(isinstance(c, str) and c.strip() for c in example[1]):
                    raise DataError(f"{spec}: {split} example {i} is not (image, non-empty captions)")
        super().check_data(splits, spec)

    def samples(self) -> list[np.ndarray]:
        """A few images of the smoke data, for the registry-wide tests."""
        return [image for image, _ in self.load_data(self.smoke_data).test[:4]]

    def fit_preprocessor(self, splits: Splits[Example], options: dict[str, Any]) -> CaptionPreprocessor:
        captions = [c for _, refs in splits.train for c in refs]
        tokenizer = ReversibleTokenizer.fit(captions, max_tokens=options["max_tokens"], kind="word",
                                            lowercase=options["lowercase"])
        length = min(int(tokenizer.lengths(captions).max(initial=1)) + 1, options["caption_max_length"])
        preprocessor = CaptionPreprocessor(tokenizer, max(2, length), options["image_size"], options)
        _, outputs, weights = preprocessor.encode_captions(captions)
        preprocessor.output_prior = token_log_prior(outputs, weights, tokenizer.vocab_size)
        return preprocessor


    def initialize_model(self, model, preprocessor) -> None:
        """A frozen backbone's features are computed once and cached: ``fit_data`` needs the model."""
        super().initialize_model(model, preprocessor)
        preprocessor.feature_model = model if model.frozen_encoder else None

    def _image_inputs(self, model, preprocessor, images: Sequence, where: str) -> dict[str, np.ndarray]:
        """``{"image": pixels}``, or ``{"features": ...}`` (cached) for a frozen backbone (training
        and evaluation data; images to predict go through the whole model)."""
        if model is not None and getattr(model, "frozen_encoder", False):
            return {"features": backbone_features(model, preprocessor, list(images), where)}
        return {"image": preprocessor.images(list(images), where)}

    def fit_data(self, preprocessor, examples: Sequence[Example], where: str, *, batch_size: int,
                 training: bool, seed: int = 0, epoch: int = 0) -> FitData:
        if not examples:
            raise DataError(f"{where}: no images")
        inputs = self._image_inputs(preprocessor.feature_model, preprocessor, [image for image, _ in examples], where)
        index = np.array([i for i, (_, refs) in enumerate(examples) for _ in refs])
        decoder_in, decoder_out, weights = preprocessor.encode_captions([c for _, refs in examples for c in refs])
        key, pixels = next(iter(inputs.items()))
        x = {key: SharedRows(pixels, index), "decoder_ids": decoder_in}
        # Batches are NOT grouped by caption length: the length says how many shapes a scene has,
        # and batches of one length each teach "end here" whatever the image (measured: the decoder
        # then ignores the image). Captions are short; padding them all to the longest costs little.
        lengths = np.full(len(decoder_in), preprocessor.caption_length)
        return length_batched(x, decoder_out, lengths, sample_weight=weights, batch_size=batch_size,
                              padded_length=preprocessor.caption_length, training=training, seed=seed,
                              epoch=epoch)

    def callbacks(self, model, preprocessor, validation: Sequence[Example], batch_size: int) -> list:
        subset = list(validation)[:VALIDATION_DECODE_LIMIT]
        if not subset:
            return []
        inputs = self._image_inputs(model, preprocessor, [image for image, _ in subset], "validation")
        references = [list(refs) for _, refs in subset]
        captioner = make_captioner(model, preprocessor)
        return [generation.DecodedMetrics(
            lambda m: caption_arrays(m, preprocessor, inputs, batch_size, captioner=captioner),
            lambda hypotheses: caption_scores(hypotheses, references))]

    def evaluate(self, model, preprocessor, examples: Sequence[Example], batch_size: int, where: str
                 ) -> dict[str, float]:
        if not examples:
            raise DataError(f"{where}: no images to evaluate")
        preprocessor.feature_model = model
        data = self.fit_data(preprocessor, examples, where, batch_size=batch_size, training=False)
        logs = model.evaluate(data.x, verbose=0, return_dict=True)
        inputs = self._image_inputs(model, preprocessor, [image for image, _ in examples], where)
        hypotheses = caption_arrays(model, preprocessor, inputs, batch_size)
        scores = caption_scores(hypotheses, [list(refs) for _, refs in examples])
        return {**scores, "token_accuracy": float(logs["token_accuracy"]), "loss": float(logs["loss"]),
                "examples": len(examples)}

    def read_inputs(self, values: Sequence[str]) -> list:
        for value in values:
            if not os.path.isfile(value):
                raise DataError(f"image file not found: {value}")
        return list(values)

    def predict_outputs(self, model, preprocessor, inputs: Sequence, batch_size: int, **options
                        ) -> dict[str, Any]:
        """Options: ``beam_width``, or ``temperature``, ``top_k`` and ``seed`` (``zoo.generation``)."""
        sampler = generation.sampler_from_options(**options)
        images = {"image": preprocessor.images(list(inputs), "input")}
        return {"caption": caption_arrays(model, preprocessor, images, batch_size, sampler=sampler)}

    def format_predictions(self, inputs, outputs, meta) -> list[dict[str, Any]]:
        captions = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in outputs["caption"]]
        results = []
        for image, caption in zip(inputs, captions, strict=True):
            name = image if isinstance(image, str) else getattr(image, "name", "") or \
                "image of {}x{}".format(*np.shape(image)[:2])
            results.append({"input": name, "output": caption, "caption": caption})
        return results

    def serving(self, model, preprocessor, beam_width: int = 4) -> Serving:
        import tensorflow as tf

        tokenizer, size = preprocessor.tokenizer, preprocessor.image_size
        greedy = make_captioner(model, preprocessor, 1)
        beam = make_captioner(model, preprocessor, beam_width)

        def pixels(images):
            return tf.map_fn(lambda one: tf_decode_resize(one, size), images,
                             fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))

        def run(captioner, images):
            tokens = captioner({"image": pixels(images)})
            return {"caption": tokenizer.tf_decode(tokens), "token_ids": tokens}

        spec = [tf.TensorSpec([None], tf.string, name="images")]
        endpoints = {
            "serve": Endpoint(lambda i: run(greedy, i), spec, "images: string [batch] (encoded JPEG/PNG bytes) -> "
                                                              "caption: string [batch]; token_ids: int32 [batch, "
                                                              "length] (greedy)"),
            "caption": Endpoint(lambda i: run(greedy, i), spec, "the same as serve: greedy decoding"),
            "caption_beam": Endpoint(lambda i: run(beam, i), spec,
                                     f"images -> caption, token_ids (beam search, width {beam_width})"),
            "caption_sample": Endpoint(generation.sampling_endpoint(run, model, tokenizer,
                                                                    preprocessor.caption_length),
                                       [*spec, *generation.sampling_signature()],
                                       "images, temperature: float32 [] (0: greedy), top_k: int32 [] (0: all), "
                                       "seed: int32 [] -> caption, token_ids (seeded sampling)"),
            "pixels": Endpoint(lambda i: {"pixels": pixels(i)}, spec,
                               f"images -> pixels: float32 [batch, {size}, {size}, 3] in [0, 1], as the model sees "
                               "them"),
        }
        metadata = {"beam_width": beam_width, "image_size": size, "start_id": tokenizer.start_id,
                    "end_id": tokenizer.end_id, "caption_length": preprocessor.caption_length}
        return Serving(endpoints, tokenizer.tf_resources(), metadata)

    def serve_exported(self, loaded, inputs: Sequence, meta: dict | None = None, **options) -> dict[str, Any]:
        import tensorflow as tf

        encoded = [image_bytes(image) for image in inputs]
        out = generation.call_exported(loaded, tf.constant(encoded), meta, "caption", "caption_beam",
                                       "caption_sample", **options)
        return {"caption": [c.decode("utf-8") for c in out["caption"].numpy()]}


def image_bytes(image) -> bytes:
    """Encoded bytes of an image: a file's contents, or a lossless PNG of a uint8 array."""
    if isinstance(image, str):
        with open(image, "rb") as f:
            return f.read()
    import tensorflow as tf

    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[-1] != 3:
        raise DataError(f"an image array must be uint8 [height, width, 3], got {array.dtype} {list(array.shape)}")
    return tf.io.encode_png(array).numpy()


# ---------------------------------------------------------------------------
# Registry entries
# ---------------------------------------------------------------------------

def _captioner(hp, problem, *, name: str, architecture: str) -> Captioner:
    values = dict(
        units=hp.Int("units", 32, 1024, step=32, default=256),
        embedding_dim=hp.Int("embedding_dim", 16, 512, step=16, default=64),
        decoder_depth=hp.Int("decoder_depth", 1, 3, default=1),
        dropout=hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.0),
    )
    if architecture != "blind":
        # The encoder is a fact of the run, not a hyperparameter to search: a weights file fits one backbone.
        values["encoder"] = problem.get("encoder") or "cnn"
        if values["encoder"] == "cnn":
            values["encoder_filters"] = hp.Int("encoder_filters", 8, 128, step=8, default=16)
            values["encoder_blocks"] = hp.Int("encoder_blocks", 1, 5, default=3)
        else:
            values["encoder_weights"] = problem.get("encoder_weights")
            if not values["encoder_weights"]:
                raise HyperparameterError(
                    f"encoder={values['encoder']} needs encoder_weights=PATH: a local weights file for keras."
                    f"applications.{BACKBONES[values['encoder']][0]}(include_top=False) (nothing is downloaded)")
    if architecture in ("init_inject", "merge"):
        values["feature_dim"] = hp.Int("feature_dim", 32, 2048, step=32, default=256)
        values["image_layers"] = hp.Int("image_layers", 1, 3, default=1)
    if architecture == "attention":
        values["attention_units"] = hp.Int("attention_units", 32, 512, step=32, default=128)
    model = Captioner(problem["vocab_size"], image_size=problem["image_size"], architecture=architecture,
                      name=name.replace("/", "_"), **values)
    model.build()
    return compile_next_token(model, hp)


@entry("captioning/show_and_tell")
def show_and_tell(hp, problem):
    """CNN image encoder whose feature vector sets the LSTM decoder's initial state (init-inject)."""
    return _captioner(hp, problem, name="captioning/show_and_tell", architecture="init_inject")


@entry("captioning/merge")
def merge(hp, problem):
    """The LSTM reads only the words; the image's feature vector is merged with its output (merge)."""
    return _captioner(hp, problem, name="captioning/merge", architecture="merge")


@entry("captioning/attention")
def attention(hp, problem):
    """The LSTM decoder attends over the grid of image features at every step (Show, Attend and Tell)."""
    return _captioner(hp, problem, name="captioning/attention", architecture="attention")


@entry("captioning/blind")
def blind(hp, problem):
    """Blind control: an LSTM language model over captions that never sees the image."""
    return _captioner(hp, problem, name="captioning/blind", architecture="blind")
