"""The task side of the generation layer: the decoding options every decoder takes (predict, the
command line) and the callback that logs decoded metrics at each epoch end.

Translation, captioning and language models decode through :func:`zoo.decoding.make_generate`
with a :class:`zoo.decoding.Sampler`; :func:`sampler_from_options` makes that sampler from the
options a user gives (``beam_width``, ``temperature``, ``top_k``, ``seed``), with errors that name
the option, its command-line flag and what it allows. :class:`DecodedMetrics` decodes a fixed
validation subset with a task's decode function and logs what its scoring function returns
(``val_bleu``, ``val_bleu4``, ...), before early stopping and the tuner read the logs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from .decoding import (
    MAX_SEED,
    BeamSampler,
    GreedySampler,
    Sampler,
    TopKSampler,
    generate_ids,
    make_generate,
    model_generate,
)
from .errors import HyperparameterError

MAX_TEMPERATURE = 100.0
LENGTH_PENALTY = 0.6  # GNMT's exponent (Wu et al. 2016), for every beam search of the zoo

DECODING_OPTIONS: dict[str, str] = {
    "beam_width": "beam search width (1: greedy, the default)",
    "temperature": f"sample at this temperature, 0 (greedy, the default) to {MAX_TEMPERATURE:g}",
    "top_k": "when sampling, from the k most likely tokens (0: all)",
    "seed": f"sampling seed, 0 to {MAX_SEED}: the same seed gives the same output",
}
"""The options of every decoder's ``predict`` (``zoo predict``/``zoo generate`` flags), described."""


def _integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_decoding_options(beam_width: Any = None, temperature: Any = None, top_k: Any = None, seed: Any = None
                           ) -> None:
    """A HyperparameterError naming the option (and its flag) and what it allows; ``None`` is not given."""
    problem = None
    if beam_width is not None and not (_integer(beam_width) and beam_width >= 1):
        problem = f"beam_width (--beam-width) must be a positive integer (1: greedy), got {beam_width!r}"
    elif temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, int | float)
                                      or not 0 <= temperature <= MAX_TEMPERATURE):
        problem = (f"temperature (--temperature) must be a number from 0 to {MAX_TEMPERATURE:g} (0: greedy), "
                   f"got {temperature!r}")
    elif top_k is not None and not (_integer(top_k) and top_k >= 0):
        problem = f"top_k (--top-k) must be an integer >= 0 (0: the whole vocabulary), got {top_k!r}"
    elif seed is not None and not (_integer(seed) and 0 <= seed <= MAX_SEED):
        problem = f"seed (--seed) must be an integer from 0 to {MAX_SEED}, got {seed!r}"
    elif beam_width is not None and beam_width > 1 and (temperature or top_k):
        given = "temperature (--temperature)" if temperature else "top_k (--top-k)"
        problem = (f"beam_width (--beam-width) {beam_width} searches for the most likely output and {given} "
                   "samples one: give one of them")
    if problem:
        raise HyperparameterError(problem)


def sampler_from_options(beam_width: int | None = None, temperature: float | None = None, top_k: int | None = None,
                         seed: int | None = None) -> Sampler:
    """The sampler the decoding options ask for (checked by :func:`check_decoding_options`): beam search
    for ``beam_width`` above 1, seeded sampling for ``temperature`` above 0 (with ``top_k`` and ``seed``),
    greedy search otherwise (the default).

    Example::

        sampler_from_options(beam_width=4)                 # BeamSampler(beam_width=4, length_penalty=0.6)
        sampler_from_options(temperature=0.8, seed=3)      # TopKSampler(temperature=0.8, top_k=0, seed=3)
    """
    check_decoding_options(beam_width, temperature, top_k, seed)
    if beam_width is not None and beam_width > 1:
        return BeamSampler(int(beam_width), LENGTH_PENALTY)
    if temperature:
        return TopKSampler(float(temperature), int(top_k or 0), int(seed or 0))
    return GreedySampler()


def encoder_decoder_generate(model, tokenizer, max_length: int, sampler: Sampler, open_axes: Sequence[int] = (0,)
                             ) -> Callable[[Any], Any]:
    """``inputs -> ids [batch, max_length]`` of an encoder-decoder (translation, captioning): the state
    from ``model.initial_decoding_state(inputs)``, then ``sampler`` from ``tokenizer``'s start id to
    its end id, in one compiled loop (:func:`zoo.decoding.make_generate`) made once per model and
    setting (:func:`zoo.decoding.model_generate`)."""
    start, end = tokenizer.start_id, tokenizer.end_id
    return model_generate(model, ("encoder_decoder", start, end, max_length, sampler, tuple(open_axes)), lambda m:
                          make_generate(lambda inputs: (m.initial_decoding_state(inputs), start),
                                        lambda tokens, state: m.decode_step(tokens, state), end, max_length,
                                        sampler, open_axes))


class DecodedMetrics(keras.callbacks.Callback):
    """At each epoch end, ``decode(model)`` a fixed validation subset (free-running, never teacher
    forcing) and log ``score(hypotheses)``, each key with ``prefix``: objectives that early stopping
    and the tuner read after it.

    Example::

        DecodedMetrics(lambda model: translate_texts(model, preprocessor, sources, 64),
                       lambda hypotheses: translation_scores(hypotheses, references))  # val_bleu, val_chrf, ...
    """

    def __init__(self, decode: Callable[[Any], Sequence[str]],
                 score: Callable[[Sequence[str]], dict[str, float]], prefix: str = "val_"):
        super().__init__()
        self.decode, self.score, self.prefix = decode, score, prefix

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs.update({f"{self.prefix}{k}": v for k, v in self.score(self.decode(self.model)).items()})


# ---------------------------------------------------------------------------
# Exports: a sampling endpoint's inputs, and which endpoint the options call
# ---------------------------------------------------------------------------

def sampling_signature() -> list:
    """The scalar inputs of a sampling endpoint: ``temperature`` float32, ``top_k`` int32, ``seed`` int32."""
    import tensorflow as tf

    return [tf.TensorSpec([], tf.float32, name="temperature"), tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.int32, name="seed")]


def sampling_checks(temperature, top_k, seed) -> list:
    """Graph assertions of a sampling endpoint's scalar inputs (run the sampling under
    ``tf.control_dependencies`` of them)."""
    import tensorflow as tf

    return [tf.debugging.assert_greater_equal(temperature, 0.0, message="temperature must be >= 0"),
            tf.debugging.assert_greater_equal(top_k, 0, message="top_k must be >= 0"),
            tf.debugging.assert_greater_equal(seed, 0, message="seed must be >= 0")]


def sampling_endpoint(run: Callable, model, tokenizer, max_length: int) -> Callable:
    """An export's sampling endpoint ``(inputs, temperature, top_k, seed) -> run(decode, inputs)`` of an
    encoder-decoder, where ``decode(model_inputs)`` samples from the model's initial decoding state
    (:class:`zoo.decoding.TopKSampler` over the endpoint's scalars, checked in the graph)."""
    import tensorflow as tf

    def sample(inputs, temperature, top_k, seed):
        def decode(model_inputs):
            return generate_ids(model.decode_step, model.initial_decoding_state(model_inputs), tokenizer.start_id,
                                tokenizer.end_id, max_length, TopKSampler(temperature, top_k, seed))

        with tf.control_dependencies(sampling_checks(temperature, top_k, seed)):
            return run(decode, inputs)

    return sample


def call_exported(loaded, inputs, meta: dict | None, greedy: str, beam: str, sample: str, **options):
    """Call the endpoint of a loaded export that decodes as ``options`` ask: ``greedy``, ``beam`` (the
    export's own width, in ``meta["beam_width"]``) or ``sample`` (with the sampling scalars)."""
    import tensorflow as tf

    sampler = sampler_from_options(**options)
    if isinstance(sampler, GreedySampler):
        return getattr(loaded, greedy)(inputs)
    if isinstance(sampler, BeamSampler):
        width = sampler.beam_width
        if meta and width == meta.get("beam_width"):
            return getattr(loaded, beam)(inputs)
        available = meta.get("beam_width") if meta else "?"
        raise HyperparameterError(f"this export decodes with beam width 1 ({greedy}) or {available} ({beam}), not "
                                  f"{width}; export again with --beam-width {width}")
    if not hasattr(loaded, sample):
        raise HyperparameterError(f"this export has no sampling endpoint ({sample}); sample with the run directory "
                                  "or export it again")
    return getattr(loaded, sample)(inputs, tf.constant(sampler.temperature, tf.float32),
                                   tf.constant(sampler.top_k, tf.int32), tf.constant(sampler.seed, tf.int32))
