"""The registry: listing, lookup, metadata, hyperparameter validation, plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import keras_tuner as kt
import pytest

import zoo
from zoo.recurrent import CELLS

SENTIMENT = ["sentiment/bag_of_embeddings", "sentiment/bilstm", "sentiment/gru", "sentiment/lstm",
             "sentiment/simple_rnn"]


def test_list_models_filters():
    assert zoo.list_models(task="sentiment") == SENTIMENT
    assert set(SENTIMENT) <= set(zoo.list_models())
    assert zoo.list_models(task="sentiment", pattern="*lstm") == ["sentiment/bilstm", "sentiment/lstm"]
    assert zoo.list_models(task="sentiment", pattern="gru") == ["sentiment/gru"]
    assert zoo.list_models(pattern="*attention") == ["captioning/attention", "translation/gru_attention",
                                                     "translation/lstm_attention"]
    with pytest.raises(zoo.ZooError, match=r"unknown task 'sentimnt'.*sentiment"):
        zoo.list_models(task="sentimnt")


def test_unknown_name_lists_closest():
    with pytest.raises(zoo.UnknownModelError, match=r"Did you mean: sentiment/lstm"):
        zoo.get("sentiment/lstmm")
    with pytest.raises(zoo.UnknownModelError, match=r"Did you mean: .*sentiment/gru"):
        zoo.get("gru")


@pytest.mark.parametrize("name", zoo.list_models())
def test_describe_is_complete(name):
    d = zoo.get(name).describe()
    assert d["name"] == name and d["task"] == name.split("/")[0]
    assert d["kind"] in ("one-to-many", "many-to-one", "many-to-many", "synced many-to-many")
    assert d["description"] and d["metrics"] and d["input"] and d["output"]
    for hp in d["hyperparameters"].values():
        assert "default" in hp
    assert d["hyperparameters"]["clipnorm"]["default"] > 0  # clipping on by default


@pytest.mark.parametrize("name", zoo.list_models())
def test_ready_model_and_search_space_agree(name):
    """zoo.build (defaults) and zoo.hypermodel (empty HyperParameters) make the same model."""
    ready = zoo.build(name)
    hp = kt.HyperParameters()
    searched = zoo.hypermodel(name).build(hp)
    assert ready.count_params() == searched.count_params()
    assert hp.values == zoo.get(name).defaults()
    assert ready.optimizer is not None and ready.optimizer.clipnorm == pytest.approx(1.0)


@pytest.mark.parametrize("name", zoo.list_models())
def test_recurrent_layers_keep_cudnn_defaults(name):
    model = zoo.build(name)
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Embedding):
            assert layer.mask_zero  # padding is masked, never read as a token
    rnns = [layer for layer in model._flatten_layers()
            if isinstance(layer, (*CELLS.values(), keras.layers.ConvLSTM2D))]
    if zoo.get(name).description.startswith("Control"):
        assert not rnns  # the controls ignore order by construction
        return
    assert rnns
    for layer in rnns:
        assert layer.cell.activation is keras.activations.tanh
        assert getattr(layer.cell, "recurrent_activation", keras.activations.sigmoid) is keras.activations.sigmoid
        assert layer.cell.recurrent_dropout == 0 and not layer.unroll and layer.cell.use_bias


def test_overrides_change_the_model():
    model = zoo.build("sentiment/lstm", vocab_size=500, num_classes=3, units=32, embedding_dim=16, depth=2)
    assert model.output_shape == (None, 3)
    assert model.get_layer("embedding").input_dim == 500
    assert model.get_layer("rnn_lstm_1").units == 32
    no_clip = zoo.build("sentiment/lstm", clipnorm=0)
    assert no_clip.optimizer.clipnorm is None
    # None means "not given" (an unset CLI flag): the default stays.
    assert zoo.build("sentiment/lstm", units=None).get_layer("rnn_lstm_0").units == 64


@pytest.mark.parametrize(("overrides", "pattern"), [
    ({"unitz": 8}, r"unknown hyperparameter 'unitz' for sentiment/lstm\. Did you mean 'units'\?"),
    ({"units": 1000}, r"'units' .* got 1000: allowed values are an integer from 16 to 512"),
    ({"units": 8}, r"'units' .* got 8"),
    ({"units": "many"}, r"'units' .* got 'many': allowed values are an integer"),
    ({"units": 64.5}, r"'units' .* got 64.5"),
    ({"units": True}, r"'units' .* got True"),
    ({"dropout": 0.9}, r"'dropout' .* a number from 0.0 to 0.6"),
    ({"learning_rate": float("nan")}, r"'learning_rate'"),
    ({"vocab_size": 0}, r"vocab_size for sentiment/lstm must be a positive integer"),
])
def test_bad_hyperparameters_name_the_problem(overrides, pattern):
    with pytest.raises(zoo.HyperparameterError, match=pattern):
        zoo.build("sentiment/lstm", **overrides)


def test_string_values_from_the_command_line_are_converted():
    model = zoo.build("sentiment/gru", units="32", learning_rate="0.001", depth="2")
    assert model.get_layer("rnn_gru_1").units == 32
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)


@pytest.mark.slow
def test_entry_point_plugins_register_models(tmp_path):
    """A package can add entries through the 'zoo.models' entry-point group."""
    (tmp_path / "zoo_plugin_demo.py").write_text(textwrap.dedent('''
        import zoo
        from zoo.tasks.sentiment import _recurrent_classifier

        @zoo.register_model("sentiment/plugin_gru")
        def plugin_gru(hp, problem):
            """A GRU entry registered by a plugin."""
            return _recurrent_classifier(hp, problem, cell="gru", name="sentiment/plugin_gru")
    '''))
    dist = tmp_path / "zoo_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[zoo.models]\ndemo = zoo_plugin_demo\n")
    code = "import zoo; print(zoo.list_models(pattern='plugin')); print(zoo.build('sentiment/plugin_gru').name)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "['sentiment/plugin_gru']" in out.stdout and "sentiment_plugin_gru" in out.stdout


def test_an_entry_point_module_can_add_a_task_and_mark_its_entries(tmp_path):
    """A plugin module declares as the built-in task modules do: a Task subclass and builders marked with
    zoo.base.entry, collected by the registry when it loads the entry point (nothing registers at import)."""
    (tmp_path / "zoo_mood_plugin.py").write_text(textwrap.dedent('''
        from zoo.base import entry
        from zoo.tasks.sentiment import SentimentTask, _recurrent_classifier

        class MoodTask(SentimentTask):
            name = "mood"
            description = "Mood: a text in, a mood out."

        @entry("mood/gru")
        def mood_gru(hp, problem):
            """A GRU mood classifier from a plugin."""
            return _recurrent_classifier(hp, problem, cell="gru", name="mood/gru")
    '''))
    dist = tmp_path / "zoo_mood_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-mood-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[zoo.models]\nmood = zoo_mood_plugin\n")
    code = ("import zoo; print(zoo.list_models(task='mood')); print('mood' in zoo.list_tasks()); "
            "print(zoo.get('mood/gru').description); print(zoo.build('mood/gru').name)")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-4:] == ["['mood/gru']", "True", "A GRU mood classifier from a plugin.",
                                             "mood_gru"]


def test_register_rejects_bad_names():
    with pytest.raises(ValueError, match="TASK/ENTRY"):
        zoo.register_model("lstm")(lambda hp, problem: None)
    with pytest.raises(zoo.ZooError, match="unknown task"):
        zoo.register_model("poetry/lstm")(lambda hp, problem: None)


@pytest.mark.parametrize("task", sorted({zoo.get(n).task.name for n in zoo.list_models()}))
def test_every_data_kind_has_a_loader(task):
    """A task either reads its data itself or names a loader for every kind it accepts."""
    import importlib

    from zoo.base import Task

    reader = next(zoo.get(n) for n in zoo.list_models() if zoo.get(n).task.name == task).task
    if type(reader).load_data is not Task.load_data:
        pytest.skip(f"{task} reads its data in its own load_data (tested with its data)")
    assert sorted(reader.loaders) == sorted(reader.data_kinds)
    for target in reader.loaders.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(f"zoo.data.{module}"), function)), target


# ---------------------------------------------------------------------------
# No searched hyperparameter is inert under the default options
# ---------------------------------------------------------------------------

_DEFAULT_PROBLEMS: dict[str, dict] = {}


def _default_options_problem(spec) -> dict:
    """The problem a run with the default preprocessing options gives (the task's smoke data, no files)."""
    from zoo.training import resolve_preprocessing

    task = spec.task
    if task.name not in _DEFAULT_PROBLEMS:
        preprocessor = task.fit_preprocessor(task.load_data(task.smoke_data), resolve_preprocessing(spec, {}))
        _DEFAULT_PROBLEMS[task.name] = preprocessor.problem()
    return _DEFAULT_PROBLEMS[task.name]


def _fingerprint(model) -> str:
    """Everything a hyperparameter can change in a built entry: architecture, weights' shapes, what
    trains, the optimizer and the zoo's own attributes (the per-epoch learning-rate decay)."""
    import json

    optimizer = model.optimizer
    return json.dumps({
        "config": model.get_config(), "params": model.count_params(),
        "trainable": [(layer.name, layer.trainable) for layer in model._flatten_layers()],
        "optimizer": [type(optimizer).__name__, optimizer.get_config()] if optimizer is not None else None,
        "zoo": {k: v for k, v in vars(model).items() if k.startswith("zoo_")},
    }, sort_keys=True, default=repr)


def _another_value(p):
    from zoo.hparams import describe

    d = describe(p)
    if d["type"] == "bool":
        return not d["default"]
    if d["type"] == "choice":
        return next(v for v in d["values"] if v != d["default"])
    if d["type"] == "fixed":
        return None
    low = d["min"] if d["min"] != d["default"] else d["max"]
    return low


@pytest.mark.parametrize("name", zoo.list_models())
def test_no_searched_hyperparameter_is_inert_under_the_default_options(name):
    """With the default options, every active hyperparameter of the entry's search space changes the
    model when it changes: no trial of a search is spent on a setting that cannot act (issue 20)."""
    spec = zoo.get(name)
    problem = _default_options_problem(spec)
    keras.backend.clear_session(free_memory=False)
    hp = kt.HyperParameters()
    base = _fingerprint(spec.builder(hp, dict(problem)))
    inert = []
    for p in hp.space:
        value = _another_value(p)
        if not hp.is_active(p) or value is None:
            continue
        keras.backend.clear_session(free_memory=False)  # the same automatic layer names in every build
        changed = kt.HyperParameters()
        changed.values[p.name] = value  # as --set does (zoo.hparams.resolve)
        if _fingerprint(spec.builder(changed, dict(problem))) == base:
            inert.append(f"{p.name}={value!r}")
    keras.backend.clear_session(free_memory=False)
    assert not inert, f"{name}: inert under the default options: {', '.join(inert)}"


@pytest.mark.parametrize("name", zoo.list_models(task="sentiment"))
def test_freeze_embeddings_is_searched_only_with_a_pretrained_start(name):
    spec = zoo.get(name)
    problem = _default_options_problem(spec)
    assert problem["pretrained_embedding"] is False
    spaces = {}
    for pretrained in (False, True):
        hp = kt.HyperParameters()
        zoo.hypermodel(name, {**problem, "pretrained_embedding": pretrained}).build(hp)
        spaces[pretrained] = {p.name for p in hp.space if hp.is_active(p)}
    assert "freeze_embeddings" not in spaces[False] and "freeze_embeddings" in spaces[True]
    assert spaces[True] - spaces[False] == {"freeze_embeddings"}
    assert "freeze_embeddings" in spec.space()  # a build without data declares it: --set and describe know it
    assert not zoo.build(name, pretrained_embedding=True, freeze_embeddings=True).get_layer("embedding").trainable
    assert zoo.build(name, pretrained_embedding=False, freeze_embeddings=False).get_layer("embedding").trainable
    with pytest.raises(zoo.HyperparameterError, match=r"freeze_embeddings=true keeps pretrained vectors fixed, "
                                                        r"and this run has none: give embeddings=PATH"):
        zoo.build(name, pretrained_embedding=False, freeze_embeddings=True)


def test_the_inert_check_finds_a_hyperparameter_that_changes_nothing():
    """The fingerprint above is stable across builds and blind to a declared but unused value."""
    spec = zoo.get("sentiment/bag_of_embeddings")
    problem = _default_options_problem(spec)

    def build(values):
        keras.backend.clear_session(free_memory=False)
        hp = kt.HyperParameters()
        hp.values.update(values)
        hp.Int("unused", 1, 9, default=1)
        return _fingerprint(spec.builder(hp, dict(problem)))

    assert build({}) == build({}) == build({"unused": 9})
    assert build({}) != build({"embedding_dropout": 0.3}) and build({}) != build({"clipnorm": 0.0})
    keras.backend.clear_session(free_memory=False)
