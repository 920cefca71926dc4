"""The ground floor: what a task is to the shared machinery, and how a task module declares its entries.

:class:`Task` is the interface a task implements (data, preprocessing, training data, metrics, prediction,
export); :class:`FitData`, :class:`Endpoint` and :class:`Serving` are what it hands back. :func:`entry` marks a
builder function as a registry entry; :mod:`zoo.registry` collects the marked builders and the :class:`Task`
subclasses of a task module when it loads that module. This module imports no task, no registry and nothing that
does, so every task module and every shared module may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .data import parse_spec
from .errors import DataError, HyperparameterError, ZooError, require

ENTRY_MARK = "zoo_entry"  # the attribute entry() sets on a builder: (name, description)


def entry(name: str, *, description: str | None = None) -> Callable:
    """Mark ``build(hp, problem) -> keras.Model`` as registry entry ``name`` (``TASK/ENTRY``).

    The entry is registered when :mod:`zoo.registry` loads the builder's module (a built-in task module or a
    ``zoo.models`` plugin); :func:`zoo.register_model` registers at once instead. The description defaults to
    the first line of the builder's docstring.

    Example::

        @entry("sentiment/lstm")
        def lstm(hp, problem):
            \"\"\"Embedding, LSTM, softmax.\"\"\"
            ...
    """

    def mark(builder: Callable) -> Callable:
        setattr(builder, ENTRY_MARK, (name, description))
        return builder

    return mark


@dataclass
class FitData:
    """What ``model.fit`` trains on: in-memory arrays, or a ``keras.utils.PyDataset``
    (``x`` alone, ``y`` None) for data that is batched by length or streamed."""

    x: Any
    y: Any = None
    sample_weight: Any = None
    steps: int | None = None  # batches per epoch, when ``x`` yields batches

    @property
    def batched(self) -> bool:
        return self.y is None

    def fit_args(self) -> dict[str, Any]:
        if self.batched:
            return {"x": self.x}
        return {"x": self.x, "y": self.y, "sample_weight": self.sample_weight}

    def validation_data(self):
        if self.batched:
            return self.x
        return (self.x, self.y) if self.sample_weight is None else (self.x, self.y, self.sample_weight)

    def steps_per_epoch(self, batch_size: int) -> int:
        import math

        return self.steps if self.batched else math.ceil(len(self.y) / batch_size)


@dataclass
class Endpoint:
    """One signature of an export: a TF function over raw inputs and its input signature."""

    fn: Callable
    input_signature: list
    description: str = ""


@dataclass
class Serving:
    """What a task hands to export: endpoints, TF resources to track (lookup tables),
    and metadata written to ``zoo_export.json`` (labels, shapes, what each endpoint takes)."""

    endpoints: dict[str, Endpoint]
    resources: list = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wording:
    """How the command line speaks of a task, in one declaration: what ``zoo predict`` calls its arguments
    (``input_name``), what "no training ..." calls the examples (``examples``), and the predictions table:
    ``(header, key)`` per column, each cell ``prediction[key]`` (``key:.4f`` formats a number)."""

    input_name: str = "INPUT"
    examples: str = "examples"
    table: tuple[tuple[str, str], ...] = (("output", "output"), ("input", "input"))

    def cells(self, prediction: dict[str, Any]) -> list[str]:
        out = []
        for _, key in self.table:
            name, _, spec = key.partition(":")
            out.append(format(prediction[name], spec) if spec else str(prediction[name]))
        return out


class Preprocessor:
    """What a task learns from its training data (vocabularies, label names, lengths, scaling) and how it turns
    raw examples into model inputs. A task's ``fit_preprocessor`` makes one; a run saves it under
    ``preprocessing/`` and :meth:`load` reads it back.

    ``problem()`` gives the facts the entry's builder needs (``vocab_size``, ``num_classes``, ...): the run
    records them, and loading checks that the saved preprocessing still gives them. ``output_prior`` (the
    training targets' log-frequencies, or None) starts a decoder's output layer (:meth:`Task.initialize_model`).
    """

    output_prior = None

    def problem(self) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, directory: str) -> None:
        """Write everything :meth:`load` needs into ``directory`` (made if missing; zoo.folders.write_settings)."""
        raise NotImplementedError

    @classmethod
    def load(cls, directory: str) -> Preprocessor:
        raise NotImplementedError


class Task:
    """What the shared machinery needs to know about one task of the taxonomy."""

    name: ClassVar[str]
    kind: ClassVar[str]                    # one-to-many, many-to-one, many-to-many, synced many-to-many
    description: ClassVar[str]
    input_description: ClassVar[str]
    output_description: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]     # keys of evaluate()'s result
    objective: ClassVar[str]               # log name early stopping and the tuner watch by default
    objectives: ClassVar[dict[str, str]]   # every objective a search may use, with its direction
    default_problem: ClassVar[dict[str, Any]]  # facts from data, for building without data
    data_kinds: ClassVar[tuple[str, ...]]
    # data kind -> "module:function" in zoo.data that reads a parsed DataSpec into Splits (imported
    # only when used: TFDS and PyAV load slowly); the default load_data dispatches through it
    loaders: ClassVar[dict[str, str]] = {}
    preprocessor_class: ClassVar[type[Preprocessor]]  # what fit_preprocessor makes and runs save
    words: ClassVar[Wording] = Wording()   # the command line's words for this task
    default_epochs: ClassVar[int] = 10
    default_batch_size: ClassVar[int] = 64
    patience: ClassVar[int] = 3
    # For the registry-wide tests: a tiny built-in data spec (one quick epoch) and raw inputs.
    smoke_data: ClassVar[str]
    sample_inputs: ClassVar[tuple]
    predict_options: ClassVar[dict[str, str]] = {}  # keyword options of predict (e.g. beam_width)
    export_options: ClassVar[dict[str, str]] = {}   # keyword options of export
    # Preprocessing options whose value is the path of a local file (e.g. word vectors): free
    # strings, not searchable, checked to name a file before any data is read. Name -> description.
    file_options: ClassVar[dict[str, str]] = {}
    folder_options: ClassVar[tuple[str, ...]] = ()  # those of file_options that name a folder (a run)
    # file options that also take a name (a module with looks_like_a_name(value) and check_name(value)):
    # sentiment's embeddings=glove-6b-50d (zoo.named_vectors)
    named_files: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self._preprocessing_space: dict | None = None

    @property
    def objective_direction(self) -> str:
        return self.objectives[self.objective]

    # Preprocessing options are declared like hyperparameters, so ``--set`` checks them
    # with the same code and a tuner may search them.
    def declare_preprocessing(self, hp) -> None:
        """Declare preprocessing options on ``hp`` (none by default)."""

    @property
    def preprocessing_options(self) -> dict[str, Any]:
        if self._preprocessing_space is None:
            import keras_tuner as kt

            hp = kt.HyperParameters()
            self.declare_preprocessing(hp)
            self._preprocessing_space = {p.name: p for p in hp.space}
        return self._preprocessing_space

    # -- data ---------------------------------------------------------------
    def load_data(self, spec: str):
        """Parse ``spec`` and return :class:`zoo.data.Splits` of raw examples, read by the
        loader that :attr:`loaders` names for the spec's kind and checked by :meth:`check_data`."""
        import importlib

        parsed = parse_spec(spec, self.data_kinds)
        module, function = self.loaders[parsed.kind].split(":")
        if module.startswith("tfds"):
            require("tensorflow_datasets", f"the data spec {spec!r}")
        splits = getattr(importlib.import_module(f"zoo.data.{module}"), function)(parsed)
        self.check_data(splits, spec)
        return splits

    def check_data(self, splits, spec: str) -> None:
        """Raise a DataError when ``splits`` cannot train this task (by default: no training
        examples)."""
        if not splits.train:
            raise DataError(f"{spec}: no training {self.words.examples}")

    def fit_preprocessor(self, splits, options: dict[str, Any]):
        """Learn preprocessing (vocabularies, label names) from the training split.

        The preprocessor has ``problem() -> dict`` (the facts the builder needs),
        ``save(directory)``, and is loaded back by :meth:`load_preprocessor`."""
        raise NotImplementedError

    def load_preprocessor(self, directory: str) -> Preprocessor:
        """The preprocessor a run saved in ``directory``: :attr:`preprocessor_class`'s ``load``."""
        return self.preprocessor_class.load(directory)

    def initialize_model(self, model, preprocessor) -> None:
        """Set weights that come from preprocessing (pretrained word vectors) on a freshly built
        model, before any training; raise a ZooError if the model does not fit them.

        The base version starts a decoder's output layer (:func:`zoo.decoder.logits_layer`) at the
        training targets' log-frequencies when the preprocessor has them (``output_prior``,
        computed by ``fit_preprocessor``; a loaded preprocessor has none, and needs none)."""
        prior = getattr(preprocessor, "output_prior", None)
        if prior is not None:
            from .decoder import logits_layer
            from .decoding import start_logits_at_prior

            start_logits_at_prior(logits_layer(model), prior)

    def fit_data(self, preprocessor, examples: Sequence, where: str, *, batch_size: int,
                 training: bool, seed: int = 0, epoch: int = 0) -> FitData:
        """Model inputs, targets and sample weights for raw ``examples``.

        ``training`` data may be shuffled and batched by length, in an order that
        depends only on ``seed`` and the epoch (``epoch`` is the first one to run)."""
        raise NotImplementedError

    def callbacks(self, model, preprocessor, validation: Sequence, batch_size: int) -> list:
        """Callbacks that add task metrics (decoded BLEU, masked frame scores) to the epoch
        logs; they run before early stopping and the tuner read the logs."""
        return []

    # -- evaluation and prediction -------------------------------------------
    def evaluate(self, model, preprocessor, examples: Sequence, batch_size: int, where: str) -> dict[str, float]:
        raise NotImplementedError

    plots: ClassVar[str] = ""  # what ``zoo evaluate --plot PNG`` draws; empty: no plot

    def plot(self, model, preprocessor, examples: Sequence, batch_size: int, path: str, where: str) -> None:
        """Draw ``examples`` with the model's predictions into the PNG file ``path`` (see ``plots``)."""
        raise ZooError(f"--plot: the {self.name} task draws no plot")

    def read_inputs(self, values: Sequence[str]) -> list:
        """Raw inputs from command-line arguments (texts; image or clip paths for other tasks)."""
        return list(values)

    def prediction_meta(self, preprocessor) -> dict[str, Any]:
        """What :meth:`format_predictions` needs besides the outputs (e.g. label names);
        also written into every export's metadata."""
        return {}

    def samples(self) -> list:
        """Raw inputs for the registry-wide tests (and the docs): ``sample_inputs`` by default."""
        return list(self.sample_inputs)

    def predict_outputs(self, model, preprocessor, inputs: Sequence, batch_size: int) -> dict[str, Any]:
        """Raw outputs (arrays) for raw inputs, with the same keys as the ``serve`` endpoint."""
        raise NotImplementedError

    def format_predictions(self, inputs: Sequence, outputs: dict[str, Any], meta: dict[str, Any]
                           ) -> list[dict[str, Any]]:
        """One dict per input with at least ``input`` and ``output``; used by runs and exports alike."""
        raise NotImplementedError

    def prediction_table(self, predictions: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
        """Header and rows the command line prints for predictions (by default from :attr:`words`)."""
        return [header for header, _ in self.words.table], [self.words.cells(p) for p in predictions]

    def check_options(self, options: dict[str, Any], allowed: dict[str, str], what: str) -> dict[str, Any]:
        """Drop ``None`` options; an option the task does not take is an error naming the allowed ones."""
        options = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise HyperparameterError(f"{self.name} {what} takes no option {', '.join(map(repr, unknown))}; "
                                      f"allowed: {', '.join(allowed) or 'none'}")
        return options

    def predict(self, model, preprocessor, inputs: Sequence, batch_size: int, **options) -> list[dict[str, Any]]:
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        options = self.check_options(options, self.predict_options, "prediction")
        outputs = self.predict_outputs(model, preprocessor, inputs, batch_size, **options)
        return self.format_predictions(inputs, outputs, self.prediction_meta(preprocessor))

    # -- export --------------------------------------------------------------
    def serving(self, model, preprocessor) -> Serving:
        raise NotImplementedError

    def serve_exported(self, loaded, inputs: Sequence, meta: dict | None = None, **options) -> dict[str, Any]:
        """Call a loaded export's ``serve`` endpoint on raw inputs; outputs as NumPy arrays."""
        import tensorflow as tf

        return {k: v.numpy() for k, v in loaded.serve(tf.constant(list(inputs))).items()}
